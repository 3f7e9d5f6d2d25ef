"""Whether a run's settings make sense: each check names the setting it refuses and why."""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

from core.base.colours import colour_setting
from core.base.errors import ConfigError
from core.config.schema import (AUGMENTATIONS, COMPILE_MODES, DATA_SOURCES, DEPTHS, DISCRIMINATORS, IMAGE_SIZES,
                                LOSS_KINDS, MAX_CLASSES, MAX_LR, MAX_MARGIN, MAX_THREADS, PRECISIONS, SWITCHES,
                                TORCHVISION_NAMES, UPSAMPLINGS, Config, HealthConfig, LogConfig)


def check_margin(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and 0.0 <= value <= MAX_MARGIN):
        raise ConfigError(f"{name} must be a finite number between 0 and {MAX_MARGIN:g}, got {value!r}")


def check_lr(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and 0.0 < value <= MAX_LR):
        raise ConfigError(f"{name} must be a finite number in (0, {MAX_LR:g}], got {value!r}")


def check_n_dis(value: int) -> None:
    if not (isinstance(value, int) and 1 <= value <= 100):
        raise ConfigError(f"train.n_dis must be an integer from 1 to 100, got {value!r}")


def check_loss(value) -> None:
    if value not in LOSS_KINDS:
        raise ConfigError(f"loss must be one of {', '.join(LOSS_KINDS)}; got {value!r}")


def check_threads(value: int, allow_auto: bool = False) -> None:
    low = 0 if allow_auto else 1
    if not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= MAX_THREADS):
        auto = "0 (follow the free cores) or " if allow_auto else ""
        raise ConfigError(f"threads must be {auto}an integer from 1 to {MAX_THREADS}, got {value!r}")


def check_compile(value: str) -> None:
    """off, a mode, or a name for a torch.compile backend (which backends exist, only torch knows: the
    trainer asks it, core.training.speedups)."""
    if not (isinstance(value, str) and value.replace("_", "").replace("-", "").isalnum()):
        raise ConfigError(f"train.compile must be off, one of {', '.join(COMPILE_MODES)}, or a torch.compile "
                          f"backend's name; got {value!r}")


def unused_settings(loss: str) -> dict[str, str]:
    """The settings that do nothing under `loss`, each with why: only the hinge has margins."""
    if loss == "hinge":
        return {}
    why = f"only the hinge loss has margins; {loss} ignores them"
    return {"loss.margin_real": why, "loss.margin_fake": why}


def augment_policies(setting: str) -> tuple[str, ...]:
    """train.augment: 'off', or a comma-separated choice of AUGMENTATIONS -> those asked for, in the order they
    apply."""
    asked = set() if setting == "off" else {part.strip() for part in str(setting).split(",")}
    if asked - set(AUGMENTATIONS) or not (asked or setting == "off"):
        raise ConfigError(f"train.augment must be 'off' or any of {', '.join(AUGMENTATIONS)} joined by commas "
                          f"(DiffAugment's full policy: color,translation,cutout), got {setting!r}")
    return tuple(name for name in AUGMENTATIONS if name in asked)


def _choice(name: str, value: str, options) -> None:
    if value not in options:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, options))}; got {value!r}")


def _positive(name: str, value: int) -> None:
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value!r}")


def validate(cfg: Config) -> Config:
    """Raise ConfigError naming the first setting that makes no sense."""
    d, m, lo, o, t = cfg.data, cfg.model, cfg.loss, cfg.optim, cfg.train
    _choice("data.source", d.source, DATA_SOURCES)
    _choice("data.image_size", d.image_size, IMAGE_SIZES)
    _choice("data.channels", d.channels, (1, 3))
    if d.source in ("idx", "folder", "torchvision") and not d.root:
        raise ConfigError(f"data.root is required for data.source = {d.source!r}")
    if d.source == "torchvision":
        _choice("data.name", d.name, TORCHVISION_NAMES)
    _positive("data.n_samples", d.n_samples)
    colour_setting("data.background", d.background)
    _positive("data.memory_budget_mb", d.memory_budget_mb)
    if d.labels and d.source != "folder":
        raise ConfigError(f"data.labels names a folder's classes; data.source {d.source!r} has its own (set it to '')")
    if not (math.isfinite(d.holdout) and 0.0 <= d.holdout <= 0.5):
        raise ConfigError(f"data.holdout must be a share of the images from 0 (none) to 0.5, got {d.holdout!r}")
    if d.holdout and cfg.is_2d:
        raise ConfigError("data.holdout holds out images; the 2D presets have none (set it to 0)")
    _choice("model.discriminator", m.discriminator, DISCRIMINATORS)
    _choice("model.g_upsample", m.g_upsample, UPSAMPLINGS)
    _choice("model.g_depth", m.g_depth, DEPTHS)
    _choice("model.d_depth", m.d_depth, DEPTHS)
    for name in ("z_dim", "g_width", "d_width", "mlp_hidden", "mlp_depth"):
        _positive(f"model.{name}", getattr(m, name))
    if not (isinstance(m.classes, int) and 0 <= m.classes <= MAX_CLASSES):
        raise ConfigError(f"model.classes must be 0 (unconditional) or a number of classes up to {MAX_CLASSES}, "
                          f"got {m.classes!r}")
    if m.classes and cfg.is_2d:
        raise ConfigError("model.classes conditions on image labels; the 2D presets have none (set it to 0)")
    _choice("loss.kind", lo.kind, LOSS_KINDS)
    check_margin("loss.margin_real", lo.margin_real)
    check_margin("loss.margin_fake", lo.margin_fake)
    check_lr("optim.lr_g", o.lr_g)
    check_lr("optim.lr_d", o.lr_d)
    for name in ("beta1", "beta2"):
        value = getattr(o, name)
        if not (math.isfinite(value) and 0.0 <= value < 1.0):
            raise ConfigError(f"optim.{name} must be in [0, 1), got {value!r}")
    check_n_dis(t.n_dis)
    check_threads(t.threads, allow_auto=True)
    for name in ("steps", "batch_size", "checkpoint_every", "n_fixed"):
        _positive(f"train.{name}", getattr(t, name))
    for name in ("keep_checkpoints", "keep_every"):
        if not (isinstance(getattr(t, name), int) and getattr(t, name) >= 0):
            raise ConfigError(f"train.{name} must be 0 (no limit) or a whole number, got {getattr(t, name)!r}")
    for name in ("publish_every_s", "samples_every_s", "autosave_minutes"):
        value = getattr(t, name)
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(f"train.{name} must be a positive number of seconds, got {value!r}")
    if not (math.isfinite(t.g_ema) and 0.0 <= t.g_ema < 1.0):
        raise ConfigError(f"train.g_ema must be 0 (off) or a decay in (0, 1), got {t.g_ema!r}")
    _choice("train.precision", t.precision, PRECISIONS)
    if augment_policies(t.augment) and cfg.is_2d:
        raise ConfigError("train.augment transforms images; the 2D presets have none (set it to off)")
    _choice("train.channels_last", t.channels_last, SWITCHES)
    check_compile(t.compile)
    if cfg.eval.every < 0:
        raise ConfigError(f"eval.every must be 0 (off) or a number of steps, got {cfg.eval.every}")
    if not 0 <= cfg.eval.early <= 10:
        raise ConfigError(f"eval.early must be a number of halvings from 0 to 10, got {cfg.eval.early}")
    if not 10 <= cfg.eval.n <= 50_000:
        raise ConfigError(f"eval.n must be from 10 to 50000 samples, got {cfg.eval.n}")
    if cfg.eval.inception and not Path(cfg.eval.inception).expanduser().is_file():
        raise ConfigError(f"eval.inception names no file: {cfg.eval.inception}")
    _validate_health(cfg.health)
    _validate_log(cfg.log)
    return cfg


TRACKER_PACKAGES = {"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb"}  # setting -> what it imports


def _validate_log(log: LogConfig) -> None:
    _choice("log.wandb_mode", log.wandb_mode, ("online", "offline"))
    if not (math.isfinite(log.every_s) and 0.0 < log.every_s <= 3600):
        raise ConfigError(f"log.every_s must be a positive number of seconds (at most 3600), got {log.every_s!r}")
    for setting, package in TRACKER_PACKAGES.items():
        if getattr(log, setting) and importlib.util.find_spec(package) is None:
            raise ConfigError(f"log.{setting} needs {package}, which is not installed here: "
                              f"pip install 'hinge-workbench[{setting}]' (or pip install {package})")


def _validate_health(h: HealthConfig) -> None:
    for name in ("window", "diverge_window", "stall_window", "cover_patience", "memorise_every", "memorise_probes"):
        _positive(f"health.{name}", getattr(h, name))
    for name in ("overpower_inside", "collapse_diversity", "collapse_classes", "collapse_drop", "cover_share",
                 "memorise_gap"):
        value = getattr(h, name)
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ConfigError(f"health.{name} must be a share from 0 to 1, got {value!r}")
    for name in ("overpower_d_loss", "diverge_ratio", "stall_loss_change", "stall_sample_change", "stall_weight_change"):
        value = getattr(h, name)
        if not (math.isfinite(value) and value >= 0.0):
            raise ConfigError(f"health.{name} must be a finite number >= 0, got {value!r}")
    if h.cover_after < 0:
        raise ConfigError(f"health.cover_after must be a number of steps >= 0, got {h.cover_after!r}")
    if h.auto_rewind < 0:
        raise ConfigError(f"health.auto_rewind must be 0 (off) or a number of rewinds, got {h.auto_rewind!r}")
