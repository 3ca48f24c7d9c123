#!/usr/bin/env bash
# Installs the pinned llama.cpp runtime of the integration test (node-llama-cpp and its prebuilt
# linux-x64 CPU binaries, versions and hashes from package-lock.json) into tests/llamacpp/node_modules.
# Idempotent and quiet: does nothing when what is installed matches the lock file. Optional
# packages (CUDA, Vulkan, other platforms) and install scripts (which would try to download or build
# llama.cpp) are skipped: the prebuilt binaries are all the test needs.
set -euo pipefail
cd "$(dirname "$0")"
if cmp -s package-lock.json node_modules/.moslora-installed 2>/dev/null; then
  exit 0
fi
npm install --no-save --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
cp package-lock.json node_modules/.moslora-installed
