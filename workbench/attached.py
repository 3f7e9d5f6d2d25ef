"""A run another process trains, watched through its run directory: the same interface as the Runner,
so the window does not care who trains. Commands go to commands.jsonl; closing leaves the run alone."""
from __future__ import annotations

import time

from core.storage.follow import RunFollower

READ_EVERY_S = 0.25  # the writer refreshes live/ at most twice a second


class AttachedRunner:
    working = False  # nothing of ours to stop or wait for
    pid = None

    def __init__(self, run_dir):
        self.follower = RunFollower(run_dir)  # UserError for a folder that is no run directory
        self.run_dir = self.follower.run_dir
        self._next_read = 0.0

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
        pass
