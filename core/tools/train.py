"""`hinge-train train`: a whole run in this process, one rank's part of a run in several (under torchrun or
--nproc), with a progress line on the terminal."""
from __future__ import annotations

import contextlib
import signal
import sys
import time
from pathlib import Path

from core.base.clock import every_so_often
from core.base.cpu import run_as_batch_work
from core.base.errors import UserError
from core.distributed.collectives import broadcast
from core.distributed.world import ONE_PROCESS, join, launched, leave
from core.protocol.describe import describe_event, describe_score
from core.protocol.states import EventKind, RunState
from core.session.control_points import follow
from core.storage.rundir import read_events
from core.tools.launch import launch_training
from core.tools.runs import make_session, make_trainer, prepare
from core.training.data import prepare_data
from core.training.trainer import resolve_device

SHOWN_EVENTS = (EventKind.REJECTED, EventKind.DIVERGED, EventKind.ERROR, EventKind.ALERT, EventKind.ALERT_CLEARED,
                "rewind", EventKind.RANKS_COMPARED, EventKind.TRACKER_FAILED)


@contextlib.contextmanager
def stop_on_signals():
    """While training, SIGTERM (kill, systemd, a batch scheduler) and SIGINT stop the run as Ctrl+C does, last.pt
    saved; SIGINT too where a shell started the run in the background, which leaves SIGINT ignored."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    before = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


class Progress:
    """A progress bar with steps/s and ETA on a terminal; a plain line every few seconds otherwise."""

    def __init__(self, start: int, total: int, stream=None):
        self.start, self.total, self.stream = start, total, stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last_line = 0.0
        self.last_state = None
        self.d_loss_text = "--"  # until the first step is published
        self.last_score: dict | None = None
        self.alerts: dict[str, dict] = {}  # detector -> its alert while raised

    def __call__(self, t) -> None:
        done = t.step - self.start
        eta = t.info.get("eta_s")
        eta_text = time.strftime("%H:%M:%S", time.gmtime(eta)) if eta is not None else "--:--:--"
        if len(t.steps):
            self.d_loss_text = f"{t.scalars['d_loss'][-1]:.3f}"
        text = (f"step {t.step} ({done}/{self.total}) {t.steps_per_s:7.1f} steps/s  ETA {eta_text}  "
                f"d_loss {self.d_loss_text}  {t.state}")
        if self.tty:
            width = 24
            filled = int(width * done / max(self.total, 1))
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {text}\033[K")
            self.stream.flush()
        elif time.monotonic() - self.last_line > 5 or t.state != self.last_state:
            self.last_line = time.monotonic()
            print(text, file=self.stream, flush=True)
        self.last_state = t.state
        self.last_score = t.quality[-1] if t.quality else self.last_score
        for event in t.events:
            if event["kind"] == EventKind.ALERT:
                self.alerts[event["name"]] = event
            elif event["kind"] == EventKind.ALERT_CLEARED:
                self.alerts.pop(event["name"], None)
            if event["kind"] in SHOWN_EVENTS:
                line = describe_event(event)
                print(f"\n{line}" if self.tty else line, file=self.stream, flush=True)

    def summary(self) -> str:
        """The run's last score and its health, in one line."""
        score = f"last score {describe_score(self.last_score)}" if self.last_score else "not scored"
        alerts = ", ".join(f"{name} since step {event['step']:,}" for name, event in self.alerts.items())
        return f"{score}; health: {f'ALERT {alerts}' if alerts else 'no alert'}"

    def close(self):
        if self.tty:
            self.stream.write("\n")


def counting(what: str, stream=None):
    """progress(done, total) as one line on a terminal, rewritten in place; a line every 5 s otherwise."""
    stream = stream or sys.stderr
    tty = stream.isatty()

    def show(done: int, total: int) -> None:
        if tty:
            stream.write(f"\r{what}: {done:,} of {total:,}\033[K" + ("\n" if done == total else ""))
        else:
            stream.write(f"{what}: {done:,} of {total:,}\n")
        stream.flush()
    return every_so_often(show, 0.2 if tty else 5.0)


def cmd_train(args) -> int:
    if args.nproc < 1:
        raise UserError(f"--nproc must be at least 1, got {args.nproc}")
    if args.steps is not None and args.steps < 0:
        raise UserError(f"--steps must be >= 0, got {args.steps}")
    if args.nproc > 1 and not launched():
        return launch_training(args, args.argv)
    if not launched():
        return train(args, ONE_PROCESS, args.device)
    world, device = join(resolve_device(args.device))
    status = train(args, world, device)
    leave(finished=status in (0, 3))
    return status


def train(args, world, device) -> int:
    """Train in this process: the whole run, or one rank's part of it (rank 0 writes the run directory)."""
    cfg, state, run_dir = prepare(args)
    if world.is_main and (line := prepare_data(cfg.data, counting("decoding images"))):
        print(f"hinge-train: {line}", file=sys.stderr)
    if world.distributed:  # the other ranks wait here, and find the data prepared
        run_dir = Path(broadcast(str(run_dir)))  # rank 0's (a default name holds the time it was made)
        if not world.is_main:
            trainer = make_trainer(cfg, state, device, world)
            run_as_batch_work()
            return follow(trainer)
    replay = read_events(args.events) if args.events else []
    steps = args.steps if args.steps is not None else cfg.train.steps
    start = int(state["step"]) if state else 0
    progress = Progress(start, steps)
    session = make_session(cfg, state, run_dir, device, checkpoint=args.resume, world=world,
                           max_steps=start + steps, publish=progress, replay=replay)
    run_as_batch_work()  # from here on it trains: a window's timer preempts it; other processes keep their share
    ranks = f" in {world.size} processes" if world.distributed else ""
    print(f"hinge-train: {cfg.preset} on {session.trainer.device}{ranks}, {session.trainer.data.describe()}; "
          f"run directory {run_dir}", file=sys.stderr)
    try:
        with stop_on_signals() if not world.distributed else contextlib.nullcontext():  # ranks: StopSignals
            final = session.run()
    except KeyboardInterrupt:
        final = session.close()
        progress.close()
        print(f"interrupted at step {session.trainer.step}; saved {run_dir}/checkpoints/last.pt", file=sys.stderr)
        return 130
    progress.close()
    print(f"{final} at step {session.trainer.step}; {progress.summary()}; checkpoint {run_dir}/checkpoints/last.pt",
          file=sys.stderr)
    return 0 if final == RunState.DONE else 3
