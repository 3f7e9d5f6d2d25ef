"""A run directory: config.json, metrics.csv, events.jsonl, checkpoints/, samples/."""
from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np

from core.config import Config
from core.errors import UserError
from core.telemetry import STAT_NAMES, Settings

METRIC_COLUMNS = ("step", "wall_time", *STAT_NAMES,
                  "margin_real", "margin_fake", "spectral_norm", "lr_g", "lr_d", "n_dis")


def default_run_dir(preset: str) -> Path:
    return Path("runs") / f"{preset}-{time.strftime('%Y%m%d-%H%M%S')}"


class RunDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            for sub in ("checkpoints", "samples/timelapse"):
                (self.path / sub).mkdir(parents=True, exist_ok=True)
            new_metrics = not self.metrics_path.exists() or self.metrics_path.stat().st_size == 0
            self._metrics = open(self.metrics_path, "a", newline="")
            self._events = open(self.events_path, "a")
        except OSError as exc:
            raise UserError(f"cannot write the run directory {self.path}: {exc.strerror or exc}") from None
        self._writer = csv.writer(self._metrics)
        if new_metrics:
            self._writer.writerow(METRIC_COLUMNS)

    metrics_path = property(lambda self: self.path / "metrics.csv")
    events_path = property(lambda self: self.path / "events.jsonl")
    checkpoints = property(lambda self: self.path / "checkpoints")
    samples = property(lambda self: self.path / "samples")
    timelapse = property(lambda self: self.path / "samples" / "timelapse")

    def write_config(self, cfg: Config) -> None:
        cfg.save(self.path / "config.json")

    def append_metrics(self, steps: np.ndarray, times: np.ndarray, scalars: dict, settings: Settings) -> None:
        tail = [settings.margin_real, settings.margin_fake, int(settings.spectral_norm),
                settings.lr_g, settings.lr_d, settings.n_dis]
        columns = [scalars[name] for name in STAT_NAMES]
        for i, step in enumerate(steps):
            self._writer.writerow([int(step), f"{times[i]:.3f}", *(f"{c[i]:.6g}" for c in columns), *tail])
        self._metrics.flush()

    def append_event(self, event: dict) -> None:
        self._events.write(json.dumps(event) + "\n")
        self._events.flush()

    def close(self) -> None:
        self._metrics.close()
        self._events.close()


def read_events(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"events file not found: {path}")
    events = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            raise UserError(f"{path}:{number} is not a JSON line") from None
        if not isinstance(event, dict) or not isinstance(event.get("step"), int) or "kind" not in event:
            raise UserError(f"{path}:{number} is not an event (needs integer 'step' and 'kind')")
        events.append(event)
    return events
