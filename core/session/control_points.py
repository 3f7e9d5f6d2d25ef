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


@dataclass
class Plan:
    """What every rank does until the next control point."""

    steps: int = 0
    stop: bool = False
    changes: list[tuple[str, object]] = field(default_factory=list)  # (Trainer method, its argument), in order


def agree(trainer) -> bool:
    """Whether every rank holds the same G and D, to the bit; called by all ranks together."""
    prints = gather(fingerprint([trainer.G, trainer.D]))
    return all(p == prints[0] for p in prints)


class OneProcess:
    """Every step boundary is a control point, and nobody else needs to hear of it."""

    def __init__(self, session):
        self.session = session

    def run(self, loop) -> None:
        loop()

    def at_boundary(self) -> None:
        pass

    def steps_to_take(self) -> int:
        return 1 if self.session.control.should_step() else 0

    def changed(self, method: str, argument) -> None:
        """A change the session made to its Trainer at this boundary."""

    def send_plan(self, steps: int) -> None:
        pass


class RankZero(OneProcess):
    """Rank 0 of several: a control point about every publishing interval, where every rank sums its
    statistics and receives the plan."""

    def __init__(self, session):
        super().__init__(session)
        self._changes: list[tuple[str, object]] = []  # applied since the last plan, for the other ranks
        self._signals = StopSignals()
        self._stop_asked = False
        self._fallback: dict | None = None  # the state at the last control point, while the ranks train on

    def run(self, loop) -> None:
        s = self.session
        try:
            loop()
            self._fallback = None  # every rank finished every step: nothing to fall back to
            s.record.record({"kind": EventKind.RANKS_COMPARED, "world_size": s.trainer.world.size,
                             "identical": agree(s.trainer)})
        except RuntimeError as exc:
            self._lost_a_rank(exc)

    def at_boundary(self) -> None:
        self.session.trainer.stats.sync()
        if self._signals.received and not self._stop_asked:
            self._stop_asked = True
            self.session.dispatcher.enqueue(C.Stop(), source=f"signal {self._signals.received}")

    def steps_to_take(self) -> int:
        """About a publishing interval's worth of steps, ending where something is due (a checkpoint, an
        evaluation, a replayed command, the end of a step budget)."""
        s = self.session
        if not s.control.should_step():
            return 0
        step, cfg = s.trainer.step, s.trainer.cfg
        limits = [max(1, int(s.publisher.steps_per_s * cfg.train.publish_every_s))]
        if s.control.step_budget:
            limits.append(s.control.step_budget)
        if s.control.max_steps is not None and step < s.control.max_steps:
            limits.append(s.control.max_steps - step)
        limits += [every - step % every for every in (cfg.train.checkpoint_every,) if every]
        if s.evaluation.next_due is not None:
            limits.append(s.evaluation.next_due - step)
        if s.intake.next_replayed_step is not None:
            limits.append(s.intake.next_replayed_step - step)
        return min(limits)

    def changed(self, method: str, argument) -> None:
        self._changes.append((method, argument))

    def send_plan(self, steps: int) -> None:
        s = self.session
        broadcast(Plan(steps, s.control.stopping, self._changes))
        self._changes = []
        if steps:
            self._fallback = {**copy.deepcopy(s.trainer.state_dict()), "events": list(s.record.events),
                              "train_seconds": s.train_seconds}

    def _lost_a_rank(self, exc: RuntimeError) -> None:
        """A collective failed (another process ended, mostly; gloo does not say which). Back to the last
        control point every rank finished, which close() saves as last.pt; what the ranks did after it is
        dropped."""
        s = self.session
        if self._fallback is not None:
            state, self._fallback = self._fallback, None
            s.trainer.load_state_dict(state)
            s.trainer.stats.forget_unsynced()
            s.record.replace(state["events"])
            s.train_seconds = state["train_seconds"]
        s.control.stop()
        s.control.message = (f"Training in {s.trainer.world.size} processes failed ({peer_failure(exc)}); stopped at "
                             f"step {s.trainer.step}, the last step every process finished. Resume from "
                             "checkpoints/last.pt.")
        s.record.record({"kind": EventKind.ERROR, "reason": s.control.message})


def follow(trainer) -> int:
    """A rank other than 0: train as rank 0's plans say until told to stop; the exit status."""
    StopSignals()  # a signal is rank 0's to act on: it stops every rank at the next control point
    try:
        while True:
            trainer.stats.sync()
            trainer.drain_statistics()  # rank 0 writes and publishes the (global) statistics
            trainer.stats.drain_histograms()
            plan = broadcast()
            for method, argument in plan.changes:
                getattr(trainer, method)(argument)
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
