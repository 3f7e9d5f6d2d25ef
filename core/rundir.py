"""A run directory: config.json, metrics.csv, events.jsonl, quality.jsonl, histograms.jsonl, commands.jsonl
(the inbox, core/inbox.py), live/ (core/live.py), checkpoints/, samples/."""
from __future__ import annotations

import csv
import io
import json
import shutil
import time
from pathlib import Path

import numpy as np

from core.config import Config
from core.errors import UserError
from core.export import write_frame
from core.telemetry import STAT_NAMES, Settings

METRIC_COLUMNS = ("step", "wall_time", *STAT_NAMES,
                  "margin_real", "margin_fake", "spectral_norm", "lr_g", "lr_d", "n_dis", "threads")


def default_run_dir(preset: str) -> Path:
    return Path("runs") / f"{preset}-{time.strftime('%Y%m%d-%H%M%S')}"


class Appender:
    """Appends to a file without buffering; what a failed write (a full disk) left out is kept and
    written first next time, so nothing is lost once space is back."""

    def __init__(self, path: Path):
        self.path = path
        self.file = open(path, "ab", buffering=0)
        self.pending = b""

    def write(self, text: str) -> None:
        self.pending += text.encode()
        try:
            while self.pending:
                self.pending = self.pending[self.file.write(self.pending):]
        except OSError as exc:
            raise UserError(f"cannot write {self.path.name}: {exc.strerror or exc} "
                            f"({len(self.pending)} bytes kept to retry)") from None

    def close(self) -> None:
        self.file.close()


def _split_lines(path: Path, keep, abandoned: Path) -> int:
    """Keep the lines of `path` that `keep(line)` accepts (in place, atomically); append the others to
    `abandoned`. Returns how many moved."""
    if not path.exists():
        return 0
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if keep(line)]
    moved = [line for line in lines if not keep(line)]
    if moved:
        abandoned.parent.mkdir(parents=True, exist_ok=True)
        with open(abandoned, "a") as f:
            f.writelines(moved)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text("".join(kept))
        tmp.replace(path)
    return len(moved)


def _step_of(line: str) -> int:
    return int(json.loads(line)["step"]) if line.strip() else -1


class RunDir:
    def __init__(self, path: str | Path, resume_from: tuple[int, list[dict]] | None = None):
        """resume_from: (step, events) of the checkpoint a session resumes from in this directory."""
        self.path = Path(path)
        try:
            for sub in ("checkpoints", "samples/timelapse"):
                (self.path / sub).mkdir(parents=True, exist_ok=True)
            if resume_from is not None:
                self.abandon_after(*resume_from)
            new_metrics = not self.metrics_path.exists() or self.metrics_path.stat().st_size == 0
            self._metrics = Appender(self.metrics_path)
            self._events = Appender(self.events_path)
            self._quality = self._histograms = None  # opened at their first line
        except OSError as exc:
            raise UserError(f"cannot write the run directory {self.path}: {exc.strerror or exc}") from None
        if new_metrics:
            self._metrics.write(",".join(METRIC_COLUMNS) + "\r\n")

    metrics_path = property(lambda self: self.path / "metrics.csv")
    events_path = property(lambda self: self.path / "events.jsonl")
    quality_path = property(lambda self: self.path / "quality.jsonl")
    histograms_path = property(lambda self: self.path / "histograms.jsonl")
    checkpoints = property(lambda self: self.path / "checkpoints")
    samples = property(lambda self: self.path / "samples")
    timelapse = property(lambda self: self.path / "samples" / "timelapse")

    def abandon_after(self, step: int, events: list[dict]) -> Path:
        """Training resumes at `step`: what was written after it (a branch that crashed or was abandoned)
        moves to abandoned/from-step-N-TIME/, so that metrics.csv keeps one row per step, quality.jsonl one
        score per evaluation and events.jsonl exactly the checkpoint's events. Returns the folder."""
        where = self.path / "abandoned" / f"from-step-{step}-{time.strftime('%Y%m%d-%H%M%S')}"
        header = METRIC_COLUMNS[0] + ","
        _split_lines(self.metrics_path, lambda line: line.startswith(header) or not line.strip()
                             or int(line.split(",", 1)[0]) <= step, where / "metrics.csv")
        for path in (self.quality_path, self.histograms_path):
            _split_lines(path, lambda line: _step_of(line) <= step, where / path.name)
        kept = {json.dumps(e, sort_keys=True) for e in events}
        _split_lines(self.events_path, lambda line: not line.strip()
                     or json.dumps(json.loads(line), sort_keys=True) in kept, where / "events.jsonl")
        return where

    def rewind(self, step: int, events: list[dict]) -> Path:
        """A live session goes back to `step`: as abandon_after, with the open files reopened on the cut
        ones. Returns the folder the abandoned branch moved to."""
        self.close()
        where = self.abandon_after(step, events)
        self._metrics, self._events = self._open(self.metrics_path), self._open(self.events_path)
        self._quality = self._histograms = None
        return where

    def step_checkpoints(self) -> dict[int, Path]:
        """{step: path} of the step-N.pt checkpoints in this run directory."""
        found = {}
        for path in self.checkpoints.glob("step-*.pt"):
            number = path.stem[len("step-"):]
            if number.isdigit():
                found[int(number)] = path
        return dict(sorted(found.items()))

    def write_config(self, cfg: Config, parent: dict | None = None) -> None:
        """config.json: the settings, and for a fork its parent (kept when the fork itself is resumed)."""
        path = self.path / "config.json"
        if parent is None:
            try:
                parent = json.loads(path.read_text()).get("parent")
            except (OSError, ValueError, AttributeError):
                parent = None
        record = {**cfg.to_dict(), **({"parent": parent} if parent else {})}
        path.write_text(json.dumps(record, indent=2) + "\n")

    def append_metrics(self, steps: np.ndarray, times: np.ndarray, scalars: dict, settings: Settings) -> None:
        tail = [settings.margin_real, settings.margin_fake, int(settings.spectral_norm),
                settings.lr_g, settings.lr_d, settings.n_dis, settings.threads]
        columns = [scalars[name] for name in STAT_NAMES]
        text = io.StringIO()
        writer = csv.writer(text)
        for i, step in enumerate(steps):
            writer.writerow([int(step), f"{times[i]:.3f}", *(f"{c[i]:.6g}" for c in columns), *tail])
        self._metrics.write(text.getvalue())

    def save_checkpoint(self, state: dict, step: int, keep_step: bool = True) -> Path:
        """checkpoints/last.pt and, with keep_step, a copy as step-N.pt (each written whole or not at all)."""
        from core.checkpoint import save_checkpoint  # torch: only where checkpoints are written

        try:
            last = save_checkpoint(state, self.checkpoints / "last.pt")
            if not keep_step:
                return last
            target = self.checkpoints / f"step-{step}.pt"
            tmp = target.with_name(f".{target.name}.tmp")
            shutil.copyfile(last, tmp)
            tmp.replace(target)
            return target
        except OSError as exc:
            raise UserError(f"could not save a checkpoint: {exc.strerror or exc}") from None

    def append_frame(self, picture: np.ndarray, step: int) -> None:
        write_frame(picture, self.timelapse, step)

    def append_event(self, event: dict) -> None:
        self._events.write(json.dumps(event) + "\n")

    def append_quality(self, result: dict) -> None:
        self._quality = self._quality or self._open(self.quality_path)
        self._quality.write(json.dumps(result) + "\n")

    def append_histograms(self, step: int, edges: np.ndarray, real: np.ndarray, fake: np.ndarray) -> None:
        """D's score counts since the previous line (one line per timelapse frame)."""
        self._histograms = self._histograms or self._open(self.histograms_path)
        self._histograms.write(json.dumps({"step": step, "edges": np.round(edges, 4).tolist(),
                                           "real": real.astype(int).tolist(), "fake": fake.astype(int).tolist()}) + "\n")

    @staticmethod
    def _open(path: Path) -> Appender:
        try:
            return Appender(path)
        except OSError as exc:
            raise UserError(f"cannot write {path.name}: {exc.strerror or exc}") from None

    def close(self) -> None:
        for appender in (self._metrics, self._events, self._quality, self._histograms):
            if appender is not None:
                appender.close()


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


def read_jsonl(path: Path) -> list[dict]:
    """The JSON objects of a .jsonl file, skipping a line a crash cut short."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(item, dict):
            out.append(item)
    return out


def read_metrics(path: Path, through_step: float = float("inf")):
    """(steps, {name: values}) of metrics.csv's rows up to through_step, skipping a row a crash cut
    short; None without the file."""
    if not path.exists():
        return None
    steps, values = [], {name: [] for name in STAT_NAMES}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                step, numbers = int(row["step"]), [float(row[name]) for name in STAT_NAMES]
            except (KeyError, TypeError, ValueError):
                continue
            if step <= through_step:
                steps.append(step)
                for name, number in zip(STAT_NAMES, numbers):
                    values[name].append(number)
    return np.asarray(steps, np.int64), {name: np.asarray(v, np.float32) for name, v in values.items()}
