"""Where a run's settings come from: a shipped preset, a config file, a checkpoint's record, and
`--set KEY=VALUE` on top; each value typed by its field (core.base.typed)."""
from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path

from core.base.errors import ConfigError
from core.base.typed import field_types, from_setting
from core.config.checks import validate
from core.config.schema import RECORD_ONLY, SECTIONS, Config


def valid_keys() -> list[str]:
    return [f"{name}.{key}" for name, f in SECTIONS.items() for key in field_types(f.default_factory)]


def set_value(cfg: Config, key: str, value) -> None:
    section_name, _, name = key.partition(".")
    section = getattr(cfg, section_name) if section_name in SECTIONS else None
    types = field_types(type(section)) if section is not None else {}
    if name not in types:
        raise ConfigError(f"unknown setting {key!r}; valid keys: {', '.join(valid_keys())}")
    setattr(section, name, from_setting(key, value, types[name]))


def from_dict(raw: dict) -> Config:
    """A Config from nested dicts (a preset, config.json or a checkpoint); unknown keys are an error."""
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


def assets_dir():
    """What the package ships beside the code (assets/hinge_assets): presets, classifiers."""
    return resources.files("hinge_assets")


def presets_dir():
    return assets_dir() / "presets"


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
