"""Starting and resuming runs in this process: the checkpoint a command line names, the Trainer restored
from it, and the Session that trains it. Shared by `hinge-train`, the workbench's engine process and
`compare`."""
from __future__ import annotations

from core.config import from_dict
from core.distributed.world import ONE_PROCESS
from core.protocol.states import EventKind
from core.session import Session
from core.storage.rundir import RunDir, fork_parent
from core.config.resume import resume_changes
from core.run_args import plan_run
from core.training.checkpoint import load_checkpoint
from core.training.trainer import Trainer


def prepare(args):
    """(config, checkpoint state or None, run directory) for hinge-train train."""
    state = load_checkpoint(args.resume) if args.resume else None
    cfg, run_dir = plan_run(args, state["config"] if state else None)
    return cfg, state, run_dir


def make_trainer(cfg, state, device, world=ONE_PROCESS) -> Trainer:
    """A Trainer for cfg (in this process's place in a world of several, if given), restored from state."""
    trainer = Trainer(cfg, device, world)
    if state:
        trainer.load_state_dict(state)
    return trainer


def make_session(cfg, state, run_dir, device, checkpoint: str | None = None, world=ONE_PROCESS,
                 **session_args) -> Session:
    """A Trainer (restored from state if given, with cfg's settings in force) inside a Session writing run_dir.

    A resumed session's first event says where it came from and which settings it changed.
    """
    changed = resume_changes(from_dict(state["config"]), cfg) if state else {}
    trainer = make_trainer(cfg, state, device, world)
    resume_from = (trainer.step, state["events"]) if state else None
    parent = fork_parent(checkpoint, trainer.step, run_dir) if state else None
    session = Session(trainer, RunDir(run_dir, resume_from), events=state["events"] if state else (), parent=parent,
                      elapsed_s=float(state.get("train_seconds", 0.0)) if state else 0.0, **session_args)
    if state:
        session.record.record({"kind": EventKind.FORKED if parent else EventKind.RESUMED, "checkpoint": checkpoint,
                               "from_step": trainer.step, "changed": changed, **({"parent": parent} if parent else {})})
    return session
