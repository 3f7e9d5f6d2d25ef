"""Run control: the state a session is in and how many steps it may take, as a state machine of its own.
It knows nothing of training, so it is tested without a Trainer.

    running --pause--> paused --resume--> running          step N: N more steps, then paused
    running/paused --max_steps reached--> done --resume--> running (no step limit)
    any --NaN loss--> diverged (a rewind brings it back, paused)
    any --stop--> stopping; closed as stopped (or done / diverged, as it was)
"""
from __future__ import annotations

from core.base.errors import UserError
from core.protocol.states import RunState


class RunControl:
    def __init__(self, max_steps: int | None = None, paused: bool = False, wait_when_done: bool = False):
        self.state = RunState.PAUSED if paused else RunState.RUNNING
        self.max_steps = max_steps  # the step the run is done at (None: until stopped)
        self.wait_when_done = wait_when_done  # a window waits at the end; headless, a finished run ends
        self.step_budget = 0  # steps still to take for Step N while paused or done
        self.stopping = False
        self.message = ""  # why the run is not training, when something went wrong
        self.diverged_at: int | None = None

    def should_step(self) -> bool:
        stepping = self.step_budget > 0 and self.state in (RunState.PAUSED, RunState.DONE)
        return not self.stopping and (self.state == RunState.RUNNING or stepping)

    def reached(self, step: int) -> bool:
        """The step budget of the run is reached now, and the run has not yet been declared done."""
        return (self.max_steps is not None and step >= self.max_steps
                and self.state in (RunState.RUNNING, RunState.PAUSED))

    def finish(self) -> None:
        self.state = RunState.DONE
        self.step_budget = 0
        self.stopping = self.stopping or not self.wait_when_done

    def took(self, steps: int) -> bool:
        """`steps` were trained; True when they used up a Step N budget (the run now waits, paused)."""
        if not self.step_budget:
            return False
        self.step_budget -= steps
        return self.step_budget == 0

    # --- commands ----------------------------------------------------------------------------

    def pause(self) -> None:
        if self.state == RunState.RUNNING:
            self.state = RunState.PAUSED
        self.step_budget = 0

    def resume(self) -> None:
        self._refuse_if_diverged()
        if self.state == RunState.DONE:
            self.max_steps = None
        self.state = RunState.RUNNING

    def step(self, n) -> dict | None:
        """Train n more steps, then wait paused; echoes {"paused": True} when it paused a running run."""
        self._refuse_if_diverged()
        if not (isinstance(n, int) and not isinstance(n, bool) and n >= 1):
            raise UserError(f"step count must be a positive integer, got {n!r}")
        was_running = self.state == RunState.RUNNING
        if was_running:
            self.state = RunState.PAUSED
        self.step_budget += n
        return {"paused": True} if was_running else None

    def stop(self) -> None:
        self.stopping = True

    def _refuse_if_diverged(self) -> None:
        if self.state == RunState.DIVERGED:
            raise UserError(f"the run diverged at step {self.diverged_at}; resume from a checkpoint instead")

    # --- what happens to the run -------------------------------------------------------------

    def diverge(self, step: int) -> None:
        self.state, self.diverged_at, self.step_budget = RunState.DIVERGED, step, 0
        self.message = f"Diverged: the loss became NaN or Inf at step {step}. Paused; resume from a checkpoint."

    def rewound(self) -> None:
        """Back before a divergence: paused, for the user to resume."""
        if self.state == RunState.DIVERGED:
            self.state, self.message, self.diverged_at = RunState.PAUSED, "", None

    def write_failed(self, message: str) -> None:
        """The run directory cannot be written (a full disk): a window pauses and waits, headless stops."""
        self.message = message
        if not self.wait_when_done:
            self.stopping = True
        elif self.state == RunState.RUNNING:
            self.state = RunState.PAUSED

    def close(self) -> RunState:
        if self.state not in (RunState.DIVERGED, RunState.DONE):
            self.state = RunState.STOPPED
        return self.state
