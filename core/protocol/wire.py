"""The remote channel's wire format: one JSON object a line, numpy arrays as their dtype, shape and bytes in
base64. Decoding builds only the types named here (nothing is unpickled, so the far end of a connection cannot
run code in this process), and the first line names the format's version, so that a newer end refuses an
older one in one line instead of misreading it.

    far end -> near end:  {"hello": "hinge-train", "version": 2, ...}, then {"telemetry": {...}},
                          {"answer": {"id", "applied" | "refused"}}, {"error": "..."},
                          {"file": {"id", "path", "folder", "files": {name: uint8 array}} | {"id", "path", "refused"}}
    near end -> far end:  {"command": {an inbox line}, "id": "..."}, {"fetch": "path in the run directory", "id": "..."}

Version 2 added fetching files (version 1 ends could not).
"""
from __future__ import annotations

import base64
import dataclasses
import json

import numpy as np

from core.protocol.telemetry import Samples, Scores, Settings, Telemetry

VERSION = 2
HELLO = "hinge-train"
DTYPES = {"uint8", "int64", "float32", "float64", "bool"}  # what an array on the wire may hold
TYPES = {cls.__name__: cls for cls in (Telemetry, Settings, Scores, Samples)}


class WireError(ValueError):
    """A line that is not this format (or not this version of it)."""


def _plain(value):
    if isinstance(value, np.ndarray):
        if str(value.dtype) not in DTYPES:
            value = value.astype(np.float64)
        data = base64.b64encode(np.ascontiguousarray(value).tobytes()).decode("ascii")
        return {"__array__": str(value.dtype), "shape": list(value.shape), "data": data}
    if dataclasses.is_dataclass(value) and type(value).__name__ in TYPES:
        return {"__type__": type(value).__name__,
                **{f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _typed(value):
    if isinstance(value, list):
        return [_typed(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        dtype = value["__array__"]
        if dtype not in DTYPES:
            raise WireError(f"an array of {dtype!r}: not one this format carries")
        try:
            raw = base64.b64decode(value["data"], validate=True)
            return np.frombuffer(raw, dtype=dtype).reshape(value["shape"]).copy()
        except (KeyError, TypeError, ValueError) as exc:
            raise WireError(f"a damaged array ({exc})") from None
    fields = {k: _typed(v) for k, v in value.items() if k != "__type__"}
    if "__type__" not in value:
        return fields
    cls = TYPES.get(value["__type__"])
    if cls is None:
        raise WireError(f"an object of type {value['__type__']!r}: not one this format carries")
    if cls is Telemetry:
        fields["events"], fields["quality"] = tuple(fields.get("events", ())), tuple(fields.get("quality", ()))
    try:
        return cls(**fields)
    except TypeError as exc:
        raise WireError(f"a {cls.__name__} this version cannot read ({exc})") from None


def encode(message: dict) -> bytes:
    """One line of the wire (newline-terminated)."""
    return (json.dumps(_plain(message), separators=(",", ":"), allow_nan=True) + "\n").encode()


def decode(line: bytes | str) -> dict:
    """One line back into a message; WireError for anything else."""
    try:
        raw = json.loads(line)
    except ValueError as exc:
        raise WireError(f"not a line of the wire format ({exc})") from None
    if not isinstance(raw, dict):
        raise WireError("a message is a JSON object")
    return _typed(raw)


def hello(**about) -> dict:
    return {"hello": HELLO, "version": VERSION, **about}


def check_hello(message: dict) -> None:
    """WireError unless the first line is this format's, at this version."""
    if message.get("hello") != HELLO:
        raise WireError(f"the far end did not answer as hinge-train does (its first line: {str(message)[:120]})")
    if message.get("version") != VERSION:
        raise WireError(f"the far end speaks version {message.get('version')} of the remote format and this one "
                        f"{VERSION}: install the same hinge-workbench version on both machines")
