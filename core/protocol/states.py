"""The names a run's record uses, in one place: the states a session is in and the kinds of events it
writes. StrEnums: they compare equal to, and are written to JSON as, their plain strings."""
from enum import StrEnum


class RunState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"  # reached its step budget
    STOPPED = "stopped"  # asked to stop (or interrupted) before that
    DIVERGED = "diverged"  # a loss became NaN or Inf; paused for good


FINAL_STATES = (RunState.DONE, RunState.STOPPED, RunState.DIVERGED)


class SeenState(StrEnum):
    """What a viewer (the window, the Runs dock) says of a run besides the state its session reports."""

    STARTING = "starting"  # the engine has not reported yet
    FAILED = "failed"  # the engine process ended without finishing
    FINISHED = "finished"  # a run directory without a live heartbeat: it ended before live state was written
    NOT_SEEN = "not seen"  # the heartbeat says it trains, but its writer has been silent for a while


class EventKind(StrEnum):
    """events.jsonl kinds besides the commands' own (core/protocol/commands.py: each command class's `kind`)."""

    REJECTED = "rejected"  # a command refused, with its reason
    DIVERGED = "diverged"
    ERROR = "error"  # a write failed (a full disk); the run paused or stopped
    RESUMED = "resumed"  # continued from a checkpoint of this run directory
    FORKED = "forked"  # started from a checkpoint of another run (config.json names the parent)
    ALERT = "alert"  # a health detector found a failure (core/health)
    ALERT_CLEARED = "alert_cleared"
    TRACKER_FAILED = "tracker_failed"  # a tracker (log.*) raised and was dropped; training went on
    RANKS_COMPARED = "ranks_compared"  # at the end of a run in several processes: do their weights agree?
