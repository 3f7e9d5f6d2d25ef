"""Sweeps in the window: the Runs dock groups a sweep's runs under one row, double-clicking it ranks the arms in
the Sweep dock (the table's means are the runs' own scores, it sorts by a click on a header, ticked arms draw
their seeds' band); File > Sweep from here forks the live run into every arm of a grid."""
import json
import statistics
import subprocess
import sys

import pytest
from PySide6.QtCore import QPoint, Qt

from core.base.files import read_jsonl
from core.protocol import commands as C
from core.storage.inbox import append_command
from tests.workbench.conftest import wait_for
from tests.workbench.dialogs import answer, enter, menu_action
from tests.workbench.test_attach import headless  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(480)]  # a real sweep is trained first


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory):
    """A real sweep: ring8, two margins, two seeds, 600 steps each, scored every 300."""
    root = tmp_path_factory.mktemp("sweeps")
    out = root / "margins"
    subprocess.run([sys.executable, "-m", "core.cli", "sweep", "--preset", "ring8", "--grid",
                    "loss.margin_real=0.5,2", "--seeds", "2", "--steps", "600", "--set", "eval.every=300",
                    "--set", "eval.early=0", "--set", "train.batch_size=32", "--parallel", "2", "--out", str(out)],
                   check=True, stdout=subprocess.DEVNULL, timeout=360)
    return out


def mean_score(out, arm):
    scores = [float(read_jsonl(run / "quality.jsonl")[-1]["high_quality_rate"])
              for run in sorted((out / "runs").glob(f"{arm}-seed-*"))]
    return statistics.fmean(scores)


def test_the_runs_dock_groups_a_sweep_and_opens_it_ranked(window, qtbot, sweep_folder):
    window.runs.raise_()  # its tab, as a user clicks it
    window.runs.root = sweep_folder.parent
    window.runs.scan()
    tree = window.runs.table
    group = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
                 if tree.topLevelItem(i).text(0) == "sweep margins")
    assert group.childCount() == 4  # 2 arms x 2 seeds, under their sweep's row
    tree.scrollToItem(group)
    rect = tree.visualItemRect(group)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # a double-click's press
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    dock = window.sweep
    wait_for(qtbot, lambda: dock.isVisible() and dock.table.topLevelItemCount() == 2)
    shown = {dock.table.topLevelItem(i).text(1): float(dock.table.topLevelItem(i).text(2)) for i in range(2)}
    for arm, mean in shown.items():
        assert mean == pytest.approx(mean_score(sweep_folder, arm), rel=1e-3)
    first = dock.table.topLevelItem(0)
    assert first.text(0) == "1" and float(first.text(2)) == max(shown.values())  # higher high_quality_rate first
    assert max(shown.values()) > 0
    axis = dock.bars.getAxis("bottom")
    ticks = [label for _, label in axis._tickLevels[0]]  # each arm by its values, short enough not to overlap
    assert sorted(ticks) == sorted(" / ".join(row["settings"].values()) for row in dock.rows)
    assert dock.bars.getPlotItem().titleLabel.text.endswith("arms by margin_real")  # a title: nothing below covers it
    low, high = dock.bars.getViewBox().viewRange()[1]
    assert 0 <= low and high <= 1  # a share's axis stays a share

    header = dock.table.header()
    x = header.sectionViewportPosition(2) + header.sectionSize(2) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    values = [dock.table.topLevelItem(i).data(2, Qt.ItemDataRole.UserRole) for i in range(2)]
    assert dock.table.sortColumn() == 2 and values in (sorted(values), sorted(values, reverse=True))
    bands = [item for item in dock.curves.getPlotItem().items if item.__class__.__name__ == "FillBetweenItem"]
    assert len(bands) == 2  # both arms ticked (the top three are), each its seeds' band


def test_sweep_from_here_forks_the_live_run_into_every_arm(window, qtbot, tmp_path, headless):  # noqa: F811
    run = tmp_path / "parent"
    headless(run, "--set", "train.checkpoint_every=100000")
    wait_for(qtbot, lambda: (run / "live" / "heartbeat.json").exists())
    window.attach(str(run))
    wait_for(qtbot, lambda: window.runner.alive and window.model.settings is not None)
    pending = answer(qtbot, enter("loss.margin_fake=0.5,2"), enter(60), enter(2))
    menu_action(window, "File", "Sweep from here…").trigger()
    wait_for(qtbot, lambda: pending == [] and bool(window.forks))
    process = window.forks.running[0].process
    try:
        assert process.wait(360) == 0
    finally:
        append_command(run, C.Stop())
    out = next(p for p in tmp_path.iterdir() if "-sweep-" in p.name)
    saved = next(json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()
                 if json.loads(line)["kind"] == "save_checkpoint")
    assert json.loads((out / "sweep.json").read_text())["start_from"] == saved["path"]
    for arm in ("margin_fake-0.5", "margin_fake-2"):
        record = json.loads((out / "runs" / f"{arm}-seed-0" / "config.json").read_text())
        assert record["parent"]["step"] == saved["step"] and record["loss"]["margin_fake"] == float(arm[12:])
    window.runs.root = tmp_path
    window.runs.scan()
    assert any(window.runs.table.topLevelItem(i).text(0) == f"sweep {out.name}"
               for i in range(window.runs.table.topLevelItemCount()))


def test_a_grid_that_does_not_plan_is_said_and_typed_again(window, qtbot, tmp_path, headless):  # noqa: F811
    from tests.workbench.dialogs import read_message

    run = tmp_path / "parent"
    headless(run, "--set", "train.checkpoint_every=100000")
    wait_for(qtbot, lambda: (run / "live" / "heartbeat.json").exists())
    window.attach(str(run))
    wait_for(qtbot, lambda: window.runner.alive and window.model.settings is not None)
    said, typed = [], []

    def read_typed(dialog):
        typed.append(dialog.textValue())
        dialog.reject()

    pending = answer(qtbot, enter("loss.margn_fake=0.5,2"), enter(60), enter(1), read_message(said), read_typed)
    menu_action(window, "File", "Sweep from here…").trigger()
    wait_for(qtbot, lambda: pending == [])
    assert "margn_fake" in said[0] and typed == ["loss.margn_fake=0.5,2"] and len(window.forks) == 0
    assert not any("-sweep-" in p.name and (p / "sweep.json").exists() for p in tmp_path.iterdir())
