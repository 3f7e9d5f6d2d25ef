"""`hinge-train train --nproc N`: the same command in N processes on this machine, started by PyTorch's own
launcher (torch.distributed.run, what `torchrun` runs), so that it trains exactly as torchrun would."""
from __future__ import annotations

import logging
import os
import signal
import sys

from core.base.cpu import usable_cores
from core.distributed.world import check_world
from core.tools.runs import prepare
from core.training.trainer import resolve_device


def without_nproc(argv: list[str]) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            out.append(arg)
    return out


def the_rank_that_ended_it(failures: dict) -> tuple | None:
    """(rank, torch's ProcessFailure) of the rank whose end ended a run, or None when rank 0 ended it with a
    status of its own. Once one rank ends, torchrun sends SIGTERM to the rest, and a rank already leaving
    Python can die of it: such a SIGTERM is a consequence, never the cause. Otherwise the first rank a signal
    ended (within the same second SIGTERM comes last), else the first failure."""
    first = failures.get(0)
    by_rank_0 = first is not None and first.exitcode > 0
    killed = sorted((f.timestamp, f.exitcode == -signal.SIGTERM, rank, f) for rank, f in failures.items()
                    if f.exitcode < 0 and not (by_rank_0 and f.exitcode == -signal.SIGTERM))
    if killed:
        return killed[0][2], killed[0][3]
    if by_rank_0:
        return None
    rank = min(failures, key=lambda r: failures[r].timestamp)
    return rank, failures[rank]


def launch_training(args, argv: list[str]) -> int:
    """Check the device and config here (one clear error rather than N), fix the run directory for every rank, start
    the ranks; the exit status of the run (rank 0's), or 1 with what ended it when a rank failed."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run  # torch's launcher: imported only to launch

    resolve_device(args.device)
    cfg, _, run_dir = prepare(args)
    check_world(cfg, args.nproc)
    argv = without_nproc(argv) + ([] if args.run_dir else ["--run-dir", str(run_dir)])
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, usable_cores() // args.nproc)))
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)  # failures are reported below
    try:
        run(parse_args(["--standalone", f"--nproc-per-node={args.nproc}", "--monitor-interval=0.1",
                        "--module", "core.cli", *argv]))
    except SignalException as exc:
        print(f"hinge-train: {exc.sigval.name}: every rank was asked to stop; rank 0 saved "
              f"{run_dir}/checkpoints/last.pt", file=sys.stderr)
        return 130
    except ChildFailedError as exc:
        if (ended := the_rank_that_ended_it(exc.failures)) is None:
            return exc.failures[0].exitcode  # rank 0 ended the run and said why (stopped: 3, bad input: 2)
        rank, failure = ended
        how = f"signal {failure.signal_name()}" if failure.exitcode < 0 else f"exit status {failure.exitcode}"
        print(f"hinge-train: error: rank {rank} of {args.nproc} (pid {failure.pid}) ended with {how}; the other "
              f"ranks were stopped. {run_dir}/checkpoints/last.pt holds the last step rank 0 saved; "
              f"continue with --resume {run_dir}/checkpoints/last.pt", file=sys.stderr)
        return 1
    return 0
