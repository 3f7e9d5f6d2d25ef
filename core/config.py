"""Run configuration: dataclasses, validation, presets and `--set key=value` overrides."""
from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from core.errors import ConfigError

DATA_SOURCES = ("ring8", "grid25", "digits", "idx", "torchvision", "folder")
TORCHVISION_NAMES = ("MNIST", "FashionMNIST", "CIFAR10")
LOSS_KINDS = ("hinge", "bce", "wasserstein")
PRECISIONS = ("fp32", "bf16", "auto")
AUGMENTATIONS = ("off", "translation")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")
SWITCHES = ("auto", "on", "off")
DISCRIMINATORS = ("sn", "bn")
UPSAMPLINGS = ("transposed", "nearest")
DEPTHS = (1, 2, 3)  # convs per resolution in G and D
IMAGE_SIZES = (32, 64)
MAX_MARGIN = 100.0
MAX_LR = 1.0
MAX_THREADS = 1024
MAX_CLASSES = 1000


@dataclass
class DataConfig:
    source: str = "digits"
    root: str = ""
    name: str = ""  # torchvision dataset name
    download: bool = False
    image_size: int = 32
    channels: int = 1
    n_samples: int = 10000  # size of the embedded digits set


@dataclass
class ModelConfig:
    z_dim: int = 64
    g_width: int = 32
    g_upsample: str = "transposed"  # "nearest": resize + 3x3 conv instead of 4x4 transposed convs
    g_depth: int = 1  # convs per resolution in G: 2 adds a 3x3 conv + BatchNorm + ReLU after each doubling
    d_width: int = 32
    d_depth: int = 1  # convs per resolution in D: 2 adds a 3x3 stride-1 conv after each stride-2 one
    discriminator: str = "sn"  # "sn": no BatchNorm; "bn": the classic conv + BatchNorm hinge discriminator
    spectral_norm: bool = True
    classes: int = 0  # K > 0: class-conditional on labelled images (G gets a one-hot class after z, D projects it)
    mlp_hidden: int = 128
    mlp_depth: int = 3


@dataclass
class LossConfig:
    kind: str = "hinge"
    margin_real: float = 1.0
    margin_fake: float = 1.0


@dataclass
class OptimConfig:
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.0
    beta2: float = 0.9


@dataclass
class TrainConfig:
    steps: int = 5000
    batch_size: int = 64
    n_dis: int = 1
    seed: int = 0
    checkpoint_every: int = 1000
    autosave_minutes: float = 1.0  # also save last.pt this often, whatever the step count: a crash costs <= 1 min
    publish_every_s: float = 0.2
    samples_every_s: float = 2.0
    n_fixed: int = 64
    threads: int = 0  # CPU threads of the step; 0: as many as other processes leave free (core/threads.py)
    augment: str = "off"  # "translation": DiffAugment's random shifts of real and fake images before D
    g_ema: float = 0.0  # decay of an exponential moving average of G's weights, used for every sample; 0: off
    precision: str = "fp32"  # "bf16": forwards under bf16 autocast (spectral norm's power iteration stays fp32);
    # "auto": bf16 for image models on a CPU with bf16 instructions (core.engine.bf16_is_native), else fp32
    # (GPUs included: unmeasured there); the run's config.json records the choice
    compile: str = "off"  # torch.compile the models: a mode (default, reduce-overhead, max-autotune) or a backend
    channels_last: str = "auto"  # image models in channels_last memory format: auto (on CUDA), on, off
    cudnn_benchmark: bool = True  # CUDA: let cuDNN time its convolution algorithms and keep the fastest


@dataclass
class EvalConfig:
    every: int = 0  # steps between quality evaluations during training; 0: never
    n: int = 2000  # generated (and real) samples per evaluation
    inception: str = ""  # a local Inception-v3 weights file: FID features from it instead of the classifier


@dataclass
class HealthConfig:
    """Training-health detectors (core/health.py). Defaults measured on the presets (README, Health)."""

    enabled: bool = True
    window: int = 500  # steps a loss-based failure must last before it is called one
    overpower_inside: float = 0.02  # d_overpowers: at most this share of real and of fake inside their margins
    overpower_d_loss: float = 0.05  # ... with D's loss at most this
    diverge_ratio: float = 20.0  # diverging: mean |D score| beyond this many times the larger margin (or 1)
    diverge_window: int = 50  # ... over this many steps
    collapse_diversity: float = 0.5  # g_collapse: samples' spread in feature space below this share of the data's
    collapse_classes: float = 0.6  # ... or fewer than this share of the classes (2D: modes) present
    collapse_drop: float = 0.6  # ... and below this share of the best the run reached (not yet learned: no alert)
    stall_window: int = 2000  # stalled: steps over which nothing moves
    stall_loss_change: float = 0.01  # ... loss means move less than this between the window's halves
    stall_sample_change: float = 0.002  # ... and the fixed-z samples less than this (mean abs, data range 1)
    auto_rewind: int = 0  # rewind to the last checkpoint before an alert automatically, at most this often
    apply_suggestion: bool = False  # with auto_rewind: also apply the alert's suggested change


@dataclass
class Config:
    preset: str = "digits"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    health: HealthConfig = field(default_factory=HealthConfig)

    @property
    def is_2d(self) -> bool:
        return self.data.source in ("ring8", "grid25")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")


RECORD_ONLY = ("parent",)  # what config.json records about a run beside its settings (a fork's origin)
SECTIONS = {f.name: f for f in dataclasses.fields(Config) if f.name != "preset"}


def check_margin(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and 0.0 <= value <= MAX_MARGIN):
        raise ConfigError(f"{name} must be a finite number between 0 and {MAX_MARGIN:g}, got {value!r}")


def check_lr(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and 0.0 < value <= MAX_LR):
        raise ConfigError(f"{name} must be a finite number in (0, {MAX_LR:g}], got {value!r}")


def check_n_dis(value: int) -> None:
    if not (isinstance(value, int) and 1 <= value <= 100):
        raise ConfigError(f"train.n_dis must be an integer from 1 to 100, got {value!r}")


def check_threads(value: int, allow_auto: bool = False) -> None:
    low = 0 if allow_auto else 1
    if not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= MAX_THREADS):
        auto = "0 (follow the free cores) or " if allow_auto else ""
        raise ConfigError(f"threads must be {auto}an integer from 1 to {MAX_THREADS}, got {value!r}")


def check_compile(value: str) -> None:
    if value in ("off", *COMPILE_MODES):
        return
    from torch._dynamo import list_backends  # slow to import: only for a backend name

    backends = list_backends(exclude_tags=())
    if value not in backends:
        raise ConfigError(f"train.compile must be off, one of {', '.join(COMPILE_MODES)}, or a torch.compile "
                          f"backend ({', '.join(backends)}); got {value!r}")


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
    for name in ("publish_every_s", "samples_every_s", "autosave_minutes"):
        value = getattr(t, name)
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(f"train.{name} must be a positive number of seconds, got {value!r}")
    if not (math.isfinite(t.g_ema) and 0.0 <= t.g_ema < 1.0):
        raise ConfigError(f"train.g_ema must be 0 (off) or a decay in (0, 1), got {t.g_ema!r}")
    _choice("train.precision", t.precision, PRECISIONS)
    _choice("train.augment", t.augment, AUGMENTATIONS)
    if t.augment != "off" and cfg.is_2d:
        raise ConfigError("train.augment shifts images; the 2D presets have none (set it to off)")
    _choice("train.channels_last", t.channels_last, SWITCHES)
    check_compile(t.compile)
    if cfg.eval.every < 0:
        raise ConfigError(f"eval.every must be 0 (off) or a number of steps, got {cfg.eval.every}")
    if not 10 <= cfg.eval.n <= 50_000:
        raise ConfigError(f"eval.n must be from 10 to 50000 samples, got {cfg.eval.n}")
    if cfg.eval.inception and not Path(cfg.eval.inception).expanduser().is_file():
        raise ConfigError(f"eval.inception names no file: {cfg.eval.inception}")
    _validate_health(cfg.health)
    return cfg


def _validate_health(h: HealthConfig) -> None:
    for name in ("window", "diverge_window", "stall_window"):
        _positive(f"health.{name}", getattr(h, name))
    for name in ("overpower_inside", "collapse_diversity", "collapse_classes", "collapse_drop"):
        value = getattr(h, name)
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ConfigError(f"health.{name} must be a share from 0 to 1, got {value!r}")
    for name in ("overpower_d_loss", "diverge_ratio", "stall_loss_change", "stall_sample_change"):
        value = getattr(h, name)
        if not (math.isfinite(value) and value >= 0.0):
            raise ConfigError(f"health.{name} must be a finite number >= 0, got {value!r}")
    if h.auto_rewind < 0:
        raise ConfigError(f"health.auto_rewind must be 0 (off) or a number of rewinds, got {h.auto_rewind!r}")


def _coerce(key: str, text, kind):
    """Turn a TOML/JSON value or a command-line string into the field's type."""
    if kind == "bool":
        if isinstance(text, bool):
            return text
        lowered = str(text).strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key} expects true or false, got {text!r}")
    if kind == "int":
        if isinstance(text, bool):
            raise ConfigError(f"{key} expects an integer, got {text!r}")
        if isinstance(text, int):
            return text
        if isinstance(text, float) and text.is_integer():
            return int(text)
        try:
            return int(str(text).strip())
        except ValueError:
            raise ConfigError(f"{key} expects an integer, got {text!r}") from None
    if kind == "float":
        if isinstance(text, bool):
            raise ConfigError(f"{key} expects a number, got {text!r}")
        try:
            return float(text)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} expects a number, got {text!r}") from None
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ConfigError(f"{key} expects text, got {text!r}")
    return str(text)


def _field_kinds(section) -> dict[str, str]:
    return {f.name: f.type for f in dataclasses.fields(section)}


def valid_keys() -> list[str]:
    keys = []
    for name, f in SECTIONS.items():
        keys += [f"{name}.{k}" for k in _field_kinds(f.default_factory)]
    return keys


def set_value(cfg: Config, key: str, value) -> None:
    section_name, _, name = key.partition(".")
    section = getattr(cfg, section_name, None) if section_name in SECTIONS else None
    kinds = _field_kinds(type(section)) if section is not None else {}
    if name not in kinds:
        raise ConfigError(f"unknown setting {key!r}; valid keys: {', '.join(valid_keys())}")
    setattr(section, name, _coerce(key, value, kinds[name]))


def from_dict(raw: dict) -> Config:
    """Build a Config from nested dicts (a preset, config.json or a checkpoint); unknown keys are an error."""
    if not isinstance(raw, dict):
        raise ConfigError(f"a config must be a table of sections ({', '.join(SECTIONS)})")
    cfg = Config()
    for section_name, values in raw.items():
        if section_name == "preset":
            cfg.preset = str(values)
            continue
        if section_name in RECORD_ONLY:
            continue
        if section_name not in SECTIONS:
            raise ConfigError(f"unknown config section {section_name!r}; valid: {', '.join(SECTIONS)}")
        if not isinstance(values, dict):
            raise ConfigError(f"config section {section_name!r} must be a table")
        for name, value in values.items():
            set_value(cfg, f"{section_name}.{name}", value)
    return cfg


def apply_overrides(cfg: Config, overrides: list[str]) -> Config:
    for item in overrides or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        set_value(cfg, key.strip(), value.strip())
    return cfg


def presets_dir():
    return resources.files("hinge_assets") / "presets"


def preset_names() -> list[str]:
    return sorted(p.name[: -len(".toml")] for p in presets_dir().iterdir() if p.name.endswith(".toml"))


def preset_description(name: str) -> str:
    return _read_preset(name).get("description", "")


def _read_preset(name: str) -> dict:
    path = presets_dir() / f"{name}.toml"
    if not path.is_file():
        raise ConfigError(f"no preset named {name!r}; available: {', '.join(preset_names())}")
    return tomllib.loads(path.read_text())


def load_preset(name: str) -> Config:
    raw = _read_preset(name)
    raw.pop("description", None)
    cfg = from_dict(raw)
    cfg.preset = name
    return cfg


def load_file(path: str | Path) -> Config:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    if not path.is_file():
        raise ConfigError(f"config path is not a file: {path}")
    try:
        text = path.read_text()
        raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot parse config {path}: {exc}") from None
    if isinstance(raw, dict):
        raw.pop("description", None)
    return from_dict(raw)


def resolve(preset: str | None = None, config_file: str | None = None, overrides=(), base: Config | None = None) -> Config:
    """The config a command line asks for: a base (checkpoint), a file, or a preset, then --set overrides."""
    if base is not None:
        cfg = base
    elif config_file:
        cfg = load_file(config_file)
    else:
        cfg = load_preset(preset or "digits")
    return validate(apply_overrides(cfg, list(overrides)))
