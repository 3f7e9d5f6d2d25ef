#!/bin/sh
# The GPU checks, engine only (no PySide6 needed): the CUDA tests, then `hinge-train bench` on the
# 32 px digits preset at batch 64 and 256, with the defaults and with each fast-path option changed;
# then the launcher at world size 1 against a plain process.
# Run from the repository root: sh tests/benchmarks/gpu.sh [OUT_DIR]
set -u
out=${1:-gpu-results}
mkdir -p "$out"
export PYTHONPATH=.
python -c "import torch; print(torch.__version__, torch.cuda.get_device_name())" | tee "$out/device.txt"
python -m pytest -q -p no:cacheprovider tests/core/tools/test_bench.py tests/core/training/test_trainer.py 2>&1 | tail -3 | tee "$out/tests.txt"
for batch in 64 256; do
  for option in "" train.precision=bf16 train.compile=default train.compile=reduce-overhead \
                train.channels_last=off train.cudnn_benchmark=false; do
    name="batch$batch-${option:-defaults}"
    python -m core.cli bench --preset digits --device cuda --rounds 5 --set "train.batch_size=$batch" \
      ${option:+--set "$option"} > "$out/$name.txt" 2>&1
    echo "$name: $(tail -1 "$out/$name.txt")"
  done
done | tee "$out/summary.txt"
# The same preset through torch's launcher at world size 1 (joins an NCCL group), against one plain process.
python -m core.cli train --preset digits --device cuda --steps 2000 --set eval.every=0 --run-dir "$out/plain" > /dev/null 2>&1
torchrun --standalone --nproc-per-node 1 -m core.cli train --preset digits --device cuda --steps 2000 \
  --set eval.every=0 --run-dir "$out/torchrun1" > "$out/torchrun1.txt" 2>&1
python -c "
import sys; sys.path.insert(0, 'tests/benchmarks'); from ddp import steps_per_s; from pathlib import Path
plain, launched = (steps_per_s(Path('$out') / name) for name in ('plain', 'torchrun1'))
print(f'digits on 1 GPU: plain {plain:.0f} steps/s, torchrun world size 1 (NCCL) {launched:.0f} steps/s, ratio {launched / plain:.2f}')
" | tee -a "$out/summary.txt"
