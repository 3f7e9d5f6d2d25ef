"""A training session: the loop around a Trainer that applies commands at step boundaries, writes the run
directory and publishes telemetry. The same loop serves `hinge-train` and the workbench's engine process.
Each concern is a part of its own (core.session.parts); the loop only says when each one's turn is."""
from __future__ import annotations

import time
from typing import Callable

from core.protocol import commands as C
from core.protocol.telemetry import Telemetry
from core.session.checkpointing import CheckpointPolicy
from core.session.control import RunControl
from core.session.control_points import OneProcess, RankZero
from core.session.dispatch import Dispatcher
from core.session.evaluation import EvaluationSchedule
from core.session.health_watch import HealthWatch
from core.session.intake import CommandIntake, Inbox
from core.session.metrics_log import MetricsLog
from core.session.publishing import Publisher
from core.session.record import RunRecord
from core.session.rewind import Rewinder
from core.session.thread_policy import ThreadPolicy
from core.storage.live import LiveWriter
from core.storage.rundir import RunDir
from core.training.trainer import Trainer
from core.training.views import export_samples, picture

IDLE_WAIT_S = 0.05  # paused: how long to wait for a command before publishing again


class Session:
    def __init__(self, trainer: Trainer, run_dir: RunDir, max_steps: int | None = None,
                 publish: Callable[[Telemetry], None] | None = None, paused: bool = False,
                 wait_when_done: bool = False, replay: list[dict] = (), events: list[dict] = (),
                 parent: dict | None = None, elapsed_s: float = 0.0):
        self.trainer, self.run_dir, self.parent = trainer, run_dir, parent
        self.train_seconds = elapsed_s  # spent training (not paused) over the whole run, resumes included
        self.control = RunControl(max_steps, paused, wait_when_done)
        self.record = RunRecord(run_dir, self.control, lambda: trainer.step, events)
        self.metrics = MetricsLog(trainer, self.record)
        self.dispatcher = Dispatcher(self.record)
        self.control_points = RankZero(self) if trainer.world.distributed else OneProcess(self)
        self.intake = CommandIntake(self, replay)
        self.live = LiveWriter(run_dir.path, lambda view: picture(trainer, view))
        self.evaluation = EvaluationSchedule(self)
        self.checkpoints = CheckpointPolicy(self)
        self.publisher = Publisher(self, [f for f in (publish, self.live) if f is not None])
        self.health = HealthWatch(self)
        self.threads = ThreadPolicy(self)
        self.rewinder = Rewinder(self)
        # their turns at each moment come in this order: save, score, publish (and judge), follow the cores
        self.parts = (self.checkpoints, self.evaluation, self.publisher, self.health, self.threads)
        self._register_handlers()

    def _register_handlers(self) -> None:
        control, register = self.control, self.dispatcher.register
        for command in (C.SetMargins, C.SetSpectralNorm, C.SetLearningRates, C.SetNDis, C.SetLoss):
            register(command, self._change_training)
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

    def _change_training(self, command) -> dict:
        self.metrics.flush()  # the rows so far keep the settings they were trained with
        echoed = self.trainer.apply(command)
        self.control_points.changed("apply", command)
        return echoed

    @property
    def state(self) -> str:
        return self.control.state

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

    def handle(self, command, source: str | None = None) -> bool:
        return self.dispatcher.handle(command, source)

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
            self.train_seconds += now - last
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
        self.live.flush()
        self.run_dir.close()
        return final

    def _each(self, hook: str) -> None:
        for part in self.parts:
            getattr(part, hook)()
