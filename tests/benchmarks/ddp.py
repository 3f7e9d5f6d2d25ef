"""Steps/s and images/s of one process against N processes (hinge-train train --nproc N), side by side.

Each arm is a real `hinge-train train` run of the same preset, seed and global batch; its speed is read
from its own metrics.csv (wall time per step, after the first quarter of the steps: start-up and DDP's
first buckets excluded). Arms run one after another, never together.

    python tests/benchmarks/ddp.py --preset digits --steps 300            # idle machine
    python tests/benchmarks/ddp.py --preset ring8 --steps 3000 --busy     # one core kept busy
"""
import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

ARMS = [("1 process, 1 thread", 1, 1), ("1 process, 2 threads", 1, 2), ("2 processes, 1 thread each", 2, 1)]


def steps_per_s(run: Path) -> float:
    with open(run / "metrics.csv") as f:
        times = [float(row["wall_time"]) for row in csv.DictReader(f)]
    start = len(times) // 4
    return (len(times) - 1 - start) / (times[-1] - times[start])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="digits")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--busy", action="store_true", help="keep one core busy with another process")
    parser.add_argument("--set", action="append", default=[])
    args = parser.parse_args()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, nproc, threads in ARMS:
                run = Path(tmp) / f"{nproc}x{threads}"
                command = [sys.executable, "-m", "core.cli", "train", "--preset", args.preset, "--steps",
                           str(args.steps), "--run-dir", str(run), "--nproc", str(nproc), "--set", "eval.every=0",
                           "--set", f"train.threads={threads}", *(f"--set={s}" for s in args.set)]
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                with open(run / "config.json") as f:
                    batch = __import__("json").load(f)["train"]["batch_size"]
                rows.append((name, steps_per_s(run), batch))
    finally:
        if busy:
            busy.kill()
            busy.wait()
    reference = rows[0][1]
    print(f"{args.preset}, {args.steps} steps, global batch {rows[0][2]}, "
          f"{'one core busy' if args.busy else 'idle'}")
    print(f"| {'arm':28s} | steps/s | images/s | vs 1 process, 1 thread |")
    print(f"|{'-' * 30}|---------|----------|------------------------|")
    for name, rate, batch in rows:
        print(f"| {name:28s} | {rate:7.1f} | {rate * batch:8.0f} | {rate / reference:22.2f} |")


if __name__ == "__main__":
    main()
