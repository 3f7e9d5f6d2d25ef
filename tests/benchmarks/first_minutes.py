"""The first minutes as a new user meets them: `hinge-workbench` launched with a fresh HOME (an empty cache) on
the default preset, its own run checkpointed through the run directory's inbox at fixed seconds after launch,
idle and with one core kept busy by another process; afterwards (nothing scored while it trains) each
checkpoint's samples, written by `hinge-train sample` exactly as a user exports them, judged by the
independent judge of tests/benchmarks/judge.py (robust to early samples' soft, speckled strokes).

    QT_QPA_PLATFORM=offscreen python tests/benchmarks/first_minutes.py --at 30,60,90,120,180
    ... --code /tmp/before   # the window and engine of another checkout (git worktree add /tmp/before REV)
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from judge import Judge  # noqa: E402

from core.config import resolve  # noqa: E402
from core.quality import metrics  # noqa: E402
from core.storage.inbox import append_command  # noqa: E402
from core.training.data import load_dataset  # noqa: E402
from core.training.digits import DIGITS_RECIPE  # noqa: E402


def code_env(code: str | None) -> dict:
    return {**os.environ, **({"PYTHONPATH": code} if code else {})}


def launch(home: Path, run: Path, at: list[float], extra: list[str], code: str | None) -> dict[float, Path]:
    """{seconds after launch: the checkpoint saved then}."""
    env = {**code_env(code), "HOME": str(home), "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    env.pop("XDG_CACHE_HOME", None), env.pop("HINGE_CACHE_DIR", None)
    start = time.monotonic()
    window = subprocess.Popen([sys.executable, "-m", "workbench.app", "--run-dir", str(run), *extra], env=env,
                              cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    saved = {}
    try:
        for seconds in at:
            time.sleep(max(0.0, start + seconds - time.monotonic()))
            path = run / "checkpoints" / f"at-{seconds:g}s.pt"
            run.mkdir(parents=True, exist_ok=True)
            append_command(run, {"kind": "save_checkpoint", "path": str(path)})
            saved[seconds] = path
        deadline = time.monotonic() + 60
        while not all(p.exists() for p in saved.values()) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        window.send_signal(signal.SIGTERM)
        try:
            window.wait(60)
        except subprocess.TimeoutExpired:
            window.kill()
    return saved


def step_of(run: Path, path: Path) -> int | None:
    for line in (run / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event.get("kind") == "save_checkpoint" and event.get("path") == str(path):
            return int(event["step"])
    return None


def judged(judge: Judge, checkpoint: Path, n: int, code: str | None) -> dict:
    out = checkpoint.with_suffix(".npy")
    subprocess.run([sys.executable, "-m", "core.cli", "sample", "--checkpoint", str(checkpoint), "--n", str(n),
                    "--out", str(out)], check=True, stderr=subprocess.DEVNULL, env=code_env(code))
    images = torch.from_numpy(np.load(out)).permute(0, 3, 1, 2)
    coverage = metrics.class_coverage(judge.probabilities(images))
    return {"classes": coverage["classes_present"], "class_kl": coverage["class_kl"],
            "confident": coverage["confident_share"],
            "judge_fd": metrics.frechet_distance(judge.real, judge.features(images))}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--at", default="30,60,90,120,180", help="seconds after launch")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--n", type=int, default=2000, help="samples judged per checkpoint")
    parser.add_argument("--loads", default="0,1", help="other processes keeping a core busy")
    parser.add_argument("--code", help="a checkout whose window and engine to launch instead of this one's")
    parser.add_argument("--judge-cache", default=os.path.join(tempfile.gettempdir(),
                                                              f"judge_digits_robust_recipe{DIGITS_RECIPE}.pt"))
    args = parser.parse_args()
    at = [float(s) for s in args.at.split(",")]
    extra = [f"--set={s}" for s in args.set]
    bank = load_dataset(resolve("digits").data, 64)
    judge = Judge.cached(bank.images, bank.labels, args.judge_cache, robust=True)
    print(f"judge: held-out accuracy {judge.accuracy:.2%}; FD floor (real vs real) {judge.floor:.2f}; "
          f"code {args.code or 'this checkout'}; settings {args.set or 'the preset'}")
    for load in (int(s) for s in args.loads.split(",")):
        with tempfile.TemporaryDirectory() as home:
            busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(load)]
            try:
                saved = launch(Path(home), Path(home) / "run", at, extra, args.code)
            finally:
                for process in busy:
                    process.kill()
                    process.wait()
            for seconds, path in saved.items():
                if not path.exists():
                    print(f"{'busy' if load else 'idle'} {seconds:5.0f}s: no checkpoint (the run had not started)")
                    continue
                r = judged(judge, path, args.n, args.code)
                print(f"{'busy' if load else 'idle'} {seconds:5.0f}s step {step_of(Path(home) / 'run', path):5d}: "
                      f"{r['classes']:2d} classes, class KL {r['class_kl']:.3f}, {100 * r['confident']:.0f}% "
                      f"confident, judge FD {r['judge_fd']:.0f}", flush=True)


if __name__ == "__main__":
    main()
