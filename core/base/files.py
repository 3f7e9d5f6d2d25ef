"""Files written whole or not at all, and lines read as they are appended: the one way each is done."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

from core.base.errors import UserError


def cache_dir() -> Path:
    """Where work worth keeping between runs goes (trained classifiers, drawn digits): $HINGE_CACHE_DIR, else
    $XDG_CACHE_HOME or ~/.cache, /hinge-workbench."""
    if os.environ.get("HINGE_CACHE_DIR"):
        return Path(os.environ["HINGE_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hinge-workbench"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_file(path: str | Path, durable: bool = False) -> Iterator:
    """A binary file that replaces `path` only once it is written whole: readers (and a crash) see the old
    file or the new one, never half of one. durable=True also flushes it to the disk before the swap (and
    the folder after it), for what a power cut must not lose; a live view skips that cost."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; these are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the file itself is on disk
    finally:
        os.close(fd)


def write_atomically(path: str | Path, data: bytes | str, durable: bool = False) -> Path:
    with atomic_file(path, durable) as f:
        f.write(data.encode() if isinstance(data, str) else data)
    return Path(path)


class AppendedLines:
    """The whole lines appended to a file since the last read, with their line numbers. A line still being
    written (no newline yet) waits for its end; a file cut shorter or put in another's place is read again
    from its start."""

    def __init__(self, path: str | Path, from_end: bool = False):
        self.path = Path(path)
        self.offset = self.line_number = 0
        self.inode = None
        if from_end and self.path.exists():  # what is there already was meant for someone else
            data = self.path.read_bytes()
            self.offset, self.line_number = len(data), data.count(b"\n")

    def read(self) -> list[tuple[int, str]]:
        try:
            with open(self.path, "rb") as f:
                status = os.fstat(f.fileno())
                if status.st_size < self.offset:
                    self.restart()
                self.inode = self.inode or status.st_ino
                f.seek(self.offset)
                chunk = f.read()
        except OSError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        out = []
        for raw in chunk[:end].split(b"\n"):
            self.line_number += 1
            out.append((self.line_number, raw.decode("utf-8", "replace")))
        return out

    def lines(self) -> list[str]:
        return [text for _, text in self.read()]

    @property
    def replaced(self) -> bool:
        """Another file stands at the path (a rewind cut it) since reading began."""
        try:
            return self.inode is not None and os.stat(self.path).st_ino != self.inode
        except OSError:
            return False

    def restart(self) -> None:
        self.offset = self.line_number = 0
        self.inode = None


def json_objects(lines: Iterable[str], where: str | None = None) -> list[dict]:
    """The JSON objects among `lines`, blank lines skipped. A line that is not one (cut short by a crash)
    is skipped too, or, given `where` (a file's name for the message), refused with a UserError."""
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            item = None
        if isinstance(item, dict):
            out.append(item)
        elif where is not None:
            raise UserError(f"{where}:{number} is not a JSON object")
    return out


def read_jsonl(path: str | Path) -> list[dict]:
    """The JSON objects of a .jsonl file (none if it is missing), skipping a line a crash cut short."""
    try:
        text = Path(path).read_text()
    except OSError:
        return []
    return json_objects(text.splitlines())


def read_json(path: str | Path) -> dict | None:
    """A JSON object file, or None when it is missing or not one."""
    try:
        value = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
