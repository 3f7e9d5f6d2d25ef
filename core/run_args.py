"""What a command line asks to train, for hinge-train train and hinge-workbench alike: the options they share,
and the config (a preset, a file, or a checkpoint's record, then --set) with the run directory it writes. No
torch: the window's process plans its runs too (a checkpoint's record reaches it from `hinge-train checkpoint
--describe`)."""
from __future__ import annotations

import argparse
from pathlib import Path

from core.config import Config, from_dict, resolve
from core.config.resume import resume_changes
from core.storage.layout import default_run_dir, run_dir_of


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
