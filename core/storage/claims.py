"""Claiming a piece of shared work by an atomic lock file, so that any number of workers on any machines that
see one folder share it without a coordinator. A claim names its holder (host, pid); one whose holder is gone
(a killed process on this host, or a heartbeat silent for longer than STALE_AFTER_S) can be taken over."""
from __future__ import annotations

import json
import os
import socket
import time
import uuid
from pathlib import Path

STALE_AFTER_S = 120.0  # nothing heard from a claim's holder or its work for this long: it is gone
FRESH_S = 15.0  # a heartbeat younger than this: the work is going on, whoever holds the claim


def _holder() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid(), "since": round(time.time(), 3)}


def claim(path: Path) -> bool:
    """Create the lock file at `path` if nobody holds it. The holder is written to a file of its own first and
    hard-linked into place (a link fails where the name exists: of two workers, exactly one succeeds), so a
    lock is never seen empty or half written."""
    draft = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.draft")
    draft.write_text(json.dumps(_holder()))
    try:
        os.link(draft, path)
    except FileExistsError:
        return False
    finally:
        draft.unlink(missing_ok=True)
    return True


def release(path: Path) -> None:
    path.unlink(missing_ok=True)


def holder(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(path: Path, last_sign_of_life: float | None) -> bool:
    """The holder is gone and its work stopped: no heartbeat of the work within FRESH_S, and the holder a
    process of this host that no longer runs, or nothing heard from either for STALE_AFTER_S.
    last_sign_of_life: the wall time of the work's latest heartbeat, if any."""
    now = time.time()
    if last_sign_of_life is not None and now - last_sign_of_life < FRESH_S:
        return False
    held = holder(path)
    if held is None:  # unreadable (claims are never written in place): judged by its age alone
        try:
            return now - max(path.stat().st_mtime, last_sign_of_life or 0.0) > STALE_AFTER_S
        except FileNotFoundError:
            return False
    if held.get("host") == socket.gethostname() and not _alive(int(held.get("pid", -1))):
        return True
    return now - max(float(held.get("since", 0)), last_sign_of_life or 0.0) > STALE_AFTER_S


def take_over(path: Path) -> bool:
    """Move a stale claim aside (rename is atomic: of two workers, one moves it) and claim anew."""
    try:
        os.rename(path, path.with_name(f"{path.name}.stale-{uuid.uuid4().hex[:8]}"))
    except FileNotFoundError:
        return False
    return claim(path)
