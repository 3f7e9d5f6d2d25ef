"""`hinge-train serve RUN_DIR`: the far end of a remote channel. The near end (the window, `hinge-train watch`
or `steer` on another machine) runs it over ssh; its standard output carries the run's telemetry, its
standard input the commands (core/protocol/wire.py). It only reads the run directory and appends to its
inbox, so it needs no torch and starts in a fraction of a second. It listens on no port.

A write blocks while the link is slow: the run's rows wait in its files meanwhile and go out together with
the next telemetry, and a sample grid is sent only as the newest one, so nothing queues up behind a slow link.
"""
from __future__ import annotations

import dataclasses
import json
import queue
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np

from core.base.errors import UserError
from core.base.files import json_objects
from core.protocol import wire
from core.storage.follow import RunFollower
from core.storage.inbox import append_command, parse_command
from core.storage.layout import RunLayout

POLL_S = 0.25
FETCH_LIMIT = 256 * 2**20  # one fetched file or folder, in bytes: a line of the wire holds it whole


def cmd_serve(args) -> int:
    return serve(args.run_dir, sys.stdin.buffer, sys.stdout.buffer, args.after_step, args.after_time)


def serve(run_dir: str, stdin, stdout, after_step: int = -1, after_time: float = 0.0) -> int:
    """Follow the run, sending what is new after (after_step, after_time) first: a reconnecting near end has
    seen the rest. Ends when the near end closes the channel."""
    def write(message: dict) -> None:
        stdout.write(wire.encode(message))
        stdout.flush()

    try:
        try:
            follower = RunFollower(Path(run_dir).expanduser())
        except UserError as exc:
            write({"error": str(exc)})
            return 2
        write(wire.hello(run_dir=str(follower.run_dir.resolve()), host=socket.gethostname(), config=follower.config))
        commands: queue.Queue = queue.Queue()
        threading.Thread(target=_read_lines, args=(stdin, commands), daemon=True).start()
        inbox = Inbox(follower.run_dir)
        while True:
            while not commands.empty():
                line = commands.get()
                if line is None:
                    return 0
                try:
                    message = wire.decode(line)
                except wire.WireError as exc:
                    write({"answer": {"id": None, "refused": f"not a command line: {exc}"}})
                    continue
                if "fetch" in message:
                    write({"file": run_file(follower.run_dir, message)})
                elif answer := inbox.deliver(message):
                    write({"answer": answer})
            telemetry = follower.poll()
            if telemetry is not None:
                write({"telemetry": _after(telemetry, after_step, after_time)})
                after_step, after_time = -1, 0.0
            time.sleep(POLL_S)
    except (BrokenPipeError, ConnectionResetError):
        return 0


def _after(telemetry, step: int, wall_time: float):
    """The telemetry less the rows, events and scores a reconnecting near end has had."""
    if step < 0:
        return telemetry
    keep = telemetry.steps > step
    return dataclasses.replace(
        telemetry, steps=telemetry.steps[keep], scalars={k: v[keep] for k, v in telemetry.scalars.items()},
        events=tuple(e for e in telemetry.events if e.get("wall_time", 0.0) > wall_time),
        quality=tuple(q for q in telemetry.quality if q.get("step", 0) > step))


def _read_lines(stdin, commands: queue.Queue) -> None:
    for line in stdin:
        if line.strip():
            commands.put(line)
    commands.put(None)


class Inbox:
    """Commands from the near end into the run's commands.jsonl, checked as the run would check them, each once:
    a command resent after a reconnect with an id already in the inbox is not appended again."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir

    def delivered(self) -> set:
        """The ids in the inbox now (another far end, before a reconnect, may have appended one)."""
        return {line.get("id") for line in json_objects(_lines(RunLayout(self.run_dir).commands))}

    def deliver(self, message: dict) -> dict | None:
        """Append the command; an answer for the near end when it is refused here (None: the run answers)."""
        try:
            command, ident = message["command"], str(message["id"])
            if ident in self.delivered():
                return None
            parse_command(json.dumps({**command, "id": ident}), self.run_dir)
        except (KeyError, TypeError) as exc:
            return {"id": None, "refused": f"not a command line: {exc}"}
        except UserError as exc:
            return {"id": ident, "refused": str(exc)}
        append_command(self.run_dir, {**command, "id": ident})
        return None


def run_file(run_dir: Path, request: dict) -> dict:
    """A file of the run directory, or the files directly inside one of its folders, for the near end as
    {name: bytes}; refused for a path outside the run directory, a missing one, or more than FETCH_LIMIT bytes."""
    relative = str(request.get("fetch", ""))
    answer = {"id": request.get("id"), "path": relative}
    root = run_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        return {**answer, "refused": f"{relative}: not inside the run directory"}
    try:
        files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
        size = sum(p.stat().st_size for p in files)
        if size > FETCH_LIMIT:
            return {**answer, "refused": f"{relative}: {size / 2**20:.0f} MiB, more than the channel carries "
                                         f"({FETCH_LIMIT / 2**20:.0f} MiB); copy it with scp"}
        contents = {p.name: np.frombuffer(p.read_bytes(), np.uint8) for p in files}
    except OSError as exc:
        return {**answer, "refused": f"{relative}: {exc.strerror or exc}"}
    return {**answer, "folder": path.is_dir(), "files": contents}


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return []
