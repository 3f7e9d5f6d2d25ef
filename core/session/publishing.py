"""What a session shows: at each publishing interval the steps trained since the last one, D's score
histograms and (every few seconds) a sample view, written where the record keeps them (timelapse frames,
histograms.jsonl), handed to the parts that judge them, then sent as one read-only Telemetry."""
from __future__ import annotations

import collections
import math
import time
from dataclasses import dataclass

import numpy as np

from core.protocol import commands as C
from core.protocol.telemetry import Samples, Telemetry
from core.session.parts import Part
from core.training.spectral import SigmaProbe
from core.training.views import picture, sample_view

ETA_WINDOW_S = 180.0  # the ETA's speed: over this much of the latest training


@dataclass(frozen=True)
class Published:
    """What one publishing interval drained, for the parts that observe it."""

    steps: np.ndarray
    scalars: dict
    quality: list
    view: Samples | None


class Publisher(Part):
    def __init__(self, session, send_to: list):
        super().__init__(session)
        self.send_to = send_to
        self.fresh_view = False  # sample views from a fresh random z, not the run's fixed one
        self.steps_per_s = 0.0
        self._rates = collections.deque(maxlen=30)  # (training seconds, step) at recent publications
        self._since = collections.deque()  # the same over the last ETA_WINDOW_S of training, for the ETA
        self._next_publish = self._next_samples = 0.0
        self._sigma_probe = SigmaProbe()
        self._hist_since_frame = np.zeros((2, len(session.trainer.stats.edges) + 1))  # bins, then below, above

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
        self._hist_since_frame[:] = 0
        self._next_samples = 0.0
        self._rates.clear()  # steps went back: the speed is measured afresh
        self._since.clear()

    def publish(self, samples: bool = False, judged: bool = True) -> Telemetry:
        """Publish now (with a sample view if `samples`); judged=False leaves the health watch out (the last
        steps of a branch a rewind is abandoning)."""
        s = self.session
        t, train = s.trainer, s.trainer.cfg.train
        now = time.monotonic()
        self._next_publish = now + train.publish_every_s
        s.metrics.flush()
        hist_real, hist_fake, beyond = t.stats.drain_histograms()
        self._hist_since_frame += np.concatenate([np.stack([hist_real, hist_fake]), beyond], axis=1)
        view = None
        if samples:
            self._next_samples = now + train.samples_every_s
            view = sample_view(t, fresh=self.fresh_view)
            if not self.fresh_view:
                s.record.write(s.run_dir.append_frame, picture(t, view), view.step)
            if self._hist_since_frame.any():
                s.record.write(s.run_dir.append_histograms, t.step, t.stats.edges, *self._hist_since_frame)
                self._hist_since_frame[:] = 0
        steps, scalars = s.metrics.take()
        self._measure_rate()
        published = Published(steps, scalars, s.evaluation.take_results(), view)
        if judged:
            for part in s.parts:
                part.on_publish(published)
        telemetry = Telemetry(
            step=t.step, state=s.control.state, elapsed_s=s.train_seconds, steps_per_s=self.steps_per_s,
            settings=t.settings, steps=steps, scalars=scalars, hist_edges=t.stats.edges, hist_real=hist_real,
            hist_fake=hist_fake, hist_beyond=beyond, samples=view, sigmas=self._sigma_probe(t.D) if samples else {},
            events=s.record.take_unpublished(), quality=tuple(published.quality), message=s.control.message,
            health=s.health.states(), info={**s.info, "eta_s": self._eta_s()})
        for send in self.send_to:
            send(telemetry)
        return telemetry

    def _measure_rate(self) -> None:
        now = (self.session.train_seconds, self.session.trainer.step)
        self._rates.append(now)
        self._since.append(now)
        while len(self._since) > 2 and now[0] - self._since[1][0] >= ETA_WINDOW_S:
            self._since.popleft()
        self.steps_per_s = rate(self._rates)

    def _eta_s(self) -> float | None:
        """Seconds to the step budget at the speed of the last few minutes (evaluations and a busy machine
        included, which the speed of the last seconds leaves out); None with no budget or no speed yet."""
        budget, speed = self.session.control.max_steps, rate(self._since)
        if budget is None or speed <= 0:
            return None
        return round(max(0, budget - self.session.trainer.step) / speed, 1)


def rate(samples) -> float:
    """Steps per second of training between the first and the last of (training seconds, step) samples."""
    (t0, s0), (t1, s1) = samples[0], samples[-1]
    speed = (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0
    return speed if math.isfinite(speed) else 0.0
