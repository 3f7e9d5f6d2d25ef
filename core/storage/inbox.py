"""The run directory's inbox: commands.jsonl. Anyone who can write the run directory appends one JSON
object per line, in the form of an events.jsonl line without step and wall_time:

    {"kind": "set_margins", "margin_real": 0.5, "margin_fake": 0.7}
    {"kind": "pause"}

The session reads whole new lines at its publishing interval and applies them at the next step
boundary, like the window's commands. A line that is not a command becomes a refusal with its reason;
paths (save, export) are confined to the run directory. A line may carry an "id" (up to 64 letters, digits,
'-' or '_'): the event that applies or refuses it repeats the id, so a sender can tell its own answer.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

from core.base.errors import UserError
from core.base.files import AppendedLines
from core.base.typed import field_types, from_json
from core.protocol import commands as C
from core.storage.layout import RunLayout

MAX_LINE = 10_000  # bytes; a longer line is refused unread
PATH_FIELDS = ("path",)
COMMAND_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def confine(path: str, run_dir: Path) -> str:
    """`path` resolved inside run_dir (relative paths are relative to it); UserError if it leads outside."""
    if not isinstance(path, str) or not path or "\x00" in path:
        raise UserError(f"a path must be a non-empty string, got {path!r}")
    root = run_dir.resolve()
    target = (root / path).resolve()
    if target != root and root not in target.parents:
        raise UserError(f"path {path!r} leads outside the run directory; use a path inside {root}")
    return str(target)


def parse_command(line: str, run_dir: Path):
    """One inbox line -> a command, or UserError saying why it is not one."""
    try:
        raw = json.loads(line)
    except ValueError as exc:
        raise UserError(f"not a JSON line ({exc.msg})") from None
    if not isinstance(raw, dict):
        raise UserError("a command is a JSON object with a 'kind'")
    kind = raw.get("kind")
    cls = C.BY_KIND.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise UserError(f"unknown command kind {kind!r}; known: {', '.join(C.BY_KIND)}")
    types = field_types(cls)
    if "id" in raw and not (isinstance(raw["id"], str) and COMMAND_ID.fullmatch(raw["id"])):
        raise UserError(f"a command's id must be 1 to 64 letters, digits, '-' or '_', got {raw['id']!r}")
    extra = set(raw) - set(types) - {"kind", "id"}
    if extra:
        raise UserError(f"{kind} takes {', '.join(sorted(types)) or 'no fields'}; unknown: {', '.join(sorted(extra))}")
    values = {k: from_json(f"{kind}: {k}", v, types[k]) for k, v in raw.items() if k not in ("kind", "id")}
    for name in PATH_FIELDS:
        if values.get(name) is not None:
            values[name] = confine(values[name], run_dir)
    try:
        return cls(**values)
    except TypeError as exc:
        raise UserError(f"{kind}: {exc}") from None


class CommandFile:
    """Reads the lines appended to RUN_DIR/commands.jsonl since it was opened (earlier lines were meant
    for earlier sessions). A line still being written (no newline yet) waits for its end."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self._lines = AppendedLines(RunLayout(self.run_dir).commands, from_end=True)

    def read(self) -> list[tuple[int, object, str | None]]:
        """[(line number, command or UserError, the line's id or None)] for each whole new line."""
        out = []
        for number, line in self._lines.read():
            if not line.strip():
                continue
            if len(line.encode()) > MAX_LINE:
                out.append((number, UserError(f"line longer than {MAX_LINE} bytes"), None))
                continue
            try:
                out.append((number, parse_command(line, self.run_dir), _line_id(line)))
            except UserError as exc:
                out.append((number, exc, _line_id(line)))
        return out


def _line_id(line: str) -> str | None:
    """A line's "id", if it has a well-formed one."""
    try:
        ident = json.loads(line).get("id")
    except (ValueError, AttributeError):
        return None
    return ident if isinstance(ident, str) and COMMAND_ID.fullmatch(ident) else None


def append_command(run_dir: str | Path, command) -> None:
    """Append a command (an object from core.protocol.commands, or a dict) to RUN_DIR/commands.jsonl as one line.
    One write of a line shorter than the pipe buffer: concurrent writers do not interleave."""
    payload = C.to_event(command) if dataclasses.is_dataclass(command) else dict(command)
    line = (json.dumps(payload) + "\n").encode()
    fd = os.open(RunLayout(run_dir).commands, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
