"""metrics.csv: one row per training step, its statistics and the settings it was trained with."""
from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import numpy as np

from core.base.errors import UserError
from core.protocol.telemetry import STAT_NAMES, Settings

SETTING_COLUMNS = ("margin_real", "margin_fake", "spectral_norm", "lr_g", "lr_d", "n_dis", "threads", "loss", "augment")
LATER_COLUMNS = {"threads": "0", "loss": "hinge", "augment": "off"}  # columns added since the first release: what
# a row written before each one was trained with
METRIC_COLUMNS = ("step", "wall_time", *STAT_NAMES, *SETTING_COLUMNS)
TEXT_COLUMNS = ("loss", "augment")  # settings that are names, not numbers
HEADER = ",".join(METRIC_COLUMNS) + "\r\n"


def format_rows(steps: np.ndarray, times: np.ndarray, scalars: dict, settings: Settings) -> str:
    """The rows of these steps as CSV text, each with the settings in force."""
    tail = [settings.margin_real, settings.margin_fake, int(settings.spectral_norm), settings.lr_g, settings.lr_d,
            settings.n_dis, settings.threads, settings.loss, settings.augment]
    columns = [scalars[name] for name in STAT_NAMES]
    text = io.StringIO()
    writer = csv.writer(text)
    for i, step in enumerate(steps):
        writer.writerow([int(step), f"{times[i]:.3f}", *(f"{c[i]:.6g}" for c in columns), *tail])
    return text.getvalue()


def settings_from_row(row: dict) -> Settings:
    """The settings a row was trained with (a row of a run from before a column existed gets its default)."""
    return Settings(float(row["margin_real"]), float(row["margin_fake"]), row["spectral_norm"] in ("1", "True"),
                    float(row["lr_g"]), float(row["lr_d"]), int(row["n_dis"]), int(row.get("threads") or 0),
                    row.get("loss") or "hinge", row.get("augment") or "off")


class MetricsParser:
    """Rows of metrics.csv from its lines, read all at once or as they are appended: the first line is the
    header; a row a crash cut short is skipped."""

    def __init__(self):
        self.header: list[str] | None = None
        self.last_row: dict | None = None

    def rows(self, lines: list[str]) -> list[dict]:
        if self.header is None and lines:
            self.header, lines = next(csv.reader([lines[0]])), lines[1:]
        out = []
        for values in csv.reader(lines):
            if len(values) != len(self.header or ()):
                continue
            row = dict(zip(self.header, values))
            try:
                int(row["step"]), [float(row[name]) for name in STAT_NAMES]
            except (KeyError, ValueError):
                continue
            out.append(row)
        if out:
            self.last_row = out[-1]
        return out


def with_current_header(text: str) -> str | None:
    """A metrics.csv written before a column was added, with the column (each row gets LATER_COLUMNS' value),
    so a resumed run appends rows that match its header; None when the header is current already."""
    lines = text.splitlines()
    if not lines or lines[0] == HEADER.strip():
        return None
    header = next(csv.reader([lines[0]]))
    missing = METRIC_COLUMNS[len(header):]
    if tuple(header) != METRIC_COLUMNS[:len(header)] or any(name not in LATER_COLUMNS for name in missing):
        return None  # not a metrics.csv this code wrote: left as it is
    tail = [LATER_COLUMNS[name] for name in missing]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(METRIC_COLUMNS)
    for values in csv.reader(lines[1:]):
        if len(values) == len(header):  # a row a crash cut short stays out
            writer.writerow([*values, *tail])
    return out.getvalue()


def series(rows: list[dict]) -> tuple[np.ndarray, dict]:
    """(steps, {statistic: values}) of parsed rows."""
    steps = np.array([int(r["step"]) for r in rows], np.int64)
    return steps, {name: np.array([float(r[name]) for r in rows], np.float32) for name in STAT_NAMES}


def read_rows(path: str | Path) -> list[dict] | None:
    """Every whole row of a metrics.csv, as text by column; None without the file."""
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    return MetricsParser().rows(text.splitlines())


def read_metrics(path: str | Path, through_step: float = float("inf")) -> tuple[np.ndarray, dict] | None:
    """(steps, {statistic: values}) of the rows up to through_step; None without the file."""
    rows = read_rows(path)
    if rows is None:
        return None
    return series([r for r in rows if int(r["step"]) <= through_step])


def copy_metrics(metrics_csv: str | Path, path: str | Path) -> Path:
    """File > Export metrics: metrics.csv as it is, to `path`."""
    try:
        return Path(shutil.copyfile(metrics_csv, path))
    except OSError as exc:
        raise UserError(f"cannot copy metrics to {path}: {exc.strerror or exc}") from None
