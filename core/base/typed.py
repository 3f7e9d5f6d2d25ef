"""Values given to a dataclass field, made into the field's type: settings from a command line or a
config file (lenient: "0.5" is a number, "off" is false), and command fields from a JSON line (strict:
JSON's own types). The types come from the fields' annotations."""
from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing

from core.base.errors import ConfigError, UserError

_TEXT_TRUE, _TEXT_FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@functools.cache
def field_types(cls) -> dict[str, object]:
    """{field name: annotation} of a dataclass, resolved (postponed annotations are only strings)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _options(annotation) -> tuple:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return typing.get_args(annotation)
    return (annotation,)


def type_name(annotation) -> str:
    """bool, int, float, str, or 'float or null' for an optional field."""
    names = [t.__name__ for t in _options(annotation) if t is not type(None)]
    return " or ".join(names + (["null"] if type(None) in _options(annotation) else []))


def from_json(name: str, value, annotation):
    """A JSON value for a field: it must already have the field's type (true is no number, 1 is no text);
    an int is a float; null only where the field allows None. UserError saying which field and why."""
    options = _options(annotation)
    if value is None and type(None) in options:
        return None
    kind = next(t for t in options if t is not type(None))
    if isinstance(value, bool):
        fits = kind is bool
    elif kind is float:
        fits = isinstance(value, (int, float))
    else:
        fits = isinstance(value, kind) and kind is not bool
    if not fits:
        raise UserError(f"{name} must be {type_name(annotation)}, got {json.dumps(value)}")
    return float(value) if kind is float else value


def from_setting(name: str, value, annotation):
    """A setting from a command line (text) or a config file (TOML/JSON values) in the field's type."""
    kind = next(t for t in _options(annotation) if t is not type(None))
    if kind is bool:
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in _TEXT_TRUE or lowered in _TEXT_FALSE:
            return lowered in _TEXT_TRUE
        raise ConfigError(f"{name} expects true or false, got {value!r}")
    if kind is int:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if not isinstance(value, bool):
            try:
                return value if isinstance(value, int) else int(str(value).strip())
            except ValueError:
                pass
        raise ConfigError(f"{name} expects an integer, got {value!r}")
    if kind is float:
        if not isinstance(value, bool):
            try:
                return float(value)
            except (TypeError, ValueError):
                pass
        raise ConfigError(f"{name} expects a number, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConfigError(f"{name} expects text, got {value!r}")
    return str(value)
