#!/bin/bash
# The prepared device call (MODEL_CARD.md, "The GPU run"): build data/packed_next here first
# (`diffill model corpus --manifest model/corpus_manifest_next.json --out data/corpus_next
# --pack data/packed_next`), then run `bash docs/gpu_runs/next_call.sh` on the device with
# carry ["data/packed_next"] and a 600 s limit. OUT (the device tool's output folder) receives
# both run folders as tar pieces of 16 MB: `cat run.tar.* | tar xf -` here, then
# `diffill eval --bench repos|smoke --model small_next/model` (and fresh_next/model).
set -u
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.used --format=csv
python3 -c "import torch,transformers,safetensors,tokenizers;print(torch.__version__,transformers.__version__)"
mkdir -p /tmp/o
python3 model/gpu_run.py --out /tmp/o/small_next --minutes 8 --size small --canvas 128 --workers 6 \
  --corpus data/packed_next --init model/default --lr 8e-4 --warmup 100 > /tmp/o/small.out 2>&1 &
python3 model/gpu_run.py --out /tmp/o/fresh_next --minutes 8 --size small --canvas 128 --workers 6 \
  --corpus data/packed_next --baseline none > /tmp/o/fresh.out 2>&1 &
wait
tail -25 /tmp/o/small.out; tail -25 /tmp/o/fresh.out
rm -f /tmp/o/*/model/tokenizer.json /tmp/o/*/loss.png
du -ab /tmp/o | sort -n | tail -20
cd /tmp/o && tar cf - . | split -b 16000000 -d - "$OUT/run.tar."
ls -la "$OUT"
