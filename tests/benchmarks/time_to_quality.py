"""Time to quality: presets (and variants of them) against the textbook hinge-GAN recipe, each
trained for the same wall-clock seconds on this machine, one after the other, and scored at fixed
intervals by the same two judges (the project's classifier and the independent one in judge.py).

Not a test (pytest does not collect it). Run from the repository root on an idle machine:

    python tests/benchmarks/time_to_quality.py --preset mnist --seconds 420 --every 60 \\
        --arm preset: --arm textbook --out ttq

An arm is `textbook`, or `NAME:key=value,key=value` (the preset with those overrides; `preset:` is the
preset as shipped). The textbook recipe is the plain hinge-GAN loop (core/tools/bench.py's ReferenceLoop: a
DataLoader, separate D(real)/D(fake) forwards, `.item()` statistics) with the seed's models: a
BatchNorm discriminator with 64 feature maps, a DCGAN generator with 64, no spectral norm, Adam
lr 2e-4 and betas (0, 0.9) for both, batch 64. Snapshots of the sampling generator are taken during
training and scored afterwards, so scoring never steals training time. Writes OUT/scores.csv,
OUT/time_to_quality.png (the independent judge's FD against seconds, floor dashed) and OUT/NAME.png
(the last samples of each arm).
"""
from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from core.tools.bench import ReferenceLoop  # noqa: E402
from core.config import resolve  # noqa: E402
from core.training.trainer import Trainer  # noqa: E402
from core.quality.evaluator import Evaluator  # noqa: E402
from core.pictures import write_samples  # noqa: E402
from core.training.views import to_uint8_images  # noqa: E402
from core.training.models import asked_classes  # noqa: E402
from tests.benchmarks.judge import Judge  # noqa: E402

TEXTBOOK = ["model.discriminator=bn", "model.spectral_norm=false", "model.d_width=64", "model.g_width=64",
            "optim.lr_g=2e-4", "optim.lr_d=2e-4", "optim.beta1=0", "optim.beta2=0.9", "train.batch_size=64",
            "train.g_ema=0", "train.n_dis=1", "model.classes=0",
            "train.precision=fp32"]  # stated: the seed's loop never autocasts, whatever the preset asks


def parse_arm(text: str) -> tuple[str, list[str]]:
    if text == "textbook":
        return text, TEXTBOOK
    name, _, overrides = text.partition(":")
    return name, [o for o in overrides.split(",") if o]


def train_arm(name, cfg, seconds, every):
    """Train for `seconds` of wall time; a copy of the sampling generator at every `every` seconds."""
    trainer = Trainer(cfg, "cpu")
    if name == "textbook":
        loop = ReferenceLoop(trainer)
        step, sampler = loop.train_step, loop.G
    else:
        step, sampler = trainer.train_step, None
    snapshots, steps, mark = [], 0, every
    started = time.monotonic()
    while True:
        elapsed = time.monotonic() - started
        if elapsed >= mark or elapsed >= seconds:
            snapshots.append((round(elapsed, 1), steps, copy.deepcopy(sampler or trainer.sampler)))
            print(f"{name}: {elapsed:.0f} s, {steps} steps", file=sys.stderr, flush=True)
            mark += every
            if elapsed >= seconds:
                return snapshots
        step()
        steps += 1
        if sampler is None and steps % 100 == 0:  # what a session's publisher does, so the record stays small
            trainer.drain_statistics()
            trainer.stats.drain_scores(trainer.step)


class Tempered(torch.nn.Module):
    """G fed z scaled by a temperature below 1 (the truncation trick): fidelity bought with diversity.
    A class-conditional G's one-hot class (after the first z_dim columns) is left as it is."""

    def __init__(self, G, temperature, z_dim):
        super().__init__()
        self.G, self.temperature, self.z_dim = G, temperature, z_dim

    def forward(self, latents):
        z, rest = latents[:, :self.z_dim], latents[:, self.z_dim:]
        return self.G(torch.cat([z * self.temperature, rest], 1))


def plot(rows, floor, path):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg

    pg.mkQApp()
    pg.setConfigOptions(background="w", foreground="k", antialias=True)
    widget = pg.PlotWidget(title="Fréchet distance on the independent judge's features (lower is better)")
    widget.resize(900, 520)
    widget.addLegend(offset=(-10, 10))
    widget.setLabel("bottom", "wall-clock seconds (2 CPU cores)")
    widget.setLabel("left", "FD (LeNet judge)")
    widget.setLogMode(y=True)
    fds = [floor, *(r["judge_fd"] for r in rows)]
    values = [v for v in (5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 1000, 2000)
              if min(fds) / 1.5 <= v <= 1.5 * max(fds)]
    widget.getAxis("left").setTicks([[(np.log10(v), str(v)) for v in values], []])  # a log axis labels decades only
    arms = list(dict.fromkeys(r["arm"] for r in rows))
    for i, arm in enumerate(arms):
        mine = [r for r in rows if r["arm"] == arm]
        widget.plot([r["seconds"] for r in mine], [r["judge_fd"] for r in mine], name=arm, symbol="o", symbolSize=6,
                    pen=pg.mkPen(pg.intColor(i, len(arms) + 1), width=2), symbolBrush=pg.intColor(i, len(arms) + 1))
    # a log axis places items at log10(value)
    widget.addItem(pg.InfiniteLine(np.log10(floor), angle=0, pen=pg.mkPen("k", style=pg.QtCore.Qt.PenStyle.DashLine),
                                   label=f"floor (real vs real) {floor:.1f}", labelOpts={"position": 0.15, "color": "k"}))
    widget.grab().save(str(path))  # as drawn on screen (ImageExporter set the axis label over the tick values)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="mnist")
    parser.add_argument("--arm", action="append", default=[], help="textbook, or NAME:key=value,... (repeatable)")
    parser.add_argument("--seconds", type=float, default=420)
    parser.add_argument("--every", type=float, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], help="an override for every arm")
    parser.add_argument("--temperature", action="append", type=float, default=[],
                        help="also score each arm's last snapshot with z scaled by this (repeatable)")
    parser.add_argument("--out", default="time_to_quality")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    arms = [parse_arm(a) for a in args.arm or ["preset:", "textbook"]]
    configs = [(name, resolve(args.preset, overrides=[*args.set, f"train.seed={args.seed}", *overrides]))
               for name, overrides in arms]  # all resolved first: a typo fails before any training
    trained = [(name, cfg, train_arm(name, cfg, args.seconds, args.every)) for name, cfg in configs]
    for name, _, snapshots in trained:  # kept, so a failure while scoring loses no training
        torch.save([(seconds, steps, G.state_dict()) for seconds, steps, G in snapshots], out / f"{name}.pt")

    data = Trainer(configs[0][1], "cpu").data
    judge = Judge(data.images, data.labels)
    print(f"independent judge: held-out accuracy {judge.accuracy:.2%}, FD floor {judge.floor:.2f}", file=sys.stderr)
    evaluators = {}  # one per z size (an arm may change it); real features are computed once per evaluator
    rows = []

    def score(arm, cfg, seconds, steps, G):
        shape = (cfg.model.z_dim, cfg.model.classes)
        if shape not in evaluators:
            evaluators[shape] = Evaluator(cfg, data, "cpu")
        evaluator = evaluators[shape]
        samples = to_uint8_images(evaluator.generate(G))
        images = torch.from_numpy(samples).permute(0, 3, 1, 2)
        project = evaluator.score_images(images)
        rows.append({"arm": arm, "seconds": seconds, "steps": steps,
                     **judge.score(images, asked_classes(cfg.model.classes, len(images))),
                     **{k: project.get(k) for k in ("fid_cnn", "fid_cnn_floor", "classifier_accuracy",
                                                    "classes_present", "class_kl", "confident_share")}})
        return samples

    for name, cfg, snapshots in trained:
        for seconds, steps, G in snapshots:
            samples = score(name, cfg, seconds, steps, G)
        write_samples(samples[:64], out / f"{name}.png")
    for name, cfg, snapshots in trained:
        seconds, steps, G = snapshots[-1]
        for temperature in args.temperature:
            samples = score(f"{name} T={temperature:g}", cfg, seconds, steps,
                            Tempered(G, temperature, cfg.model.z_dim))
            write_samples(samples[:64], out / f"{name}-T{temperature:g}.png")
    with open(out / "scores.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, judge.floor, out / "time_to_quality.png")

    print(f"| arm | steps | judge FD (floor {judge.floor:.1f}) | judge KID (floor {judge.kid_floor:.2f}) | classes | "
          f"class KL | confident >= 0.9 | reads as asked | project FD (floor {rows[0]['fid_cnn_floor']:.3f}) | "
          f"vs textbook: FD, KID |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    final = {r["arm"]: r for r in rows}  # the last snapshot of each arm
    reference = final.get("textbook")
    for arm, r in final.items():
        ratio = "–" if reference is None else \
            f"{r['judge_fd'] / reference['judge_fd']:.2f}x, {r['judge_kid'] / reference['judge_kid']:.2f}x"
        asked = f"{r['judge_asked']:.0%}" if r["judge_asked"] is not None else "–"
        print(f"| {arm} | {r['steps']} | {r['judge_fd']:.1f} | {r['judge_kid']:.2f} | {r['judge_classes']} | "
              f"{r['judge_class_kl']:.3f} | {r['judge_confident']:.0%} | {asked} | {r['fid_cnn']:.3f} | {ratio} |")
    print(json.dumps({"seconds": args.seconds, "judge_accuracy": judge.accuracy, "judge_floor": judge.floor,
                      "judge_kid_floor": judge.kid_floor,
                      "final": {arm: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
                                for arm, r in final.items()}}))


if __name__ == "__main__":
    main()
