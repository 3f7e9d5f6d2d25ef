"""What a command line asks to train: the config (a preset, a file, or a checkpoint's record, then --set),
what a resume may change of a checkpoint's settings, and the run directory it writes. No torch: the window's
process plans its runs too (a checkpoint's record reaches it from `python -m core.checkpoint --describe`)."""
from __future__ import annotations

import argparse
from pathlib import Path

from core.base.errors import ConfigError
from core.config import Config, from_dict, resolve
from core.storage.rundir import default_run_dir

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


def plan_run(args, saved_config: dict | None) -> tuple[Config, Path]:
    """(config, run directory) for these arguments; saved_config: the checkpoint's, with --resume."""
    overrides = list(args.set)
    if getattr(args, "seed", None) is not None:
        overrides.append(f"train.seed={args.seed}")
    base = from_dict(saved_config) if saved_config is not None else None
    cfg = resolve(args.preset, args.config, overrides, base=base)
    if saved_config is not None:
        resume_changes(from_dict(saved_config), cfg)
    if args.run_dir:
        return cfg, Path(args.run_dir)
    if saved_config is not None and run_dir_of(args.resume):
        return cfg, run_dir_of(args.resume)
    return cfg, default_run_dir(cfg.preset)
