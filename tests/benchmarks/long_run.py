"""A long headless run with a window attached for its last minutes: the run directory's size against steps
(by kind of file), the window's memory against time, and whether metrics.csv holds one row per step.

Not a test. From the repository root (ring8's 200,000 steps take about half an hour on two cores):

    QT_QPA_PLATFORM=offscreen python tests/benchmarks/long_run.py --preset ring8 --steps 200000 --attach-minutes 30

It samples every --every seconds; the window is opened when the remaining steps at the rate so far would take
--attach-minutes. The last line is JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.base.files import AppendedLines
from core.storage.metrics_csv import read_rows

KINDS = {"checkpoints": "checkpoints", "timelapse": "samples/timelapse", "histograms": "histograms.jsonl",
         "metrics": "metrics.csv"}


def sizes(run: Path) -> dict[str, int]:
    """Bytes under the run directory, by kind of file; `other` is the rest."""
    found = {kind: 0 for kind in (*KINDS, "other")}
    for root, _, files in os.walk(run):
        for name in files:
            path = Path(root) / name
            try:
                size = path.stat().st_size
            except FileNotFoundError:  # removed by retention while we walked
                continue
            rel = path.relative_to(run).as_posix()
            kind = next((k for k, prefix in KINDS.items() if rel.startswith(prefix)), "other")
            found[kind] += size
    return found


def last_step(metrics: AppendedLines, step: int) -> int:
    """The step of the newest whole row appended to metrics.csv since the last call (`step` if none)."""
    for line in reversed(metrics.lines()):
        head = line.split(",", 1)[0]
        if head.isdigit():
            return int(head)
    return step


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total


def rows_are_steps(metrics: Path, steps: int) -> bool:
    """metrics.csv holds exactly one row for each step 1..steps, in order."""
    return [int(row["step"]) for row in read_rows(metrics) or []] == list(range(1, steps + 1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="ring8")
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--attach-minutes", type=float, default=30)
    parser.add_argument("--every", type=float, default=30, help="seconds between samples")
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--run-dir", help="keep the run here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(args.run_dir or Path(tmp) / "run")
        overrides = [x for kv in args.set for x in ("--set", kv)]
        train = subprocess.Popen([sys.executable, "-m", "core.cli", "train", "--preset", args.preset, "--steps",
                                  str(args.steps), "--run-dir", str(run), *overrides],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        window, started, disk, memory, step = None, time.time(), [], [], 0
        metrics = AppendedLines(run / "metrics.csv")
        try:
            while train.poll() is None:
                time.sleep(args.every)
                now, step = time.time() - started, last_step(metrics, step)
                disk.append({"s": round(now), "step": step, **sizes(run)})
                if window is not None and window.poll() is None:  # from the sample after it was opened
                    memory.append({"s": round(now - opened), "step": step, "rss_mb": round(rss_mb(window.pid), 1)})
                rate = step / now
                if window is None and rate > 0 and (args.steps - step) / rate <= 60 * args.attach_minutes:
                    window = subprocess.Popen([sys.executable, "-c", "from workbench.app import main; main()",
                                               "--attach", str(run)], stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL)
                    opened = now
                print(json.dumps({**disk[-1], **({"rss_mb": memory[-1]["rss_mb"]} if memory else {})}), flush=True)
        finally:
            if window is not None:
                window.terminate()
                window.wait(30)
            train.terminate()
            train.wait(30)
        error = train.stderr.read()
        final = {"s": round(time.time() - started), "step": last_step(metrics, step), **sizes(run)}
        result = {"preset": args.preset, "steps": args.steps, "returncode": train.returncode,
                  "minutes": round(final["s"] / 60, 1), "final": final, "disk": disk, "memory": memory,
                  "one_row_per_step": rows_are_steps(run / "metrics.csv", args.steps),
                  "window_crashed": window is not None and window.returncode not in (0, -15),
                  "stderr_tail": error[-2000:]}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
