"""Training speed with each live tracker on against none, side by side: `hinge-train train --preset digits` in
arms that take turns (none, tensorboard, mlflow, wandb offline, all three; --rounds rounds, so the machine's
drift falls on every arm alike), each trained for --seconds after WARMUP_S from its first step, then stopped by
SIGTERM: its steps/s over those seconds, and the CPU seconds each 100 steps cost (the training process and W&B's
service with it), which a shared VM's steal does not inflate. With --busy, a process spins on one core meanwhile.

Not a test (pytest does not collect it). Run from the repository root:

    python tests/benchmarks/trackers.py --seconds 40            # idle
    python tests/benchmarks/trackers.py --seconds 40 --busy     # one core busy
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from core.storage.metrics_csv import read_rows  # noqa: E402

WARMUP_S = 8.0
ROUNDS = 3


def arms(folder: Path) -> dict[str, list[str]]:
    mlflow = f"log.mlflow=sqlite:///{folder / 'mlflow.db'}"
    wandb = ["log.wandb=hinge-bench", "log.wandb_mode=offline"]
    return {"none": [], "tensorboard": ["log.tensorboard=true"], "mlflow": [mlflow], "wandb": wandb,
            "all three": ["log.tensorboard=true", mlflow, *wandb]}


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and every process under it (W&B's service), from /proc."""
    parents, cpu = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
        cpu[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    tree, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in tree} - tree
        tree, grew = tree | more, bool(more)
    return sum(cpu.get(p, 0.0) for p in tree)


def last_step(run: Path) -> int:
    rows = read_rows(run / "metrics.csv") if (run / "metrics.csv").exists() else []
    return int(rows[-1]["step"]) if rows else 0


def train(run: Path, settings: list[str], seconds: float) -> tuple[float, float, str]:
    """(steps/s, CPU seconds per 100 steps of the process and those under it), both over `seconds` of training
    after WARMUP_S from its first step, and the tracker failure it printed. CPU time is what a shared VM's steal
    does not inflate."""
    line = [sys.executable, "-m", "core.cli", "train", "--preset", "digits", "--steps", "10000000", "--run-dir",
            str(run), *(part for item in settings for part in ("--set", item))]
    process = subprocess.Popen(line, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "WANDB_SILENT": "true"})
    while last_step(run) == 0:
        time.sleep(0.2)
    time.sleep(WARMUP_S)
    t0, cpu0, step0 = time.monotonic(), tree_cpu_s(process.pid), last_step(run)
    time.sleep(seconds)
    t1, cpu1, step1 = time.monotonic(), tree_cpu_s(process.pid), last_step(run)
    process.send_signal(signal.SIGTERM)
    _, said = process.communicate(timeout=120)
    failed = [line for line in said.splitlines() if "stopped publishing" in line]
    return (step1 - step0) / (t1 - t0), 100 * (cpu1 - cpu0) / (step1 - step0), failed[0] if failed else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--busy", action="store_true", help="spin a process on one core meanwhile")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    try:
        with tempfile.TemporaryDirectory(prefix="trackers-bench-") as tmp:
            folder = Path(tmp)
            speeds: dict[str, list[float]] = {name: [] for name in arms(folder)}
            cpu: dict[str, list[float]] = {name: [] for name in arms(folder)}
            for round_ in range(args.rounds):
                for name, settings in arms(folder).items():
                    rate, cost, failed = train(folder / f"{name.replace(' ', '-')}-{round_}", settings, args.seconds)
                    speeds[name].append(rate)
                    cpu[name].append(cost)
                    print(f"round {round_ + 1} {name:12s} {rate:6.2f} steps/s {cost:6.2f} CPU s/100 steps {failed}",
                          flush=True)
    finally:
        if busy is not None:
            busy.kill()
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    base, base_cpu = mean(speeds["none"]), mean(cpu["none"])
    print(f"\n{'busy core' if args.busy else 'idle'}: {args.seconds:.0f} s arms, {args.rounds} rounds, digits preset")
    print("| trackers | steps/s (each round) | mean | vs none | CPU s per 100 steps | vs none |\n|---|---|---|---|---|---|")
    for name, rates in speeds.items():
        print(f"| {name} | {', '.join(f'{r:.2f}' for r in rates)} | {mean(rates):.2f} | {mean(rates) / base:.3f}x | "
              f"{mean(cpu[name]):.2f} | {mean(cpu[name]) / base_cpu:.3f}x |")


if __name__ == "__main__":
    main()
