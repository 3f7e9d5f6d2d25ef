"""A run another process trains, watched through its run directory (here, or on another machine over ssh:
core/storage/remote.py): the same interface as the Runner, so the window does not care who trains. Commands
go to commands.jsonl; closing leaves the run alone. A remote run's files come over the channel into a local
folder of this runner's, removed when it stops."""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from core.storage.follow import RunFollower
from core.storage.remote import RemoteFollower, remote_target

READ_EVERY_S = 0.25  # the writer refreshes live/ at most twice a second


class AttachedRunner:
    working = False  # nothing of ours to stop or wait for
    pid = None

    def __init__(self, run_dir: str, ssh: str = "ssh", remote_hinge_train: str = "hinge-train"):
        """run_dir: a folder, or [user@]host:RUN_DIR; UserError, in one line, for anything that is not a run."""
        target = remote_target(str(run_dir))
        self.follower = RunFollower(run_dir) if target is None else RemoteFollower(target, ssh, remote_hinge_train)
        self.run_dir = self.follower.run_dir
        self._next_read = 0.0
        self._copies: Path | None = None  # where a remote run's fetched files go
        self._fetches: dict = {}  # fetch id -> what to call once the file is here

    @property
    def remote(self) -> bool:
        """The run's files are on another machine."""
        return isinstance(self.follower, RemoteFollower)

    @property
    def connection(self) -> str:
        """"connected", or what a remote connection is doing instead (reconnecting, and why)."""
        return getattr(self.follower, "status", "connected")

    @property
    def alive(self) -> bool:
        """Commands can reach the run: its writer was seen lately."""
        return self.follower.live

    def poll(self) -> list:
        now = time.monotonic()
        if now < self._next_read:
            return []
        self._next_read = now + READ_EVERY_S
        telemetry = self.follower.poll()
        for ident in [i for i in self._fetches if i in self.follower.fetched]:
            got, then = self.follower.fetched.pop(ident), self._fetches.pop(ident)
            then(got, None) if isinstance(got, Path) else then(None, got)
        return [] if telemetry is None else [telemetry]

    def fetch(self, relative: str | Path, then) -> None:
        """A file or folder of the run directory as a path here: then(path, None) at once for a run on this
        machine, once it has come over the channel for a remote one; then(None, why) when it cannot be had."""
        if not self.remote:
            then(Path(self.run_dir) / relative, None)
            return
        if self._copies is None:
            self._copies = Path(tempfile.mkdtemp(prefix="hinge-remote-"))
        self._fetches[self.follower.fetch(str(relative), self._copies)] = then

    def send(self, command) -> None:
        self.follower.send(command)

    def request_stop(self) -> None:
        """Closing the window or starting another run leaves an attached run training."""

    def wait(self, seconds: float) -> None:
        pass

    def stop(self, timeout: float | None = None) -> None:
        getattr(self.follower, "close", lambda: None)()  # an ssh connection ends; the run goes on
        if self._copies is not None:
            shutil.rmtree(self._copies, ignore_errors=True)
