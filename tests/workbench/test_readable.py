"""Every view readable: the rules for colours of compared runs, for axis ranges and for small windows, each
checked on the docks as they draw real telemetry (built here, as the engine publishes it)."""
import dataclasses
import json

import numpy as np
import pyqtgraph as pg
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from core.protocol import commands as C
from core.protocol.telemetry import STAT_NAMES, Scores, Settings, Telemetry
from core.pictures import image_grid, label_step, nice_ticks, points_figure, save_png, write_timelapse
from core.storage.layout import RunLayout
from core.storage.run_index import read_run
from core.storage.rundir import step_files
from tests.workbench.conftest import wait_for
from tests.workbench.dialogs import answer, choose_file, menu_action
from workbench.colours import FAKE, LIVE, REAL, RUNS, rgb
from workbench.docks import PLOT_MIN_PX
from workbench.docks.health import EVIDENCE_MIN_PX

SETTINGS = Settings(1.0, 1.0, True, 2e-4, 2e-4, 1, 1)
EDGES = np.linspace(-10, 10, 161)


def telemetry(steps, values=None, real=None, fake=None, beyond=np.zeros((2, 2)), settings=SETTINGS, run_dir="",
              quality=(), **info):
    steps = np.asarray(steps)
    values = values if values is not None else {name: np.full(len(steps), 0.5, np.float32) for name in STAT_NAMES}
    counts = np.zeros(160)
    step = int(steps[-1]) if len(steps) else 0
    scores = Scores(step, EDGES, counts if real is None else real, counts if fake is None else fake, *beyond)
    return Telemetry(step=step, state="running", elapsed_s=1.0, steps_per_s=10.0, settings=settings, steps=steps,
                     scalars=values, scores=scores, quality=tuple(quality), info={"run_dir": run_dir, **info})


def show(window, t):
    window.model.ingest(t)
    for dock in window.docks:
        dock.refresh(window.model)


def write_run(path, steps=300, parent=None):
    """A run directory as the engine leaves one: config.json and metrics.csv."""
    from core.storage.metrics_csv import HEADER, format_rows

    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"preset": "ring8", **({"parent": parent} if parent else {})}))
    steps_ = np.arange(1, steps + 1)
    scalars = {name: np.sin(steps_ / 30).astype(np.float32) + i for i, name in enumerate(STAT_NAMES)}
    (path / "metrics.csv").write_text(HEADER + format_rows(steps_, np.full(steps, 1.0), scalars, SETTINGS))
    return path


def test_compared_runs_never_take_a_live_colour_and_stay_out_of_the_legend(window, tmp_path):
    distance = lambda a, b: sum((x - y) ** 2 for x, y in zip(rgb(a), rgb(b))) ** 0.5  # noqa: E731
    assert min(distance(run, live) for run in RUNS for live in LIVE) > 60
    own = write_run(tmp_path / "parent")
    fork = write_run(tmp_path / "fork", 200, {"run_dir": str(own), "step": 100, "checkpoint": "x"})
    show(window, telemetry(np.arange(1, 301), run_dir=str(own)))
    window.runs.root = tmp_path
    window.runs.refresh(window.model)
    window.runs.tick(own, fork)
    title = window.losses.plot.getPlotItem().titleLabel.text
    assert all(name in title for name in ("D loss", "G loss", "D real part", "D fake part"))
    assert "fork" not in title and "parent" not in title  # the key is the live series', whatever is compared
    overlaid = [item for item in window.losses.overlay.items if isinstance(item, pg.PlotDataItem)]
    assert len(overlaid) == 2  # the fork's D and G: this window's own run is drawn live, not again
    live_z = min(curve.zValue() for curve in window.losses.curves.values())
    for item in overlaid:
        assert item.opts["pen"].color().name() not in LIVE and item.zValue() < live_z
    fork_line = next(i for i in window.losses.overlay.items if isinstance(i, pg.InfiniteLine))
    assert fork_line.label.format == "fork" and fork_line.label.angle == 0  # short, level, inside the plot


def test_the_loss_axis_follows_the_curves_not_a_spike_the_run_recovered_from(window, qtbot):
    steps = np.arange(1, 5001)
    values = {name: np.full(len(steps), 1.3, np.float32) + 0.1 * np.sin(steps / 50) for name in STAT_NAMES}
    for name in values:
        values[name][2000:2010] = 800.0  # a divergence for ten steps, then back to health
    window.losses.slider.setValue(0)
    show(window, telemetry(steps, values))
    low, high = window.losses.plot.getViewBox().viewRange()[1]
    assert high < 5 and low > -1, (low, high)
    view = window.losses.plot.getViewBox()
    view.setYRange(0, 1000, padding=0)
    view.sigRangeChangedManually.emit([False, True])  # the user zoomed out to look at the spike
    show(window, telemetry(steps[-1:] + 1))
    assert view.viewRange()[1][1] > 900  # their view holds
    auto = window.losses.plot.getPlotItem().autoBtn
    auto.clicked.emit(auto)
    show(window, telemetry(steps[-1:] + 2))
    assert view.viewRange()[1][1] < 5  # "A" hands it back to the rule


def test_the_score_axis_follows_the_scores_keeps_the_margins_and_says_what_is_cut_off(window):
    centres = (EDGES[:-1] + EDGES[1:]) / 2
    near = np.exp(-((centres - 0.3) / 0.2) ** 2) * 100
    show(window, telemetry([1], real=near, fake=near[::-1], settings=Settings(0.8, 0.5, True, 2e-4, 2e-4, 1, 1)))
    low, high = window.margins.plot.getViewBox().viewRange()[0]
    assert -2.5 < low <= -0.5 and 0.8 <= high < 2.5  # a few units, not -10..10, with both margins in view
    axis = window.margins.plot.getAxis("bottom")
    assert axis.labelText == "discriminator score D" and axis.labelUnitPrefix == ""  # no SI prefix within ±1
    show(window, telemetry([2], real=near, fake=near, beyond=np.array([[0, 30], [120, 0]])))
    text = axis.labelText
    assert "of real scores" in text and "of fake scores" in text and "beyond ±10" in text
    show(window, telemetry([3], real=near * 20, fake=near * 20, beyond=np.array([[0, 0], [1, 0]])))
    assert axis.labelText == "discriminator score D"  # one score in thousands is not worth a line (0.0%)


def test_the_window_opens_within_the_screen(window):  # the offscreen screen is 800x800, smaller than it asks
    free = window.screen().availableGeometry()
    assert window.width() <= free.width() and window.height() <= free.height()


def test_at_laptop_size_every_plot_stays_readable_and_the_quality_plot_waits_for_a_score(window, qtbot):
    window.resize(1366, 768)
    window.health.raise_()
    qtbot.wait(50)
    assert window.health.plot.height() >= EVIDENCE_MIN_PX
    window.quality.raise_()
    show(window, telemetry([10], eval_every=1000, eval_due=125))
    assert not window.quality.plot.isVisibleTo(window.quality) and "step 125" in window.quality.status.text()
    show(window, telemetry([125], quality=[{"step": 125, "modes_covered": 8, "train_seconds": 4.0}]))
    qtbot.wait(50)
    assert window.quality.plot.isVisibleTo(window.quality) and window.quality.plot.height() >= PLOT_MIN_PX


def raise_alert(window, run_dir, message="G is collapsing: only 3 of 10 classes appear (this run reached 10).",
                rewind=None, **info):
    """An active g_collapse alert; `rewind` is what the engine says a rewind to before it would do."""
    show(window, telemetry([500], run_dir=str(run_dir), rewind=rewind or {"step": 300}, **info))
    window.model.log.append({"kind": "alert", "name": "g_collapse", "step": 500, "since": 400, "message": message,
                             "suggestion": "halve G's learning rate (0.0002 -> 0.0001)", "evidence": {},
                             "action": {"kind": "set_learning_rates", "lr_g": 1e-4}})
    window.model.version += 1
    window.health.raise_()
    window.health.refresh(window.model)


def test_the_alerts_table_wraps_what_it_saw_instead_of_cutting_it(window, qtbot, tmp_path):
    window.resize(1366, 768)
    raise_alert(window, tmp_path)
    item = window.health.history.topLevelItem(0)
    assert "only 3 of 10 classes" in item.text(2) and window.health.history.wordWrap()
    assert window.health.history.textElideMode() == Qt.TextElideMode.ElideNone
    assert "lr G 0.0002" in window.health.after_rewind.text() and window.health.rewind_apply_button.isEnabled()


def test_rewind_is_offered_where_the_engine_says_it_would_go(window, tmp_path):
    why = "No checkpoint from before the alert is kept (train.keep_checkpoints and train.keep_every decide)"
    raise_alert(window, tmp_path, rewind={"why_not": why})
    health = window.health
    assert not health.rewind_button.isEnabled() and not health.rewind_apply_button.isEnabled()
    assert health.after_rewind.text() == why + ": no rewind possible."
    show(window, telemetry([501], run_dir=str(tmp_path), rewind={"step": 200}))
    health.refresh(window.model)
    assert health.rewind_button.isEnabled() and "step-200.pt" in health.rewind_button.toolTip()


def test_a_suggestion_goes_with_its_alert_and_with_its_being_applied(window, tmp_path):
    raise_alert(window, tmp_path)  # suggests lr G 0.0001, where 0.0002 is in force
    health = window.health
    assert health.apply_button.isEnabled() and health.rewind_apply_button.isEnabled()
    show(window, telemetry([510], run_dir=str(tmp_path), rewind={"step": 300},
                           settings=Settings(1.0, 1.0, True, 1e-4, 2e-4, 1, 1)))  # applied: in force now
    health.refresh(window.model)
    assert not health.apply_button.isEnabled() and not health.rewind_apply_button.isEnabled()
    window.model.log.append({"kind": "alert_cleared", "name": "g_collapse", "raised_at": 500, "why": "recovered",
                             "step": 900})
    show(window, telemetry([900], run_dir=str(tmp_path), rewind={"step": 300}))  # lr G 0.0002 again, but healthy
    health.refresh(window.model)
    assert not health.apply_button.isEnabled() and not health.rewind_apply_button.isEnabled()
    assert health.rewind_button.isEnabled()  # going back before the last alert stays possible


def test_linking_the_margins_makes_them_equal_at_once(window):
    sent = []
    window.controls.send = sent.append
    show(window, telemetry([1], settings=Settings(1.484, 1.0, True, 2e-4, 2e-4, 1, 1)))
    window.controls.link.setChecked(True)
    assert sent == [C.SetMargins(1.484, 1.484)]


def test_a_refused_fork_setting_reopens_the_dialog_on_what_was_typed(window, qtbot, tmp_path):
    from tests.workbench.dialogs import read_message
    from PySide6.QtWidgets import QInputDialog

    seen, said = [], []

    def type_settings(text):
        def fill(dialog):
            assert isinstance(dialog, QInputDialog)
            seen.append(dialog.textValue())
            dialog.setTextValue(text)
            dialog.accept()
        return fill

    def keep(dialog):
        dialog.setTextValue(dialog.textValue())
        dialog.accept()

    def cancel(dialog):
        seen.append(dialog.textValue())
        dialog.reject()

    run = write_run(tmp_path / "parent")
    pending = answer(qtbot, type_settings("optim.lr_d=0.001\ntrain.n_dis=zero"), keep, read_message(said), cancel)
    window.file_menu.fork_dialog(str(run / "checkpoints" / "step-100.pt"))
    assert pending == [] and "train.n_dis" in said[0]
    assert seen[-1] == "optim.lr_d=0.001\ntrain.n_dis=zero"  # what was typed, not the defaults


def test_attaching_asks_before_it_stops_the_run_this_window_trains(window, qtbot, tmp_path):
    class Training:
        """Stands for the engine process this window trains (asked to stop, it stops at once)."""

        working = alive = True

        def poll(self):
            return []

        def request_stop(self):
            self.working = self.alive = False

        def wait(self, seconds):
            pass

        def stop(self, timeout=None):
            self.request_stop()

    other = write_run(tmp_path / "other")
    window.runner = Training()
    asked = []

    def decline(dialog):
        assert isinstance(dialog, QMessageBox)
        asked.append(dialog.text())
        dialog.reject()

    pending = answer(qtbot, choose_file(other), decline)
    menu_action(window, "File", "Attach to run…").trigger()
    wait_for(qtbot, lambda: pending == [])
    assert "stops the run this window trains" in asked[0] and isinstance(window.runner, Training)


def test_a_timelapse_frame_keeps_its_own_title_and_a_2d_colour_bar_stays_smooth(tmp_path):
    frame = np.full((100, 120, 3), 200, np.uint8)
    labelled = np.asarray(label_step(Image.fromarray(frame), 1234))
    assert labelled.shape[0] > 100 and np.array_equal(labelled[:100], frame)  # the step goes below, not over
    yy, xx = np.mgrid[-1:1:64j, -1:1:64j]
    RunLayout(tmp_path).timelapse.mkdir(parents=True)
    figures = []
    for i in range(2):
        field = 3 * np.sin(3 * xx + i) * np.cos(2 * yy)
        rng = np.random.default_rng(i)
        figures.append(points_figure(rng.normal(size=(800, 2)), rng.normal(size=(800, 2)), 2.0, None, field, i, (1, 1),
                                     360))
        save_png(figures[-1], RunLayout(tmp_path).frame(i))
    gif = Image.open(write_timelapse(step_files(RunLayout(tmp_path).timelapse, ".png"), tmp_path / "t.gif",
                                     figures=True))
    gif.seek(1)
    got = np.asarray(gif.convert("RGB"))[26:386, 436:450].astype(float).mean(1)
    want = figures[1][26:386, 436:450].astype(float).mean(1)
    assert np.abs(got - want).max() < 8  # the score ramp survives the GIF's palette without bands


def test_the_2d_figure_has_round_ticks_and_the_margins_contours():
    assert list(nice_ticks(2.0)) == [-2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2]
    assert list(nice_ticks(6.5)) == [-6, -4, -2, 0, 2, 4, 6]
    xx = np.mgrid[-1:1:64j, -1:1:64j][1]
    figure = points_figure(np.zeros((1, 2)), None, 1.0, None, 4 * xx, None, (1.0, 2.0), 400)  # D = 4x
    plot = figure[26:426, 52:452]
    for colour, x in ((REAL, 0.25), (FAKE, -0.5)):  # D = +m_real at x = 0.25, D = -m_fake at x = -0.5
        columns = np.nonzero((plot == rgb(colour)).all(2).any(0))[0]
        assert len(columns) and abs((columns.mean() / 399) * 2 - 1 - x) < 0.02


def test_runs_dock_steps_follow_the_runs_after_hiding_behind_a_tab(window, qtbot, tmp_path):
    run = write_run(tmp_path / "run")
    (run / "live").mkdir()
    window.runs.root = tmp_path
    window.runs.raise_()
    window.runs.refresh(window.model)
    (run / "live" / "heartbeat.json").write_text(json.dumps({"step": 16130, "state": "running"}))
    window.controls.raise_()
    qtbot.wait(20)
    window.runs.raise_()
    wait_for(qtbot, lambda: window.runs.table.topLevelItem(0).text(2) == "16,130", timeout=12_000)
    assert read_run(run).last_step == 300


def sample_view(count=64, cell=32, step=900):
    from core.protocol.telemetry import Samples

    images = np.random.default_rng(0).integers(0, 255, (count, cell, cell, 1), dtype=np.uint8)
    return Samples(step, grid=image_grid(images), cell=cell, count=count), images


def shown_cell_px(window) -> float:
    """How many screen pixels one sample of the Samples dock spans."""
    box = window.samples.image_box
    scale = box.width() / box.viewRect().width()
    return scale * window.samples._cell


def test_the_samples_fill_their_view_at_laptop_size_and_large(window, qtbot):
    for size, least_px in (((1366, 768), 26), ((1920, 1080), 40)):
        window.resize(*size)
        window.samples.raise_()
        view, images = sample_view()
        t = telemetry([900])
        window.model.ingest(dataclasses.replace(t, samples=view))
        window.samples.refresh(window.model)
        qtbot.wait(50)
        grid, view_size = window.samples._grid, window.samples.image_view.size()
        pitch = window.samples._cell + 2
        cols = (grid.shape[1] - 2) // pitch
        assert np.array_equal(window.samples._cells[:, :, :, :], images)  # every sample, in order
        used = max(grid.shape[1] * shown_cell_px(window) / 32 / view_size.width(),
                   grid.shape[0] * shown_cell_px(window) / 32 / view_size.height())
        assert used > 0.9, f"{size}: {cols} columns leave the view {1 - used:.0%} empty"
        assert shown_cell_px(window) >= least_px, f"{size}: a digit is drawn {shown_cell_px(window):.0f} px wide"


def test_a_class_conditional_grid_keeps_whole_rows_of_classes():
    from workbench.docks.samples import best_columns

    assert best_columns(64, 32, 800, 400) == 11  # wide: 11 x 6 (two cells empty) beats 8 x 8 by a third
    assert best_columns(64, 32, 400, 400) == 8
    assert best_columns(50, 32, 500, 300, classes=10) == 10  # rows 0-9, not 0-8 then 9-7 ...
