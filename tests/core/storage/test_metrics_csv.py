"""metrics.csv: rows written with the settings in force, read back whole or as they are appended."""
import numpy as np

from core.protocol.telemetry import STAT_NAMES, Settings
from core.storage.metrics_csv import HEADER, METRIC_COLUMNS, MetricsParser, format_rows, read_metrics, read_rows, \
    settings_from_row

SETTINGS = Settings(0.5, 1.25, False, 2e-4, 1e-3, 2, 1)


def rows_text(steps):
    scalars = {name: np.linspace(0, 1, len(steps)).astype(np.float32) + i for i, name in enumerate(STAT_NAMES)}
    return format_rows(np.asarray(steps), np.full(len(steps), 1700000000.25), scalars, SETTINGS)


def test_rows_round_trip_with_the_settings_they_were_trained_with(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text(HEADER + rows_text([1, 2, 3]))
    rows = read_rows(path)
    assert list(rows[0]) == list(METRIC_COLUMNS) and [r["step"] for r in rows] == ["1", "2", "3"]
    assert settings_from_row(rows[-1]) == SETTINGS
    steps, scalars = read_metrics(path, through_step=2)
    assert list(steps) == [1, 2] and np.allclose(scalars["g_loss"], [1.0, 1.5])
    assert read_metrics(tmp_path / "none.csv") is None


def test_a_row_cut_short_is_skipped_and_appended_rows_are_read_as_they_come(tmp_path):
    lines = (HEADER + rows_text([1, 2])).splitlines()
    parser = MetricsParser()
    assert [r["step"] for r in parser.rows(lines[:2] + [lines[2][:15]])] == ["1"]  # the second row half-written
    assert [r["step"] for r in parser.rows(rows_text([3]).splitlines())] == ["3"]
    assert parser.last_row["step"] == "3"
