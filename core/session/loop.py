"""A training session: the loop around a Trainer that applies commands at step boundaries, writes the run
directory and publishes telemetry. The same loop serves `hinge-train` and the workbench's engine process.
Each concern is a part of its own (core.session.parts); the loop only says when each one's turn is."""
from __future__ import annotations

import time
from typing import Callable

from core.protocol import commands as C
from core.protocol.telemetry import Telemetry
from core.session.changes import STEERED, Changes
from core.session.checkpointing import CheckpointPolicy
from core.session.control import RunControl
from core.session.control_points import OneProcess, RankZero
from core.session.dispatch import Dispatcher
from core.session.evaluation import EvaluationSchedule
from core.session.health_watch import HealthWatch
from core.session.intake import CommandIntake, Inbox
from core.session.metrics_log import MetricsLog
from core.session.parts import TrainingTime
from core.session.publishing import Publisher, TimelapseWriter
from core.session.record import RunRecord
from core.session.rewind import Rewinder
from core.session.thread_policy import ThreadPolicy
from core.session.trackers import tracker_sink
from core.storage.live import LiveWriter
from core.storage.rundir import RunDir
from core.training.trainer import Trainer
from core.training.views import export_samples, picture

IDLE_WAIT_S = 0.05  # paused: how long to wait for a command before publishing again


class Session:
    """The composition root: it makes the parts, hands each what it uses, and says when each one's turn is."""

    def __init__(self, trainer: Trainer, run_dir: RunDir, max_steps: int | None = None,
                 publish: Callable[[Telemetry], None] | None = None, paused: bool = False,
                 wait_when_done: bool = False, replay: list[dict] = (), events: list[dict] = (),
                 parent: dict | None = None, elapsed_s: float = 0.0):
        self.trainer, self.run_dir, self.parent = trainer, run_dir, parent
        self.time = TrainingTime(elapsed_s)
        self.control = control = RunControl(max_steps, paused, wait_when_done)
        self.record = record = RunRecord(run_dir, control, lambda: trainer.step, events)
        self.metrics = MetricsLog(trainer, record)
        self.dispatcher = Dispatcher(record)
        self.control_points = (RankZero(control, trainer, record, self.dispatcher, self.time, self._due_in)
                               if trainer.world.distributed else OneProcess(control))
        self.changes = Changes(trainer, self.metrics, self.control_points)
        self.intake = CommandIntake(trainer, run_dir, record, control, self.dispatcher, replay)
        self.live = LiveWriter(run_dir.path, lambda view: picture(trainer, view))
        self.evaluation = EvaluationSchedule(trainer, control, record, run_dir, self.time)
        self.health = HealthWatch(trainer, record, self.dispatcher, run_dir)
        self.checkpoints = CheckpointPolicy(trainer, run_dir, record, control, self.metrics, self.time,
                                            healthy=self.health.healthy_step)
        self.trackers = tracker_sink(trainer.cfg, run_dir.path, record, parent)
        self.publisher = Publisher(trainer, self.metrics, record, control, self.time, self.evaluation,
                                   self.health.states, lambda: self.info,
                                   [f for f in (publish, self.live, self.trackers) if f is not None])
        self.timelapse = TimelapseWriter(trainer, record, run_dir)
        self.threads = ThreadPolicy(trainer, record, self.changes)
        # their turns at each moment come in this order: save, score, publish (write, judge), follow the cores
        self.parts = (self.checkpoints, self.evaluation, self.publisher, self.timelapse, self.health, self.threads,
                      *([self.trackers] if self.trackers else []))  # last: the final checkpoint is saved by then
        self.publisher.observers = [self.timelapse, self.health]
        self.rewinder = Rewinder(trainer, run_dir, record, control, self.changes, self.dispatcher, self.publisher,
                                 self.health, self.parts)
        self._register_handlers()

    def _register_handlers(self) -> None:
        control, register = self.control, self.dispatcher.register
        for command in STEERED:
            register(command, self.changes.apply)
        register(C.SetThreads, self.threads.set_threads)
        register(C.Pause, lambda _: control.pause())
        register(C.Resume, lambda _: control.resume())
        register(C.Step, lambda command: control.step(command.n))
        register(C.Stop, lambda _: control.stop())
        register(C.SetSampleView, self.publisher.set_sample_view)
        register(C.SaveCheckpoint, lambda command: {"path": str(self.checkpoints.save(command.path))})
        register(C.ExportSamples, lambda command: {"path": str(export_samples(self.trainer, command))})
        register(C.Evaluate, self.evaluation.on_request)
        register(C.Rewind, self.rewinder.rewind)

    def _due_in(self) -> list[int]:
        """Steps from now to what is due besides checkpoints and budgets: about a publishing interval's worth,
        the next evaluation, the next replayed command (where several processes next meet)."""
        step = self.trainer.step
        due = [max(1, int(self.publisher.steps_per_s * self.trainer.cfg.train.publish_every_s))]
        due += [at - step for at in (self.evaluation.next_due, self.intake.next_replayed_step) if at is not None]
        return due

    @property
    def state(self) -> str:
        return self.control.state

    @property
    def train_seconds(self) -> float:
        return self.time.seconds

    @property
    def events(self) -> list[dict]:
        return self.record.events

    @property
    def info(self) -> dict:
        t = self.trainer
        device = f"{t.device.type}, {t.world.size} processes" if t.world.distributed else str(t.device)
        return {"preset": t.cfg.preset, "dataset": t.data.describe(), "device": device,
                "run_dir": str(self.run_dir.path), "max_steps": self.control.max_steps, "is_2d": t.cfg.is_2d,
                "classes": t.cfg.model.classes,
                "loss": t.settings.loss, "eval_every": t.cfg.eval.every, "eval_due": self.evaluation.next_due,
                "eval_note": self.evaluation.note,
                "checkpoint_every": t.cfg.train.checkpoint_every, "speedups": t.speedups,
                "precision": f"{t.cfg.train.precision} ({t.precision_why})", "rewind": self.health.rewind_target()}

    # --- the loop ------------------------------------------------------------------------------

    def run(self, inbox: Inbox | None = None) -> str:
        """Train until done or stopped; returns the final state."""
        self.run_dir.write_config(self.trainer.cfg, self.parent)
        self._each("on_start")
        self.publisher.publish(samples=True)
        self.control_points.run(lambda: self._loop(inbox))
        return self.close()

    def _loop(self, inbox: Inbox | None) -> None:
        last, stepped = time.monotonic(), 0
        while True:
            self.control_points.at_boundary()
            if stepped:
                self._each("after_steps")
            self.intake.take(inbox, wait=0.0)
            if self.control.reached(self.trainer.step):
                self._finish()
            stepped = self.control_points.steps_to_take()
            if not stepped and not self.control.stopping:
                self.publisher.publish_if_due()
                self.intake.take(inbox, wait=IDLE_WAIT_S)
                last = time.monotonic()
            self.control_points.send_plan(stepped)
            if self.control.stopping:
                return
            for _ in range(stepped):
                self.trainer.train_step()
            now = time.monotonic()
            self.time.seconds += now - last
            last = now
            if self.control.took(stepped):
                self.publisher.due_now()  # show the exact step a Step N reached

    def _finish(self) -> None:
        self.control.finish()
        self._each("on_finish")
        self.publisher.due_now()
        self.publisher.publish_if_due()

    def close(self) -> str:
        self._each("on_close")
        final = self.control.close()
        self.publisher.publish(samples=True)
        if self.trackers:
            self.trackers.close()  # after the last publication, so the trackers have every step
        self.live.flush()
        self.run_dir.close()
        return final

    def _each(self, hook: str) -> None:
        for part in self.parts:
            getattr(part, hook)()
