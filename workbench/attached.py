"""A run another process trains, watched through its run directory (here, or on another machine over ssh:
core/storage/remote.py): the same interface as the Runner, so the window does not care who trains. Commands
go to commands.jsonl; closing leaves the run alone."""
from __future__ import annotations

import time

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
        return [] if telemetry is None else [telemetry]

    def send(self, command) -> None:
        self.follower.send(command)

    def request_stop(self) -> None:
        """Closing the window or starting another run leaves an attached run training."""

    def wait(self, seconds: float) -> None:
        pass

    def stop(self, timeout: float | None = None) -> None:
        getattr(self.follower, "close", lambda: None)()  # an ssh connection ends; the run goes on
