"""Training compute until the default preset's samples read as digits: a figure that holds on any machine,
where seconds hold only on the one that measured them.

Each arm (the digits preset with some settings changed) trains with each seed, in this process, with a
fixed thread count; a copy of the sampling generator is judged every EVERY steps by the independent judge of
judge.py (robust: it reads early samples' soft strokes), on 2,000 samples drawn as `hinge-train sample` draws
them. Readable means what the first-minutes target means: 10/10 classes, class KL <= 0.05 and >= 85% read
with confidence (p >= 0.9). Training compute is torch's FlopCounterMode over one whole training step (G and
D, forward and backward, as trained), times the steps. Seconds count training only (judging is not timed),
so they are this machine's at THREADS threads; on another machine, divide the TFLOP by what its cores deliver.

    python tests/benchmarks/flops_to_readable.py --seeds 1,2,3 --arm preset: --arm fp32:train.precision=fp32
    ... --arm small:model.g_width=32 --threads 1 --max-steps 3000 --every 50

Prints a line per judged snapshot and, per arm, the first readable step in steps, TFLOP and seconds, with the
judge's reading at --marks TFLOP; the last line is JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from core.config import resolve  # noqa: E402
from core.quality import metrics  # noqa: E402
from core.training.data import load_dataset  # noqa: E402
from core.training.digits import DIGITS_RECIPE  # noqa: E402
from core.training.models import eval_mode, latent  # noqa: E402
from core.training.trainer import Trainer  # noqa: E402
from core.training.views import to_uint8_images  # noqa: E402
from tests.benchmarks.judge import Judge  # noqa: E402

READABLE = {"classes": 10, "class_kl": 0.05, "confident": 0.85}


def readable(reading: dict) -> bool:
    return (reading["classes"] >= READABLE["classes"] and reading["class_kl"] <= READABLE["class_kl"]
            and reading["confident"] >= READABLE["confident"])


@torch.no_grad()
def samples(cfg, sampler: torch.nn.Module, n: int) -> torch.Tensor:
    """n samples as `hinge-train sample --seed 0` writes them, as uint8 (N, C, H, W)."""
    z = latent(cfg.model, n, torch.Generator().manual_seed(0), balanced=True)
    with eval_mode(sampler):
        images = np.concatenate([to_uint8_images(sampler(chunk)) for chunk in z.split(1000)])
    return torch.from_numpy(images).permute(0, 3, 1, 2)


def judge_reading(judge: Judge, images: torch.Tensor) -> dict:
    coverage = metrics.class_coverage(judge.probabilities(images))
    return {"classes": coverage["classes_present"], "class_kl": coverage["class_kl"],
            "confident": coverage["confident_share"],
            "judge_fd": metrics.frechet_distance(judge.real, judge.features(images))}


def first_step_flops(trainer: Trainer) -> float:
    """Train the first step and count its FLOPs (the counter watches the same kernels run; every step costs
    the same while n_dis and the models do not change)."""
    with FlopCounterMode(display=False) as counter:
        trainer.train_step()
    return counter.get_total_flops()


def run_arm(name: str, overrides: list[str], seed: int, args, judge: Judge) -> dict:
    cfg = resolve("digits", overrides=[*overrides, f"train.seed={seed}", f"train.threads={args.threads}",
                                       "eval.every=0"])
    trainer = Trainer(cfg, "cpu")
    started = time.perf_counter()
    flops = first_step_flops(trainer)
    trained_s, readings, first = time.perf_counter() - started, [], None
    while trainer.step < args.max_steps:
        started = time.perf_counter()
        for _ in range(args.every - trainer.step % args.every):
            trainer.train_step()
        trained_s += time.perf_counter() - started
        trainer.drain_statistics()
        trainer.stats.drain_scores(trainer.step)
        reading = {"step": trainer.step, "tflop": trainer.step * flops / 1e12, "seconds": trained_s,
                   **judge_reading(judge, samples(cfg, trainer.sampler, args.n))}
        readings.append(reading)
        print(f"{name} seed {seed} step {trainer.step:5d} {reading['tflop']:6.2f} TFLOP {trained_s:6.0f} s: "
              f"{reading['classes']:2d} classes, KL {reading['class_kl']:.3f}, {100 * reading['confident']:.0f}% "
              f"confident, FD {reading['judge_fd']:.0f}", flush=True)
        if first is None and readable(reading):
            first = reading
        if first is not None and trainer.step >= first["step"] + args.after * args.every:
            break
    return {"arm": name, "seed": seed, "gflop_per_step": flops / 1e9, "precision": trainer.cfg.train.precision,
            "steps_per_s": trainer.step / trained_s, "readable": first, "readings": readings}


def at_mark(readings: list[dict], tflop: float) -> dict | None:
    """The last reading at or before `tflop`."""
    before = [r for r in readings if r["tflop"] <= tflop]
    return before[-1] if before else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--arm", action="append", default=[], help="NAME:key=value,key=value (preset: as shipped)")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-steps", type=int, default=3000)
    parser.add_argument("--every", type=int, default=50, help="steps between judged snapshots")
    parser.add_argument("--after", type=int, default=2, help="snapshots judged after the first readable one")
    parser.add_argument("--n", type=int, default=2000, help="samples judged per snapshot")
    parser.add_argument("--marks", default="3,6", help="TFLOP at which every arm's reading is printed")
    parser.add_argument("--judge-cache", default=os.path.join(tempfile.gettempdir(),
                                                              f"judge_digits_robust_recipe{DIGITS_RECIPE}.pt"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bank = load_dataset(resolve("digits").data, 64)
    judge = Judge.cached(bank.images, bank.labels, args.judge_cache, robust=True)
    cpu = "AVX512-BF16" if "avx512_bf16" in Path("/proc/cpuinfo").read_text() else "no bf16 instructions"
    print(f"judge: held-out accuracy {judge.accuracy:.2%}, FD floor {judge.floor:.1f}; CPU: {cpu}; "
          f"{args.threads} thread(s)", flush=True)
    results = []
    for arm in args.arm or ["preset:"]:
        name, _, settings = arm.partition(":")
        for seed in (int(s) for s in args.seeds.split(",")):
            results.append(run_arm(name, [s for s in settings.split(",") if s], seed, args, judge))
    marks = [float(m) for m in args.marks.split(",")]
    print("\n| arm | seed | GFLOP/step | precision | steps/s | readable at step | TFLOP | seconds | "
          + " | ".join(f"at {m:g} TFLOP" for m in marks) + " |")
    print("|" + "---|" * (8 + len(marks)))
    for r in results:
        first = r["readable"]
        cells = [f"{first['step']:,}", f"{first['tflop']:.1f}", f"{first['seconds']:.0f}"] if first else ["not by "
                 f"{r['readings'][-1]['step']:,}", "-", "-"]
        shown = []
        for mark in marks:
            m = at_mark(r["readings"], mark)
            shown.append(f"{m['classes']}, KL {m['class_kl']:.3f}, {100 * m['confident']:.0f}%, FD {m['judge_fd']:.0f}"
                         if m else "-")
        print(f"| {r['arm']} | {r['seed']} | {r['gflop_per_step']:.1f} | {r['precision']} | {r['steps_per_s']:.2f} | "
              + " | ".join(cells + shown) + " |")
    for name in dict.fromkeys(r["arm"] for r in results):
        tflops = [r["readable"]["tflop"] for r in results if r["arm"] == name and r["readable"]]
        if tflops:
            print(f"{name}: readable after a median {statistics.median(tflops):.1f} TFLOP "
                  f"({len(tflops)} of {sum(r['arm'] == name for r in results)} seeds)")
    print(json.dumps([{k: v for k, v in r.items() if k != "readings"} for r in results]))


if __name__ == "__main__":
    main()
