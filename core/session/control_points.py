"""Control points: the step boundaries where a session looks at its commands and decides what comes next.
In one process every step is one. In a run of several processes rank 0's session decides everything there
(commands, pauses, rewinds, when to stop) and sends the other ranks a Plan, the changes it applied and how
many steps to train before the next control point; they follow it, so every rank applies the same changes
at the same step boundary. Only rank 0 writes the run directory."""
from __future__ import annotations

import copy
import sys
from dataclasses import dataclass, field

from core.distributed.collectives import StopSignals, broadcast, fingerprint, gather, peer_failure
from core.protocol import commands as C
from core.protocol.states import EventKind
from core.session.changes import apply_change


@dataclass
class Plan:
    """What every rank does until the next control point."""

    steps: int = 0
    stop: bool = False
    changes: list = field(default_factory=list)  # typed changes (core.session.changes), in the order applied


def agree(trainer) -> bool:
    """Whether every rank holds the same G and D, to the bit; called by all ranks together."""
    prints = gather(fingerprint([trainer.G, trainer.D]))
    return all(p == prints[0] for p in prints)


class OneProcess:
    """Every step boundary is a control point, and nobody else needs to hear of it."""

    def __init__(self, control):
        self.control = control

    def run(self, loop) -> None:
        loop()

    def at_boundary(self) -> None:
        pass

    def steps_to_take(self) -> int:
        return 1 if self.control.should_step() else 0

    def changed(self, change) -> None:
        """A change the session made to its Trainer at this boundary (core.session.changes)."""

    def send_plan(self, steps: int) -> None:
        pass


class RankZero(OneProcess):
    """Rank 0 of several: a control point about every publishing interval, where every rank sums its
    statistics and receives the plan."""

    def __init__(self, control, trainer, record, dispatcher, time_trained, due_in):
        """due_in(): the steps from now to each thing the session has due (the next evaluation, the next
        replayed command, about a publishing interval's worth of steps)."""
        super().__init__(control)
        self.trainer, self.record, self.dispatcher, self.time_trained = trainer, record, dispatcher, time_trained
        self.due_in = due_in
        self._changes: list = []  # applied since the last plan, for the other ranks
        self._signals = StopSignals()
        self._stop_asked = False
        self._fallback: dict | None = None  # the state at the last control point, while the ranks train on

    def run(self, loop) -> None:
        try:
            loop()
            self._fallback = None  # every rank finished every step: nothing to fall back to
            self.record.record({"kind": EventKind.RANKS_COMPARED, "world_size": self.trainer.world.size,
                                "identical": agree(self.trainer)})
        except RuntimeError as exc:
            self._lost_a_rank(exc)

    def at_boundary(self) -> None:
        self.trainer.stats.sync()
        if self._signals.received and not self._stop_asked:
            self._stop_asked = True
            self.dispatcher.enqueue(C.Stop(), source=f"signal {self._signals.received}")

    def steps_to_take(self) -> int:
        """About a publishing interval's worth of steps, ending where something is due (a checkpoint, an
        evaluation, a replayed command, the end of a step budget)."""
        control = self.control
        if not control.should_step():
            return 0
        step, every = self.trainer.step, self.trainer.cfg.train.checkpoint_every
        limits = self.due_in()
        if control.step_budget:
            limits.append(control.step_budget)
        if control.max_steps is not None and step < control.max_steps:
            limits.append(control.max_steps - step)
        if every:
            limits.append(every - step % every)
        return min(limits)

    def changed(self, change) -> None:
        self._changes.append(change)

    def send_plan(self, steps: int) -> None:
        broadcast(Plan(steps, self.control.stopping, self._changes))
        self._changes = []
        if steps:
            self._fallback = {**copy.deepcopy(self.trainer.state_dict()), "events": list(self.record.events),
                              "train_seconds": self.time_trained.seconds}

    def _lost_a_rank(self, exc: RuntimeError) -> None:
        """A collective failed (another process ended, mostly; gloo does not say which). Back to the last
        control point every rank finished, which close() saves as last.pt; what the ranks did after it is
        dropped."""
        if self._fallback is not None:
            state, self._fallback = self._fallback, None
            self.trainer.load_state_dict(state)
            self.trainer.stats.forget_unsynced()
            self.record.replace(state["events"])
            self.time_trained.seconds = state["train_seconds"]
        self.control.stop()
        self.control.message = (f"Training in {self.trainer.world.size} processes failed ({peer_failure(exc)}); "
                                f"stopped at step {self.trainer.step}, the last step every process finished. "
                                "Resume from checkpoints/last.pt.")
        self.record.record({"kind": EventKind.ERROR, "reason": self.control.message})


def follow(trainer) -> int:
    """A rank other than 0: train as rank 0's plans say until told to stop; the exit status."""
    StopSignals()  # a signal is rank 0's to act on: it stops every rank at the next control point
    try:
        while True:
            trainer.stats.sync()
            trainer.drain_statistics()  # rank 0 writes and publishes the (global) statistics
            trainer.stats.drain_scores(trainer.step)
            plan = broadcast()
            for change in plan.changes:
                apply_change(trainer, change)
            if plan.stop:
                break
            for _ in range(plan.steps):
                trainer.train_step()
        agree(trainer)
    except RuntimeError as exc:  # a collective failed: another rank is gone
        print(f"hinge-train (rank {trainer.world.rank}): stopping at step {trainer.step}: another process "
              f"ended ({peer_failure(exc)})", file=sys.stderr, flush=True)
        return 1
    return 0
