"""Starting and resuming runs: the config a command line asks for, and the session that trains it.

Shared by `hinge-train`, the workbench and `compare`; none of them needs the others to start a run.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from core import config as config_mod
from core.config import Config
from core.errors import ConfigError
from core.states import EventKind
from core.rundir import default_run_dir

# What a resume cannot change: the shapes of the models, the data they learn, and the seeds whose
# generators the checkpoint already carries. Everything else (losses, margins, optimizer, spectral norm,
# n_dis, batch size, speed options, evaluation, data.root of a moved folder) takes effect on resume.
FIXED_ON_RESUME = ("data.source", "data.name", "data.image_size", "data.channels", "data.n_samples",
                   "model.z_dim", "model.g_width", "model.g_upsample", "model.g_depth", "model.d_width",
                   "model.d_depth", "model.discriminator", "model.classes", "model.mlp_hidden", "model.mlp_depth",
                   "train.seed", "train.n_fixed")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options hinge-train train and hinge-workbench share: where the config comes from, and the device."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--preset", help="a shipped preset (see `hinge-train presets`)")
    source.add_argument("--config", help="a config.json or .toml file")
    source.add_argument("--resume", metavar="CKPT", help="continue from a checkpoint")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting, e.g. --set loss.margin_real=0.5 (repeatable)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--run-dir", help="where to write config, metrics, events, checkpoints, samples "
                                          "(default: runs/PRESET-YYYYmmdd-HHMMSS under the current directory; "
                                          "with --resume, the checkpoint's own run directory)")


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
    elif state and run_dir_of(args.resume):
        run_dir = run_dir_of(args.resume)
    else:
        run_dir = default_run_dir(cfg.preset)
    return cfg, state, run_dir


def make_trainer(cfg, state, device, world=None):
    """A Trainer for cfg (in this process's place in a world of several, if given), restored from state."""
    from core.distributed import ONE_PROCESS
    from core.engine import Trainer

    trainer = Trainer(cfg, device, world or ONE_PROCESS)
    if state:
        trainer.load_state_dict(state)
    return trainer


def make_session(cfg, state, run_dir, device, checkpoint: str | None = None, world=None, **session_args):
    """A Trainer (restored from state if given, with cfg's settings in force) inside a Session writing run_dir.

    A resumed session's first event says where it came from and which settings it changed.
    """
    from core.rundir import RunDir
    from core.session import Session

    changed = resume_changes(config_mod.from_dict(state["config"]), cfg) if state else {}
    trainer = make_trainer(cfg, state, device, world)
    resume_from = (trainer.step, state["events"]) if state else None
    parent = fork_parent(checkpoint, trainer.step, run_dir) if state else None
    session = Session(trainer, RunDir(run_dir, resume_from), events=state["events"] if state else (), parent=parent,
                      elapsed_s=float(state.get("train_seconds", 0.0)) if state else 0.0, **session_args)
    if state:
        session.record({"kind": EventKind.FORKED if parent else EventKind.RESUMED, "checkpoint": checkpoint, "from_step": trainer.step,
                        "changed": changed, **({"parent": parent} if parent else {})})
    return session


def run_dir_of(checkpoint: str | Path) -> Path | None:
    """The run directory a checkpoint was saved in (RUN/checkpoints/step-N.pt), if it is one."""
    folder = Path(checkpoint).resolve().parent.parent
    return folder if (folder / "config.json").is_file() else None


def fork_parent(checkpoint: str | None, step: int, run_dir: str | Path) -> dict | None:
    """What a run started from a checkpoint of another run directory records as its parent; None when it
    continues the checkpoint's own run."""
    if not checkpoint:
        return None
    origin = run_dir_of(checkpoint)
    if origin is not None and origin == Path(run_dir).resolve():
        return None
    return {"run_dir": str(origin) if origin else None, "step": step, "checkpoint": str(Path(checkpoint).resolve())}
