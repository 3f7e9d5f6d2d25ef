"""The remote channel measured against a local attach, side by side on one live run: how often the window would
get news (updates/s), how late (ms from the step's row being written to its arrival), the steps that arrive
(none missed), and the bytes/s of each part (the sample grid, the rows, the histograms, the rest), over an ssh
that stays on this machine, and over the same behind a slow link (1 MB/s, 100 ms a piece).

Not a test (pytest does not collect it). Run from the repository root:

    python tests/benchmarks/remote_channel.py --seconds 30
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from core.protocol import wire  # noqa: E402
from core.storage.follow import RunFollower  # noqa: E402
from core.storage.inbox import append_command  # noqa: E402
from core.storage.remote import RemoteFollower, remote_target  # noqa: E402
from core.storage.metrics_csv import read_rows  # noqa: E402
from tests.core.storage.sshd import local_sshd  # noqa: E402

HERE = Path(__file__).resolve().parents[1] / "core" / "storage"
LOCAL_SSH = f"{sys.executable} {HERE / 'local_ssh.py'}"
HINGE_TRAIN = f"{sys.executable} -m core.cli"
READ_EVERY_S = 0.25  # as the window reads an attached run (workbench/attached.py)


def parts(t) -> dict:
    """Bytes on the wire of each part of one telemetry message."""
    return {"samples": len(wire.encode({"x": t.samples})), "rows": len(wire.encode({"x": (t.steps, t.scalars)})),
            "histograms": len(wire.encode({"x": t.scores})), "all": len(wire.encode({"telemetry": t}))}


def measure(follower, run: Path, seconds: float) -> dict:
    steps, late, sizes, updates, grids = [], [], [], 0, 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = follower.poll()
        if t is not None:
            updates += 1
            grids += t.samples is not None
            sizes.append(parts(t))
            if len(t.steps):
                steps.extend(t.steps.tolist())
                written = {int(r["step"]): float(r["wall_time"]) for r in (read_rows(run / "metrics.csv") or [])[-400:]}
                if int(t.steps[-1]) in written:
                    late.append(1000 * (time.time() - written[int(t.steps[-1])]))
        time.sleep(READ_EVERY_S)
    steps = steps[1:]  # the first message is the history
    total = {k: sum(s[k] for s in sizes[1:]) / seconds for k in ("samples", "rows", "histograms", "all")}
    gaps = int(np.sum(np.diff(steps) != 1)) if len(steps) > 1 else 0
    return {"updates/s": updates / seconds, "grids/s": grids / seconds, "steps/s seen": len(steps) / seconds,
            "gaps": gaps, "latency ms (median, p90)": (np.median(late), np.percentile(late, 90)) if late else None,
            "bytes/s": total}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--preset", default="digits")
    args = parser.parse_args()
    run = Path(tempfile.mkdtemp()) / "run"
    process = subprocess.Popen([sys.executable, "-m", "core.cli", "train", "--preset", args.preset, "--steps",
                                "1000000", "--set", "train.threads=1", "--run-dir", str(run)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not (run / "live" / "heartbeat.json").exists():
            time.sleep(0.5)
        time.sleep(5)
        slow = f"{sys.executable} {HERE / 'throttled.py'} 1000000 0.1 {LOCAL_SSH}"
        with local_sshd(Path(tempfile.mkdtemp()) / "ssh") as sshd:
            arms = {"local attach (RunFollower)": lambda: RunFollower(run),
                    "channel over ssh": lambda: RemoteFollower(remote_target(f"box:{run}"), LOCAL_SSH, HINGE_TRAIN),
                    "channel over a real sshd on 127.0.0.1": lambda: RemoteFollower(remote_target(f"127.0.0.1:{run}"),
                                                                                     sshd, HINGE_TRAIN),
                    "channel, 1 MB/s + 100 ms link": lambda: RemoteFollower(remote_target(f"box:{run}"), slow,
                                                                            HINGE_TRAIN)}
            for name, make in arms.items():
                if "sshd" in name and sshd is None:
                    continue
                follower = make()
                result = measure(follower, run, args.seconds)
                getattr(follower, "close", lambda: None)()
                print(f"{name}: {result}", flush=True)
    finally:
        append_command(run, {"kind": "stop"})
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    main()
