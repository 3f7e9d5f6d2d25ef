#!/bin/sh
# The GPU checks, engine only (no PySide6 needed): the CUDA tests, then `hinge-train bench` on the
# 32 px digits preset at batch 64 and 256, with the defaults and with each fast-path option changed.
# Run from the repository root: sh tests/benchmarks/gpu.sh [OUT_DIR]
set -u
out=${1:-gpu-results}
mkdir -p "$out"
export PYTHONPATH=.
python -c "import torch; print(torch.__version__, torch.cuda.get_device_name())" | tee "$out/device.txt"
python -m pytest -q -p no:cacheprovider tests/core/test_bench.py tests/core/test_engine.py 2>&1 | tail -3 | tee "$out/tests.txt"
for batch in 64 256; do
  for option in "" train.precision=bf16 train.compile=default train.compile=reduce-overhead \
                train.channels_last=off train.cudnn_benchmark=false; do
    name="batch$batch-${option:-defaults}"
    python -m core.cli bench --preset digits --device cuda --rounds 5 --set "train.batch_size=$batch" \
      ${option:+--set "$option"} > "$out/$name.txt" 2>&1
    echo "$name: $(tail -1 "$out/$name.txt")"
  done
done | tee "$out/summary.txt"
