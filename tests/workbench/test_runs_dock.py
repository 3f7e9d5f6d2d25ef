"""Comparing runs: the Runs dock lists run directories, overlays the ticked ones in the other docks with
their fork points, shows two runs' samples side by side and exports the comparison."""
import csv
import re

import pytest
from PIL import Image

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel

from core.cli import main as hinge_train
from core.storage.live import read_heartbeat
from core.storage.run_index import nearest_frame
from tests.workbench.conftest import wait_for
from tests.workbench.test_attach import headless  # noqa: F401 - a fixture
from workbench.docks.side_by_side import FULL_PX


def train(run, *extra):
    assert hinge_train(["train", "--set", "train.threads=1", "--set", "train.batch_size=32",
                        "--set", "train.samples_every_s=0.2", "--run-dir", str(run), *extra]) == 0


def test_ticked_runs_overlay_in_every_compared_dock_and_export(window, qtbot, tmp_path):
    parent, fork = tmp_path / "parent", tmp_path / "fork"
    train(parent, "--preset", "ring8", "--steps", "120", "--set", "train.checkpoint_every=60", "--set", "eval.every=60")
    train(fork, "--resume", str(parent / "checkpoints" / "step-60.pt"), "--steps", "60",
          "--set", "loss.margin_real=0.3")
    runs = window.runs
    runs.root = tmp_path
    runs.scan()
    names = [runs.table.topLevelItem(i).text(0) for i in range(runs.table.topLevelItemCount())]
    assert sorted(names) == ["fork", "parent"]
    fork_row = next(runs.table.topLevelItem(i) for i in range(2) if runs.table.topLevelItem(i).text(0) == "fork")
    assert fork_row.text(4) == "parent @ 60"

    runs.tick(parent, fork)
    assert [run.name for run, _ in runs.picked] == names and len({c for _, c in runs.picked}) == 2
    curves = [i for i in window.losses.overlay.items if hasattr(i, "getData")]
    assert len(curves) == 4  # D and G of each run
    assert [len(c.getData()[0]) for c in curves] == [120, 120, 60, 60] or \
        [len(c.getData()[0]) for c in curves] == [60, 60, 120, 120]
    forks = [i for i in window.losses.overlay.items if not hasattr(i, "getData")]
    assert [f.value() for f in forks] == [60]
    assert len(window.margins.overlay.items) == 5  # two shares per run and the fork
    assert any(hasattr(i, "getData") for i in window.quality.overlay.items)  # the parent's scores

    runs.step.setValue(100)
    assert all(not picture.pixmap().isNull() for picture in runs.side_by_side.pictures)
    first = runs.side_by_side.pictures[0]
    qtbot.mouseClick(first, Qt.MouseButton.LeftButton)  # too small to read in a laptop's tab: both at full size
    full = next(d for d in runs.side_by_side.findChildren(QDialog) if d.isVisible())
    shown = [label.pixmap() for label in full.findChildren(QLabel) if not label.pixmap().isNull()]
    assert len(shown) == 2 and shown[0].width() >= max(first.source.width(), FULL_PX) > first.pixmap().width()
    full.close()

    table = runs.export(str(tmp_path / "compare.csv"))
    with open(table) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 180 and {r["run"] for r in rows} == {"parent", "fork"}
    picture = runs.export(str(tmp_path / "compare.png"))
    assert Image.open(picture).size[1] > 300

    runs.tick(parent)
    assert len([i for i in window.losses.overlay.items if hasattr(i, "getData")]) == 2


@pytest.mark.slow
def test_a_ticked_run_that_is_still_training_is_followed(window, qtbot, tmp_path, headless):  # noqa: F811
    run = tmp_path / "training"
    headless(run)
    wait_for(qtbot, lambda: (read_heartbeat(run) or {}).get("step", 0) > 100 and nearest_frame(run, 0) is not None)
    runs = window.runs
    runs.root = tmp_path
    runs.scan()
    runs.tick(run)
    first = len(window.losses.overlay.items[0].xData)
    shown = runs.step.value()
    wait_for(qtbot, lambda: read_heartbeat(run)["step"] > shown + 500)
    runs.scan()  # what the dock does at its turn to redraw
    assert len(window.losses.overlay.items[0].xData) > first + 500  # the curve follows the run
    titled = int(re.search(r"step ([\d,]+)", runs.side_by_side.titles[0].text()).group(1).replace(",", ""))
    assert runs.step.value() > shown + 500 and titled > shown + 250  # the frame nearest the run's newest step
    runs.step.setValue(100)  # a step the user chose stays
    runs.scan()
    wait_for(qtbot, lambda: read_heartbeat(run)["step"] > runs.picked[0][0].last_step)
    runs.scan()
    assert runs.step.value() == 100
