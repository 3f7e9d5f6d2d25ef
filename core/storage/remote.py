"""A run on another machine, followed over one ssh connection that runs `hinge-train serve RUN_DIR` there
(core/tools/serve.py): the same poll() and send() as RunFollower, so the window, `hinge-train watch` and
`steer` treat a remote run as a local one. ssh does the authentication and the encryption and reads
~/.ssh/config, agents and jump hosts as it always does; nothing listens on a port.

A dropped connection is opened again by itself, waiting 1, 2, 4, 8 s and then 10 s between tries; the far end
then sends only what came after the last step and event seen here, and a command not yet answered is sent
again with its id, which the far end appends to the run's inbox only once; a file asked for and not yet come is
asked for again.
"""
from __future__ import annotations

import dataclasses
import queue
import re
import shlex
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.base.errors import UserError
from core.protocol import commands as C
from core.protocol import wire
from core.protocol.states import FINAL_STATES, SeenState
from core.protocol.telemetry import Telemetry

BACKOFF_S = (1, 2, 4, 8, 10)
CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class RemoteTarget:
    host: str  # [user@]host, as ssh takes it
    run_dir: str  # on that machine

    def __str__(self) -> str:
        return f"{self.host}:{self.run_dir}"


def remote_target(text: str) -> RemoteTarget | None:
    """scp's rule: [user@]host:PATH when a colon comes before any slash; anything else is a local path."""
    match = re.fullmatch(r"([^/:]+):(.*)", text)
    if match is None:
        return None
    if not match.group(2):
        raise UserError(f"{text}: give the run directory after the colon ([user@]host:RUN_DIR)")
    return RemoteTarget(match.group(1), match.group(2))


def serve_command(target: RemoteTarget, ssh: str = "ssh", remote_hinge_train: str = "hinge-train",
                  after_step: int = -1, after_time: float = 0.0) -> list[str]:
    """The ssh command line that runs the far end: BatchMode (a password prompt would hang the channel; keys
    and agents work) and keep-alives, so a dead link is noticed within about 30 s."""
    remote = ["serve", target.run_dir]
    if after_step >= 0:
        remote += ["--after-step", str(after_step), "--after-time", repr(after_time)]
    command = f"{remote_hinge_train} {' '.join(shlex.quote(part) for part in remote)}"  # as rsync's --rsync-path: the
    # remote shell reads remote_hinge_train (~ and $HOME work there)
    return [*shlex.split(ssh), "-o", "BatchMode=yes", "-o", "ConnectTimeout=8", "-o", "ServerAliveInterval=10",
            "-o", "ServerAliveCountMax=3", "-T", target.host, "--", command]


def merged(messages: list[Telemetry]) -> Telemetry:
    """Several telemetry messages as one: every row, event and score; the newest of the rest."""
    last = messages[-1]
    if len(messages) == 1:
        return last
    scores = messages[0].scores
    for t in messages[1:]:
        scores = scores + t.scores
    names = last.scalars.keys() if len(last.steps) else next((t.scalars.keys() for t in messages if len(t.steps)), ())
    return dataclasses.replace(
        last, steps=np.concatenate([t.steps for t in messages]),
        scalars={n: np.concatenate([t.scalars[n] for t in messages if len(t.steps)]) for n in names},
        scores=scores, samples=next((t.samples for t in reversed(messages) if t.samples is not None), None),
        events=tuple(e for t in messages for e in t.events), quality=tuple(q for t in messages for q in t.quality))


class RemoteFollower:
    def __init__(self, target: RemoteTarget, ssh: str = "ssh", remote_hinge_train: str = "hinge-train"):
        self.target, self.ssh, self.remote_hinge_train = target, ssh, remote_hinge_train
        self.run_dir = target  # what the window names the run by
        self.config: dict = {}
        self.status = "connecting"
        self.answers: dict[str, dict] = {}  # command id -> the event that applied or refused it
        self._pending: dict[str, dict] = {}  # command id -> command, until answered
        self.fetched: dict[str, Path | str] = {}  # fetch id -> the local copy, or why there is none
        self._fetching: dict[str, tuple[str, Path]] = {}  # fetch id -> (path there, folder here), until it came
        self._messages: queue.Queue = queue.Queue()
        self._process: subprocess.Popen | None = None
        self._seen_step, self._seen_time, self._tries, self._next_try, self._opened = -1, 0.0, 0, 0.0, 0.0
        self._last: Telemetry | None = None
        self.connect()

    # --- the connection ----------------------------------------------------------------------

    def connect(self) -> None:
        """Open the channel and wait for the far end's first line; UserError in one line if it cannot be."""
        self._open()
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while self.status == "connecting" and time.monotonic() < deadline:
            self._greeted(block=0.05)
        if self.status != "connected":
            self.close()
            raise UserError(self.status.removeprefix("reconnecting: ") if self.status != "connecting"
                            else f"{self.target.host}: no answer within {CONNECT_TIMEOUT_S:.0f} s")

    def _open(self) -> None:
        self._process = subprocess.Popen(
            serve_command(self.target, self.ssh, self.remote_hinge_train, self._seen_step, self._seen_time),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self._messages = queue.Queue()
        threading.Thread(target=self._read, args=(self._process, self._messages), daemon=True).start()
        self.status, self._opened = "connecting", time.monotonic()

    def _greeted(self, block: float = 0.0) -> None:
        """Read the far end's first line, if it came: connected (and the unanswered commands sent again), or why
        not. Never waits longer than `block`."""
        try:
            first = self._messages.get(timeout=block) if block else self._messages.get_nowait()
        except queue.Empty:
            if time.monotonic() - self._opened > CONNECT_TIMEOUT_S:
                self.close()
                self.status = f"reconnecting: {self.target.host}: no answer within {CONNECT_TIMEOUT_S:.0f} s"
            return
        try:
            if first is None or "error" in first:
                raise UserError(f"{self.target}: {first['error']}" if first else self._why_closed())
            wire.check_hello(first)
        except (UserError, wire.WireError) as exc:
            self.close()
            self.status = f"reconnecting: {exc}"
            return
        self.config = first.get("config", {})
        self.status, self._tries = "connected", 0
        for ident, command in list(self._pending.items()):
            self._write({"command": command, "id": ident})
        for ident, (relative, _) in list(self._fetching.items()):
            self._write({"fetch": relative, "id": ident})

    def _read(self, process: subprocess.Popen, lines: queue.Queue) -> None:
        for line in process.stdout:
            try:
                lines.put(wire.decode(line))
            except wire.WireError as exc:
                lines.put({"error": f"{self.target.host}: {exc}"})
                break
        lines.put(None)

    def _why_closed(self) -> str:
        """The one line that says why ssh (or the far end) ended: ssh's last words, or its exit status."""
        process = self._process
        try:
            process.wait(timeout=5)
            said = process.stderr.read().decode(errors="replace").strip().splitlines()
        except (subprocess.TimeoutExpired, ValueError, OSError):
            said = []
        last = said[-1] if said else f"ssh ended with status {process.returncode}"
        if process.returncode == 127 or "not found" in last:
            last += " (is hinge-train installed there? --remote-hinge-train PATH names it)"
        return f"{self.target}: {last}"

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _write(self, message: dict) -> None:
        try:
            self._process.stdin.write(wire.encode(message))
            self._process.stdin.flush()
        except (OSError, ValueError, AttributeError):
            pass  # the connection is down: the command waits in _pending for the next one

    def _reconnect(self) -> None:
        """Never blocks: a connection is opened at the next try's time and greeted at a later poll."""
        if self.status == "connecting":
            self._greeted()
            return
        now = time.monotonic()
        if now < self._next_try:
            return
        self._tries += 1
        self._next_try = now + BACKOFF_S[min(self._tries - 1, len(BACKOFF_S) - 1)]
        try:
            self._open()
        except OSError as exc:
            self.status = f"reconnecting: {exc}"

    # --- what RunFollower does ---------------------------------------------------------------

    @property
    def live(self) -> bool:
        return self.status == "connected" and self._last is not None and self._last.steps_per_s > 0

    @property
    def finished(self) -> bool:
        return self._last is not None and self._last.state in (*FINAL_STATES, SeenState.FAILED)

    def send(self, command) -> str:
        """Deliver a command; its id, to find its answer in `answers`."""
        ident = uuid.uuid4().hex[:16]
        self._pending[ident] = C.to_event(command) if dataclasses.is_dataclass(command) else dict(command)
        self._write({"command": self._pending[ident], "id": ident})
        return ident

    def fetch(self, relative: str, into: Path) -> str:
        """Ask for a file (or a folder's files) of the run directory, to be copied to into/relative; its id, to
        find in `fetched` the local path once it has come (or why it could not)."""
        ident = uuid.uuid4().hex[:16]
        self._fetching[ident] = (relative, into)
        self._write({"fetch": relative, "id": ident})
        return ident

    def _arrived(self, answer: dict) -> None:
        ident = answer.get("id")
        if ident not in self._fetching:
            return
        relative, into = self._fetching.pop(ident)
        if "refused" in answer:
            self.fetched[ident] = f"{self.target.host}: {answer['refused']}"
            return
        local = into / relative
        folder = local if answer.get("folder") else local.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for name, data in answer.get("files", {}).items():
                (folder / Path(name).name).write_bytes(np.asarray(data, np.uint8).tobytes())
        except OSError as exc:
            self.fetched[ident] = f"{local}: {exc.strerror or exc}"
            return
        self.fetched[ident] = local

    def poll(self) -> Telemetry | None:
        """What came since the last poll, as one Telemetry (None: nothing new)."""
        if self.status != "connected":
            self._reconnect()
            if self.status != "connected":
                return None
        messages = []
        while True:
            try:
                message = self._messages.get_nowait()
            except queue.Empty:
                break
            if message is None:
                self.close()
                self.status = f"reconnecting: the connection to {self.target.host} closed"
                break
            if "answer" in message:
                self._answered(message["answer"])
            elif "file" in message:
                self._arrived(message["file"])
            elif "telemetry" in message:
                messages.append(message["telemetry"])
        if not messages:
            return None
        telemetry = merged(messages)
        for event in telemetry.events:
            if event.get("id") in self._pending:
                self._answered({**event, "id": event["id"]})
        if len(telemetry.steps):
            self._seen_step = int(telemetry.steps[-1])
        if telemetry.events:
            self._seen_time = max(self._seen_time, *(e.get("wall_time", 0.0) for e in telemetry.events))
        self._last = telemetry
        return telemetry

    def _answered(self, answer: dict) -> None:
        ident = answer.get("id")
        self._pending.pop(ident, None)
        if ident:
            self.answers[ident] = answer


def start_remote_run(host: str, train_args: list[str], run_dir: str, ssh: str = "ssh",
                     remote_hinge_train: str = "hinge-train", wait_s: float = 60.0) -> RemoteTarget:
    """Start `hinge-train train TRAIN_ARGS --run-dir RUN_DIR` on host, detached from the connection (it trains on
    when the laptop sleeps or the window closes; its output goes to RUN_DIR.log there), and wait until it has
    written its run directory. UserError in one line when it cannot start, with the run's own words."""
    words = " ".join(shlex.quote(arg) for arg in [*train_args, "--run-dir", run_dir])
    folder, log = shlex.quote(run_dir), shlex.quote(f"{run_dir}.log")
    script = (f"mkdir -p {folder} && (setsid nohup {remote_hinge_train} train {words} > {log} 2>&1 < /dev/null &) "
              f"&& echo started")
    target = RemoteTarget(host, run_dir)
    said = _ssh(host, script, ssh)
    if said.returncode != 0 or "started" not in said.stdout:
        raise UserError(f"{host}: {(said.stderr.strip().splitlines() or ['the run would not start'])[-1]}")
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        check = _ssh(host, f"test -f {folder}/config.json && echo ready || tail -n 3 {log}", ssh)
        if "ready" in check.stdout:
            return target
        failed = [line for line in check.stdout.splitlines() if "error" in line.lower()]
        if failed:
            raise UserError(f"{host}: {failed[-1].strip()}")
        time.sleep(1.0)
    raise UserError(f"{target}: no run directory after {wait_s:.0f} s (its output: {run_dir}.log there)")


def _ssh(host: str, script: str, ssh: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([*shlex.split(ssh), "-o", "BatchMode=yes", "-o", "ConnectTimeout=8", "-T", host, "--",
                               script], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise UserError(f"{host}: no answer within 30 s") from None
