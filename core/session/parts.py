"""The protocol between a session and its parts: each concern (checkpoints, evaluation, health, threads,
publishing) is a small object the loop calls at named moments, as Ignite's event handlers and Lightning's
callbacks are. Each part is handed what it uses when it is made; every hook is optional; the session calls
them in the order its parts are listed."""
from __future__ import annotations


class Part:
    def on_start(self) -> None:
        """Before the first step of this session."""

    def after_steps(self) -> None:
        """At the step boundary after the steps of a control point (one step, in one process)."""

    def on_finish(self) -> None:
        """The run reached its step budget."""

    def on_publish(self, published) -> None:
        """What a publishing interval drained (core.session.publishing.Published), before it is sent."""

    def on_rewind(self, step: int) -> None:
        """The run went back to the checkpoint of `step`; what came after is abandoned."""

    def on_close(self) -> None:
        """The session ends."""


class TrainingTime:
    """Seconds spent training (not paused) over the whole run, resumes included: what a checkpoint keeps and
    every score and ETA is measured in."""

    def __init__(self, seconds: float = 0.0):
        self.seconds = seconds
