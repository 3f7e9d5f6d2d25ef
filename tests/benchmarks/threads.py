"""How the training step's speed depends on its thread count, its priority and other busy processes.

Not a test (pytest does not collect it). Run from the repository root:

    python tests/benchmarks/threads.py --preset digits --seconds 8

Each cell trains the preset in a fresh process for the given seconds, with `--load` processes of
`while True: pass` beside it, and prints steps/s. The last cell of each row is the default policy
(`train.threads=0`: the governor of core/base/cpu.py). The last line is JSON.
"""
import argparse
import json
import os
import subprocess
import sys
import time

CHILD = """
import os, sys, time
from core.config import resolve
from core.training.trainer import Trainer
from core.session import Session
from core.storage.rundir import RunDir
from core.base.cpu import run_as_batch_work
from core.protocol.commands import Stop
import tempfile
preset, threads, niceness, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
if niceness:
    os.nice(niceness)
else:
    run_as_batch_work()
session = Session(Trainer(resolve(preset, overrides=[f"train.threads={threads}"]), "cpu"), RunDir(tempfile.mkdtemp()))
started = [None]
def inbox(timeout):
    if started[0] is None:
        started[0] = (time.monotonic(), session.trainer.step)
    return Stop() if time.monotonic() - started[0][0] > seconds else None
session.run(inbox)
t0, s0 = started[0]
print((session.trainer.step - s0) / (time.monotonic() - t0), session.trainer.threads)
"""


def measure(preset: str, threads: int, niceness: int, seconds: float) -> tuple[float, int]:
    out = subprocess.run([sys.executable, "-c", CHILD, preset, str(threads), str(niceness), str(seconds)],
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="digits")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--loads", default="0,1", help="busy processes beside the engine, comma-separated")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    cells = [(1, 0), (cores, 0), (cores, 5), (0, 0)]  # (threads, niceness); threads 0: the governor
    results = []
    print(f"{args.preset}, {cores} cores; steps/s")
    print("load | " + " | ".join(("governor" if t == 0 else f"{t} thr") + (f" nice {n}" if n else "") for t, n in cells))
    for load in [int(x) for x in args.loads.split(",")]:
        busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(load)]
        try:
            time.sleep(0.5)
            row = []
            for threads, niceness in cells:
                rate, final_threads = measure(args.preset, threads, niceness, args.seconds)
                row.append(rate)
                results.append({"load": load, "threads": threads, "niceness": niceness, "steps_per_s": round(rate, 2),
                                "final_threads": final_threads})
            print(f"{load} | " + " | ".join(f"{r:.1f}" for r in row), flush=True)
        finally:
            for proc in busy:
                proc.kill()
                proc.wait()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
