"""Starting and resuming runs: the config a command line asks for, and the session that trains it.

Shared by `hinge-train`, the workbench and `compare`; none of them needs the others to start a run.
"""
from __future__ import annotations

from pathlib import Path

from core import config as config_mod
from core.config import Config
from core.errors import ConfigError
from core.rundir import default_run_dir

# What a resume cannot change: the shapes of the models, the data they learn, and the seeds whose
# generators the checkpoint already carries. Everything else (losses, margins, optimizer, spectral norm,
# n_dis, batch size, speed options, evaluation, data.root of a moved folder) takes effect on resume.
FIXED_ON_RESUME = ("data.source", "data.name", "data.image_size", "data.channels", "data.n_samples",
                   "model.z_dim", "model.g_width", "model.d_width", "model.discriminator", "model.mlp_hidden",
                   "model.mlp_depth", "train.seed", "train.n_fixed")


def _flat(cfg: Config) -> dict:
    return {f"{section}.{key}": value for section, values in cfg.to_dict().items() if isinstance(values, dict)
            for key, value in values.items()}


def resume_changes(saved: Config, cfg: Config) -> dict[str, list]:
    """{key: [saved, now]} for each setting cfg changes from a checkpoint's; ConfigError for one it cannot."""
    old, new = _flat(saved), _flat(cfg)
    changed = {key: [old[key], new[key]] for key in new if old.get(key) != new[key]}
    for key in changed:
        if key in FIXED_ON_RESUME:
            raise ConfigError(f"a resume cannot change {key} (the checkpoint has {old[key]!r}, asked for "
                              f"{new[key]!r}): it shapes the models, the data or the saved random state; "
                              "start a new run instead")
    return changed


def prepare(args):
    """(config, checkpoint state or None, run directory) for train and the workbench."""
    from core.checkpoint import load_checkpoint  # torch: imported only when a run starts

    state = load_checkpoint(args.resume) if args.resume else None
    overrides = list(args.set)
    if getattr(args, "seed", None) is not None:
        overrides.append(f"train.seed={args.seed}")
    base = config_mod.from_dict(state["config"]) if state else None
    cfg = config_mod.resolve(args.preset, args.config, overrides, base=base)
    if state:
        resume_changes(config_mod.from_dict(state["config"]), cfg)
    if args.run_dir:
        run_dir = Path(args.run_dir)
    elif state and (Path(args.resume).parent.parent / "config.json").exists():
        run_dir = Path(args.resume).parent.parent
    else:
        run_dir = default_run_dir(cfg.preset)
    return cfg, state, run_dir


def make_session(cfg, state, run_dir, device, checkpoint: str | None = None, **session_args):
    """A Trainer (restored from state if given, with cfg's settings in force) inside a Session writing run_dir.

    A resumed session's first event says where it came from and which settings it changed.
    """
    from core.engine import Trainer
    from core.rundir import RunDir
    from core.session import Session

    changed = resume_changes(config_mod.from_dict(state["config"]), cfg) if state else {}
    trainer = Trainer(cfg, device)
    if state:
        trainer.load_state_dict(state)
    resume_from = (trainer.step, state["events"]) if state else None
    session = Session(trainer, RunDir(run_dir, resume_from), events=state["events"] if state else (), **session_args)
    if state:
        session.record({"kind": "resumed", "checkpoint": checkpoint, "from_step": trainer.step, "changed": changed})
    return session
