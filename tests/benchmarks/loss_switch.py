"""What switching the loss mid-run does: train on the hinge loss to step WARMUP, then branch the same state
into three arms for STEPS more steps: stay on hinge, switch to BCE, switch to Wasserstein (a set_loss command,
as the window or commands.jsonl sends it). Reported per arm, over its last quarter: D's scores (mean real,
mean fake, their spread, the share beyond the histograms), the loss lab's shares of samples that get gradient
under the loss in force, and quality at the end; with spectral norm on and off, for each seed.

    python tests/benchmarks/loss_switch.py --preset ring8 --warmup 2000 --steps 1000 --seeds 1 2
    python tests/benchmarks/loss_switch.py --preset digits --warmup 1000 --steps 1000 --seeds 1 2
"""
from __future__ import annotations

import argparse
import copy
import json

import numpy as np

from core.analysis.losslab import Scores, gradients
from core.config import resolve
from core.protocol import commands as C
from core.quality.evaluator import Evaluator
from core.training.trainer import Trainer

KEYS = {"points": ("modes_covered", "high_quality_rate"), "images": ("fid_cnn", "confident_share")}


def train(trainer: Trainer, steps: int) -> tuple[dict, Scores]:
    """Train `steps` steps; the statistics and histograms of their last quarter."""
    keep = steps - steps // 4
    for _ in range(keep):
        trainer.train_step()
    trainer.drain_statistics()
    trainer.stats.drain_scores(trainer.step)
    for _ in range(steps - keep):
        trainer.train_step()
    _, _, scalars = trainer.drain_statistics()
    return scalars, trainer.stats.drain_scores(trainer.step)


def describe(trainer: Trainer, scalars: dict, scores: Scores, evaluator: Evaluator) -> dict:
    real, fake, beyond = scores.real, scores.fake, np.stack([scores.real_beyond, scores.fake_beyond])
    centres = (scores.edges[:-1] + scores.edges[1:]) / 2
    spread = float(np.sqrt(np.average((centres - np.average(centres, weights=real + fake)) ** 2, weights=real + fake)))
    s = trainer.settings
    lab = gradients(s.loss, scores, s.margin_real, s.margin_fake)
    quality = evaluator(trainer.sampler, trainer.step)
    kind = trainer.data.kind
    return {"d_real": float(scalars["d_real_mean"].mean()), "d_fake": float(scalars["d_fake_mean"].mean()),
            "spread": spread, "beyond": float(beyond.sum() / max(real.sum() + fake.sum() + beyond.sum(), 1)),
            "grad_real": lab["d_real"].share, "grad_fake": lab["d_fake"].share, "grad_g": lab["g"].share,
            "mean_grad_real": lab["d_real"].mean, **{k: quality.get(k) for k in KEYS[kind]}}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="ring8")
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--set", action="append", default=[])
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        for spectral_norm in (True, False):
            cfg = resolve(args.preset, overrides=[*args.set, f"train.seed={seed}", "eval.every=0",
                                                  f"model.spectral_norm={str(spectral_norm).lower()}"])
            trainer = Trainer(cfg, "cpu")
            evaluator = Evaluator(trainer.cfg, trainer.data, trainer.device)
            before = describe(trainer, *train(trainer, args.warmup), evaluator)
            start = copy.deepcopy(trainer.state_dict())
            for loss in ("hinge", "bce", "wasserstein"):
                trainer.rewind(copy.deepcopy(start))
                trainer.set_loss(loss)
                after = describe(trainer, *train(trainer, args.steps), evaluator)
                rows.append({"seed": seed, "spectral_norm": spectral_norm, "loss": loss, "before": before,
                             "after": after})
                print(json.dumps(rows[-1]), flush=True)
    columns = ("d_real", "d_fake", "spread", "beyond", "grad_real", "grad_fake", "grad_g", *KEYS[trainer.data.kind])
    print("\n| seed | SN | arm | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 3) + "|")
    for row in rows:
        cells = [f"{row['after'][c]:.3g}" if row["after"][c] is not None else "–" for c in columns]
        print(f"| {row['seed']} | {'on' if row['spectral_norm'] else 'off'} | {row['loss']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
