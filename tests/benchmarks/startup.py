"""Where the seconds of the window's start go, as a new user meets them: `hinge-workbench --profile-startup`
with a fresh HOME (an empty cache, no saved layout) on the default preset, run ROUNDS times idle and
ROUNDS times with one core kept busy by another process; the median of each stage, and the first step.

    QT_QPA_PLATFORM=offscreen python tests/benchmarks/startup.py --rounds 3
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

LINE = re.compile(r"^(.+?)\s+(-?\d+\.\d+)s\s+[+-]\d+\.\d+s$")


def profile(extra: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HOME": home, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
        env.pop("XDG_CACHE_HOME", None), env.pop("HINGE_CACHE_DIR", None)
        done = subprocess.run([sys.executable, "-m", "workbench.app", "--profile-startup", "--run-dir",
                               os.path.join(home, "run"), *extra], capture_output=True, text=True, env=env,
                              timeout=300, cwd=home)
    stages = {m.group(1).strip(): float(m.group(2)) for m in map(LINE.match, done.stdout.splitlines()) if m}
    if "first step seen in the window" not in stages:
        raise SystemExit(f"no first step:\n{done.stdout}\n{done.stderr[-2000:]}")
    return stages


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    extra = [f"--set={s}" for s in args.set]
    results = {}
    for load in (0, 1):
        busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(load)]
        try:
            runs = [profile(extra) for _ in range(args.rounds)]
        finally:
            for process in busy:
                process.kill()
                process.wait()
        results[load] = {stage: statistics.median(r[stage] for r in runs) for stage in runs[0]}
    print(f"{'stage (median of ' + str(args.rounds) + ' launches)':40s} {'idle':>7s} {'one core busy':>14s}")
    for stage in sorted(results[0], key=results[0].get):
        print(f"{stage:40s} {results[0][stage]:6.2f}s {results[1].get(stage, float('nan')):13.2f}s")


if __name__ == "__main__":
    main()
