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


def test_a_run_written_before_the_augment_column_gets_it_on_resume_with_what_its_rows_trained_with(tmp_path):
    from core.storage.rundir import RunDir

    old_header = ",".join(METRIC_COLUMNS[:-1])  # before train.augment could change mid-run
    old_rows = ["\r\n".join(line.rsplit(",", 1)[0] for line in rows_text([1, 2, 3]).splitlines())]
    (tmp_path / "metrics.csv").write_text(old_header + "\r\n" + old_rows[0] + "\r\n" + "4,17000")  # a row cut short
    (tmp_path / "events.jsonl").write_text("")
    RunDir(tmp_path, resume_from=(3, []))
    rows = read_rows(tmp_path / "metrics.csv")
    assert list(rows[0]) == list(METRIC_COLUMNS) and [r["step"] for r in rows] == ["1", "2", "3"]
    assert settings_from_row(rows[0]) == SETTINGS and rows[0]["augment"] == "off"
    augmented = Settings(0.5, 1.25, False, 2e-4, 1e-3, 2, 1, "hinge", "color,cutout")
    scalars = {name: np.zeros(1, np.float32) for name in STAT_NAMES}
    with open(tmp_path / "metrics.csv", "a", newline="") as f:
        f.write(format_rows(np.array([4]), np.zeros(1), scalars, augmented))
    assert settings_from_row(read_rows(tmp_path / "metrics.csv")[-1]).augment == "color,cutout"
