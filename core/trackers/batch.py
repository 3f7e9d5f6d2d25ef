"""What a tracker receives: a Batch of scalars, texts, images and histograms, each with its step. Two sources
build it: the session's publications as they come (Translator, live) and a finished run directory
(from_run_dir, for `hinge-train export-tb`), so both reach a tracker through the same writer."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from core.base.files import read_jsonl
from core.protocol import commands as C
from core.protocol.describe import describe_event
from core.protocol.states import EventKind
from core.protocol.telemetry import Scores, Settings, Telemetry
from core.storage.layout import RunLayout
from core.storage.metrics_csv import SETTING_COLUMNS, TEXT_COLUMNS, read_rows
from core.storage.rundir import step_files

CHANGES = {command.kind for command in (*C.STEERED, C.SetThreads)}  # a user's live changes


@dataclass
class Batch:
    scalars: list = field(default_factory=list)  # (step, wall_time or None (now), {tag: value})
    texts: list = field(default_factory=list)  # (step, tag, text)
    images: list = field(default_factory=list)  # (step, tag, uint8 (H, W, C))
    histograms: list = field(default_factory=list)  # (step, tag, edges, counts)
    alerts: list = field(default_factory=list)  # (step, detector, message): also as texts

    def __bool__(self) -> bool:
        return any((self.scalars, self.texts, self.images, self.histograms))

    def extend(self, other: "Batch") -> None:
        for name in ("scalars", "texts", "images", "histograms", "alerts"):
            getattr(self, name).extend(getattr(other, name))


def settings_scalars(settings: Settings) -> dict:
    """The numeric settings as settings/NAME scalars (a name, such as the loss, goes in a text instead)."""
    values = vars(settings)
    return {f"settings/{name}": float(values[name]) for name in SETTING_COLUMNS
            if name in values and name not in TEXT_COLUMNS and values[name] not in (None, "")}


def _event_texts(batch: Batch, event: dict) -> None:
    kind, step = event.get("kind", "event"), int(event.get("step", 0))
    details = {k: v for k, v in event.items() if k not in ("step", "wall_time", "kind")}
    batch.texts.append((step, f"events/{kind}", f"`{json.dumps(details)}`"))
    if kind == EventKind.ALERT:
        batch.alerts.append((step, event.get("name", ""), describe_event(event)))


def _histograms(batch: Batch, scores: Scores) -> None:
    for side in ("real", "fake"):
        counts = getattr(scores, side)
        if counts.sum() > 0:
            batch.histograms.append((int(scores.step), f"D_scores/{side}", np.asarray(scores.edges, float),
                                     np.asarray(counts, float)))


class Translator:
    """Publications into batches. D's scores are gathered between sample views and sent as one histogram each
    view, at the timelapse's rhythm, as histograms.jsonl keeps them."""

    def __init__(self):
        self._scores: Scores | None = None
        self._settings: Settings | None = None

    def batch(self, t: Telemetry) -> Batch:
        batch, wall = Batch(), time.time()
        for i, step in enumerate(t.steps.tolist()):
            batch.scalars.append((int(step), wall, {f"train/{name}": float(values[i])
                                                    for name, values in t.scalars.items()}))
        if t.steps_per_s > 0:
            batch.scalars.append((int(t.step), wall, {"train/steps_per_s": float(t.steps_per_s)}))
        if t.settings != self._settings:
            batch.scalars.append((int(t.step), wall, settings_scalars(t.settings)))
            self._settings = t.settings
        for event in t.events:
            _event_texts(batch, event)
            if event.get("kind") in CHANGES:
                batch.texts.append((int(event["step"]), "changes", describe_event(event)))
        for result in t.quality:
            batch.scalars.append((int(result["step"]), wall, quality_scalars(result)))
        self._scores = t.scores if self._scores is None else self._scores + t.scores
        view = t.samples
        if view is not None and view.grid is not None and not view.fresh:
            batch.images.append((int(view.step), "samples", view.grid))
            _histograms(batch, self._scores)
            self._scores = None
        return batch


def quality_scalars(result: dict) -> dict:
    return {f"quality/{name}": float(value) for name, value in result.items()
            if name not in ("step", "eval_seconds") and isinstance(value, (int, float)) and not isinstance(value, bool)}


def from_run_dir(run_dir: str | Path) -> Batch:
    """Everything a run directory recorded: metrics.csv, quality.jsonl, histograms.jsonl, events.jsonl and the
    timelapse frames."""
    layout, batch = RunLayout(run_dir), Batch()
    for row in read_rows(layout.metrics):
        step, wall = int(row["step"]), float(row["wall_time"])
        values = {("settings/" if name in SETTING_COLUMNS else "train/") + name: float(value)
                  for name, value in row.items()
                  if name not in ("step", "wall_time", *TEXT_COLUMNS) and value not in (None, "")}
        batch.scalars.append((step, wall, values))
    for result in read_jsonl(layout.quality):
        batch.scalars.append((int(result["step"]), None, quality_scalars(result)))
    for record in read_jsonl(layout.histograms):
        _histograms(batch, Scores.from_record(record))
    for event in read_jsonl(layout.events):
        _event_texts(batch, event)
    for step, frame in step_files(layout.timelapse, ".png").items():
        with Image.open(frame) as image:
            batch.images.append((step, "samples", np.asarray(image.convert("RGB"))))
    return batch
