#!/bin/sh
# tools/fuzz.sh SECONDS [PARALLEL]: run every parser's fuzz target for SECONDS each, one after the
# other, at the lowest CPU priority (the machine may be shared). Failing inputs are written under
# the package's testdata/fuzz/ by go test; the script stops at the first failure. Minimising a new
# input is capped at 10 s (go test's default, 60 s, leaves long stretches without executions).
#   tools/fuzz.sh 10        # what CI could afford
#   tools/fuzz.sh 600 1     # the ≥ 10-minute runs recorded in BENCHMARKS.md
set -eu
secs=${1:?usage: tools/fuzz.sh SECONDS [PARALLEL]}
par=${2:-1}
cd "$(dirname "$0")/.."
for target in \
	./safetensors/:FuzzHeader \
	./model/:FuzzConfig \
	./tokenizer/:FuzzLoad \
	./data/:FuzzRows \
	./adapter/:FuzzAdapterConfig \
	./export/:FuzzGGUF; do
	pkg=${target%%:*}
	name=${target##*:}
	echo "== $name ($pkg, ${secs}s)"
	nice -n 19 go test -timeout 0 -run '^$' -fuzz "^$name\$" -fuzztime "${secs}s" -fuzzminimizetime 10s -parallel "$par" "$pkg"
done
