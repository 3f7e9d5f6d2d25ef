"""D memorising a small dataset, measured both ways: a few hundred images without augmentation (provoked) and
the whole folder (healthy), each trained the same number of steps. For every kept checkpoint it prints the
probe d_memorises reads (D's mean score on trained reals, held-out reals and fakes, and the gap) and the
independent judge's FD of 1,000 samples to the whole data's held-out reals (tests/benchmarks/judge.py, with
its floor), and the step each arm's alert was raised.

Not a test (pytest does not collect it). Run from the repository root on an idle machine:

    python tests/benchmarks/emoji_labels.py ../shared/data/emoji-google-64.json > /tmp/emoji-labels.csv
    python tests/benchmarks/memorise.py --root ../shared/data/emoji-google-64 --labels /tmp/emoji-labels.csv
    python tests/benchmarks/memorise.py ... --arms --report RUN_DIR   # a run trained before, at 32 px
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from core.base.files import read_jsonl  # noqa: E402
from core.config import from_dict, resolve  # noqa: E402
from core.health.detectors import memorise_gap  # noqa: E402
from core.session import Session  # noqa: E402
from core.session.health_watch import MemoriseProbe  # noqa: E402
from core.storage.rundir import RunDir  # noqa: E402
from core.training.checkpoint import load_checkpoint  # noqa: E402
from core.training.data import load_dataset  # noqa: E402
from core.training.trainer import Trainer  # noqa: E402
from core.training.views import to_uint8_images  # noqa: E402
from tests.benchmarks.judge import Judge  # noqa: E402



def small_folder(root: Path, keep_every: int) -> Path:
    """Every keep_every-th image of root, linked into a new folder."""
    folder = Path(tempfile.mkdtemp(prefix="memorise-small-"))
    for path in sorted(root.iterdir())[::keep_every]:
        (folder / path.name).symlink_to(path.resolve())
    return folder


def train(root: Path, overrides: list[str], steps: int, every: int) -> Path:
    cfg = resolve("folder", overrides=[f"data.root={root}", f"train.checkpoint_every={every}",
                                       "train.keep_checkpoints=0", *overrides])
    run_dir = Path(tempfile.mkdtemp(prefix="memorise-run-"))
    started = time.monotonic()
    Session(Trainer(cfg, "cpu"), RunDir(run_dir), max_steps=steps).run()
    print(f"  trained {steps} steps in {time.monotonic() - started:.0f} s: {run_dir}", file=sys.stderr, flush=True)
    return run_dir


def report(name: str, run_dir: Path, judge: Judge) -> None:
    alerts = [e for e in read_jsonl(run_dir / "events.jsonl") if e["kind"] == "alert"]
    said = ", ".join(f"{e['name']} at step {e['step']}" for e in alerts) or "none"
    print(f"\n{name}: alerts {said}\n")
    print("| step | D(trained) | D(held out) | D(fake) | gap | r_t | judge FD (floor %.1f) |" % judge.floor)
    print("|---|---|---|---|---|---|---|")
    for path in sorted((run_dir / "checkpoints").glob("step-*.pt"), key=lambda p: int(p.stem.split("-")[1])):
        state = load_checkpoint(path)
        t = Trainer(from_dict(state["config"]), "cpu")
        t.load_state_dict(state)
        probe = MemoriseProbe(t)(t)
        with torch.no_grad():
            fake = t.generate(torch.randn(1000, t.cfg.model.z_dim, generator=torch.Generator().manual_seed(5)))
        fd = judge.score(torch.from_numpy(to_uint8_images(fake)).permute(0, 3, 1, 2))["judge_fd"]
        gap = memorise_gap([probe])
        print(f"| {state['step']} | {probe['d_train']:.2f} | {probe['d_held']:.2f} | {probe['d_fake']:.2f} | "
              f"{'–' if gap is None else f'{gap:.2f}'} | {probe['r_t']:.2f} | {fd:.1f} |", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True, help="the folder of images")
    parser.add_argument("--labels", required=True, help="its file,class CSV (the judge's classes)")
    parser.add_argument("--keep-every", type=int, default=12, help="the small arm trains on every Nth image")
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--every", type=int, default=500, help="steps between the checkpoints judged")
    parser.add_argument("--arms", nargs="*", default=["small", "whole"])
    parser.add_argument("--report", nargs="*", default=[], help="run directories trained before: judge them too")
    parser.add_argument("--robust", action="store_true", help="the judge also trained on images made to look like "
                                                              "early samples (judge.py --robust)")
    args = parser.parse_args()
    root = Path(args.root)
    labelled = resolve("folder", overrides=[f"data.root={root}", f"data.labels={args.labels}"])
    bank = load_dataset(labelled.data, 64)
    judge = Judge(bank.images, bank.labels, held_out=1000, robust=args.robust)
    print(f"judge: {judge.accuracy:.1%} held-out accuracy over {len(judge.prior)} classes, FD floor {judge.floor:.1f}")
    arms = {"small": (lambda: small_folder(root, args.keep_every), ["data.holdout=0.2"]),
            "whole": (lambda: root, [])}
    for name in args.arms:
        make_root, overrides = arms[name]
        report(name, train(make_root(), overrides, args.steps, args.every), judge)
    for run_dir in args.report:
        report(run_dir, Path(run_dir), judge)


if __name__ == "__main__":
    main()
