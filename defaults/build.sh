#!/usr/bin/env bash
# Rebuilds the embedded default (defaults/): the data slices from ../shared, then the tiny base
# model, pretrained from random initialisation with moslora's own full fine-tuning on the
# public-domain corpus slice. Run from the repository root; takes about 8 minutes on 2 idle cores.
set -euo pipefail
go run ./defaults/gen
go build -o /tmp/moslora-build ./cmd/moslora
out=$(mktemp -d)
zcat defaults/corpus.jsonl.gz > "$out/corpus.jsonl"
/tmp/moslora-build train --model defaults/model --init random --method full \
  --data "$out/corpus.jsonl" --out "$out/run" --pack --max-len 256 --batch 16 \
  --steps 800 --lr 3e-3 --warmup 40 --schedule cosine --weight-decay 0.1 --clip 1.0 --seed 0 --log-every 10
go run ./defaults/gen -bf16 "$out/run/model.safetensors" defaults/model/model.safetensors
cp "$out/run/metrics.jsonl" defaults/model/pretrain_metrics.jsonl
