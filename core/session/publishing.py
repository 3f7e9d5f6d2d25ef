"""What a session shows: at each publishing interval the steps trained since the last one, D's score
histograms and (every few seconds) a sample view, handed to the parts that observe them (the timelapse and
histograms.jsonl writer, the health watch), then sent as one read-only Telemetry that `telemetry` builds."""
from __future__ import annotations

import collections
import math
import time
from dataclasses import dataclass

import numpy as np

from core.protocol import commands as C
from core.protocol.telemetry import Samples, Scores, Telemetry
from core.session.parts import Part
from core.training.spectral import SigmaProbe
from core.training.views import picture, real_grid, sample_view

ETA_WINDOW_S = 180.0  # the ETA's speed: over this much of the latest training


@dataclass(frozen=True)
class Published:
    """What one publishing interval drained, for the parts that observe it."""

    steps: np.ndarray
    scalars: dict
    quality: list
    view: Samples | None
    scores: Scores  # D(real) and D(fake) since the last publication


class TimelapseWriter(Part):
    """Each sample view of the run's fixed z as a timelapse frame, and the D-score histograms since the last
    view as a line of histograms.jsonl; at the start, real images as D receives them (real.png)."""

    def __init__(self, trainer, record, run_dir):
        self.trainer, self.record, self.run_dir = trainer, record, run_dir
        self._since_view = self._none()

    def on_start(self) -> None:
        if self.trainer.data.kind == "images":
            self.record.write(self.run_dir.write_real, real_grid(self.trainer))

    def _none(self) -> Scores:
        return Scores.empty(self.trainer.step, self.trainer.stats.edges)

    def on_publish(self, published: Published) -> None:
        self._since_view += published.scores
        view = published.view
        if view is None:
            return
        if not view.fresh:
            self.record.write(self.run_dir.append_frame, picture(self.trainer, view), view.step)
        if self._since_view.counted:
            self.record.write(self.run_dir.append_histograms, self._since_view)
            self._since_view = self._none()

    def on_rewind(self, step: int) -> None:
        self._since_view = self._none()


def telemetry(trainer, control, seconds: float, steps_per_s: float, published: Published, sigmas: dict,
              events: tuple, health: dict, info: dict) -> Telemetry:
    """The Telemetry of one publication, from what it drained and the run's state now."""
    return Telemetry(
        step=trainer.step, state=control.state, elapsed_s=seconds, steps_per_s=steps_per_s, settings=trainer.settings,
        steps=published.steps, scalars=published.scalars, scores=published.scores, samples=published.view, sigmas=sigmas, events=events, quality=tuple(published.quality),
        message=control.message, health=health, info=info)


class Publisher(Part):
    def __init__(self, trainer, metrics, record, control, time_trained, evaluation, health_states, info,
                 send_to: list):
        """health_states() and info(): the health readings and run information each publication carries;
        observers (set by the session): the parts that see each publication before it is sent."""
        self.trainer, self.metrics, self.record, self.control = trainer, metrics, record, control
        self.time_trained, self.evaluation, self.health_states, self.info = time_trained, evaluation, health_states, info
        self.send_to = send_to
        self.observers: list[Part] = []
        self.fresh_view = False  # sample views from a fresh random z, not the run's fixed one
        self.steps_per_s = 0.0
        self._rates = collections.deque(maxlen=30)  # (training seconds, step) at recent publications
        self._since = collections.deque()  # the same over the last ETA_WINDOW_S of training, for the ETA
        self._next_publish = self._next_samples = 0.0
        self._sigma_probe = SigmaProbe()

    def after_steps(self) -> None:
        self.publish_if_due()

    def due_now(self) -> None:
        self._next_publish = 0.0

    def publish_if_due(self) -> None:
        now = time.monotonic()
        if now >= self._next_publish:
            self.publish(samples=now >= self._next_samples)

    def set_sample_view(self, command: C.SetSampleView) -> None:
        self.fresh_view = bool(command.fresh)
        self._next_samples = 0.0

    def on_rewind(self, step: int) -> None:
        self._next_samples = 0.0
        self._rates.clear()  # steps went back: the speed is measured afresh
        self._since.clear()

    def publish(self, samples: bool = False, observed: bool = True) -> Telemetry:
        """Publish now (with a sample view if `samples`); observed=False leaves the observers out (the last
        steps of a branch a rewind is abandoning: nothing to judge or keep of them)."""
        t, train = self.trainer, self.trainer.cfg.train
        now = time.monotonic()
        self._next_publish = now + train.publish_every_s
        self.metrics.flush()
        scores = t.stats.drain_scores(t.step)
        view = None
        if samples:
            self._next_samples = now + train.samples_every_s
            view = sample_view(t, fresh=self.fresh_view)
        steps, scalars = self.metrics.take()
        self._measure_rate()
        published = Published(steps, scalars, self.evaluation.take_results(), view, scores)
        if observed:
            for part in self.observers:
                part.on_publish(published)
        sent = telemetry(t, self.control, self.time_trained.seconds, self.steps_per_s, published,
                         self._sigma_probe(t.D) if samples else {}, self.record.take_unpublished(),
                         self.health_states(), {**self.info(), "eta_s": self._eta_s()})
        for send in self.send_to:
            send(sent)
        return sent

    def _measure_rate(self) -> None:
        now = (self.time_trained.seconds, self.trainer.step)
        self._rates.append(now)
        self._since.append(now)
        while len(self._since) > 2 and now[0] - self._since[1][0] >= ETA_WINDOW_S:
            self._since.popleft()
        self.steps_per_s = rate(self._rates)

    def _eta_s(self) -> float | None:
        """Seconds to the step budget at the speed of the last few minutes (evaluations and a busy machine
        included, which the speed of the last seconds leaves out); None with no budget or no speed yet."""
        budget, speed = self.control.max_steps, rate(self._since)
        if budget is None or speed <= 0:
            return None
        return round(max(0, budget - self.trainer.step) / speed, 1)


def rate(samples) -> float:
    """Steps per second of training between the first and the last of (training seconds, step) samples."""
    (t0, s0), (t1, s1) = samples[0], samples[-1]
    speed = (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0
    return speed if math.isfinite(speed) else 0.0
