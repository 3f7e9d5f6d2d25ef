"""The main window: docks around a live run, menus, status bar, and the timer that feeds them."""
from __future__ import annotations

import platform
import time
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QInputDialog, QLabel, QMainWindow,
                               QMessageBox, QPushButton, QToolBar)

import core
from core import commands as C
from core import config as config_mod
from core.errors import UserError
from core.export import copy_metrics, write_timelapse
from core.rundir import default_run_dir
from workbench.docks.controls import ControlsDock
from workbench.docks.losses import LossesDock
from workbench.docks.margins import MarginsDock
from workbench.docks.quality import QualityDock
from workbench.docks.run_info import RunDock
from workbench.docks.samples import SamplesDock
from workbench.model import RunModel, describe_event
from workbench.runner import Failure, Finished, Runner, RunSpec

LAYOUT_VERSION = 2  # 2: the Quality dock
POLL_MS = 33  # telemetry is taken in every tick (30 Hz); at most one dock redraws per tick,
DOCK_PERIOD_S = 0.5  # and each dock at most this often, so the engine keeps the cores


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, in_process: bool = False, exit_when_done: bool = False):
        super().__init__()
        pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background="w", foreground="k")
        self.setWindowTitle("Hinge-GAN Workbench")
        self.resize(1400, 880)
        self.settings = settings or QSettings("hinge-workbench", "hinge-workbench")
        self.runner = Runner(in_process=in_process)
        self.model = RunModel()
        self.spec: RunSpec | None = None
        self.exit_when_done = exit_when_done
        self._next_dock = 0
        self._next_redraw = 0.0
        self._drawn_at: dict[QDockWidget, float] = {}
        self._drawn_state = ""
        self._stopping = self._force_stop = False

        self.losses = LossesDock(self)
        self.margins = MarginsDock(self.model, self.send, self)
        self.samples = SamplesDock(self.send, self)
        self.controls = ControlsDock(self.model, self.send, self)
        self.run_info = RunDock(self)
        self.quality = QualityDock(self.send, self)
        self.docks = (self.losses, self.margins, self.samples, self.controls, self.run_info, self.quality)
        self.setDockNestingEnabled(True)
        self.addDockWidget(Qt.LeftDockWidgetArea, self.losses)
        self.addDockWidget(Qt.LeftDockWidgetArea, self.margins)
        self.addDockWidget(Qt.RightDockWidgetArea, self.samples)
        self.addDockWidget(Qt.RightDockWidgetArea, self.controls)
        self.tabifyDockWidget(self.controls, self.run_info)
        self.tabifyDockWidget(self.run_info, self.quality)
        self.controls.raise_()
        self.resizeDocks([self.losses, self.samples], [820, 580], Qt.Horizontal)
        self.resizeDocks([self.losses, self.margins], [480, 400], Qt.Vertical)
        self.resizeDocks([self.samples, self.controls], [600, 280], Qt.Vertical)
        self.setCentralWidget(None)
        self._default_layout = self.saveState(LAYOUT_VERSION)

        self._build_banner()
        self._build_status_bar()
        self._build_menus()
        self.restore_layout()

        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()

    # --- building ------------------------------------------------------------------------------

    def _build_banner(self) -> None:
        self.banner = QToolBar("Problem", self)
        self.banner.setObjectName("problem_banner")
        self.banner.setMovable(False)
        self.banner_label = QLabel()
        self.banner_label.setStyleSheet("color: #b00020; font-weight: bold; padding: 4px;")
        self.banner_label.setWordWrap(True)
        self.restart_button = QPushButton("Restart from last checkpoint")
        self.restart_button.clicked.connect(self.restart_from_last)
        self.banner.addWidget(self.banner_label)
        self.restart_action = self.banner.addWidget(self.restart_button)  # a toolbar shows widgets via actions
        self.addToolBar(Qt.TopToolBarArea, self.banner)
        self.banner.hide()

    def _build_status_bar(self) -> None:
        self.status_labels = {name: QLabel() for name in ("state", "step", "rate", "device")}
        for label in self.status_labels.values():
            self.statusBar().addPermanentWidget(label)

    def _action(self, menu, text, slot, shortcut=None, tip=None) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "New run from preset…", self.new_run_dialog, "Ctrl+N")
        self._action(file, "Open config…", self.open_config_dialog, "Ctrl+O")
        self._action(file, "Resume from checkpoint…", self.resume_dialog)
        file.addSeparator()
        self._action(file, "Save checkpoint", lambda: self.send(C.SaveCheckpoint()), "Ctrl+S")
        export = file.addMenu("Export samples")
        self.export_action = self._action(export, "As PNG grid…", lambda: self.export_samples_dialog(".png"),
                                          "Ctrl+E")
        self._action(export, "As PNG files…", lambda: self.export_samples_dialog(""))
        self._action(export, "As .npy array…", lambda: self.export_samples_dialog(".npy"))
        self._action(file, "Export timelapse GIF…", self.export_timelapse_dialog)
        self._action(file, "Export metrics CSV…", self.export_metrics_dialog)
        file.addSeparator()
        self._action(file, "Quit", self.close, "Ctrl+Q")

        run = bar.addMenu("&Run")
        self.pause_action = self._action(run, "Pause / resume", self.controls.toggle_pause, "Space")
        self._action(run, "Step once", lambda: self.send(C.Step(1)), "Ctrl+Right")
        self._action(run, "Step N", lambda: self.send(C.Step(self.controls.step_n.value())))
        self._action(run, "Spectral norm on/off", self.toggle_spectral_norm)
        self._action(run, "Evaluate now", lambda: self.send(C.Evaluate()), "Ctrl+Shift+E",
                     "Score the generator now (FID, coverage; mode metrics for 2D), in the background")

        view = bar.addMenu("&View")
        for dock in self.docks:
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        self._action(view, "Reset layout", self.reset_layout)

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "About", self.about)

    # --- running ---------------------------------------------------------------------------------

    def start(self, spec: RunSpec) -> None:
        """Stop whatever runs (it saves), then start spec."""
        self.stop_engine()
        self.model.reset()
        self.losses.clear()
        self.quality.clear()
        self.banner.hide()
        self.spec = spec
        self.runner.start(spec)
        self.statusBar().showMessage(f"starting {Path(spec.run_dir).name}…", 5000)

    def send(self, command) -> None:
        if self.runner.alive:
            self.runner.send(command)
        else:
            self.statusBar().showMessage("no run is active: start one from the File menu", 5000)

    def toggle_spectral_norm(self) -> None:
        """Flip the state the engine last echoed (a widget behind a tab may not show it yet)."""
        if self.model.settings is not None:
            self.send(C.SetSpectralNorm(not self.model.settings.spectral_norm))

    def poll(self) -> None:
        for item in self.runner.poll():
            if isinstance(item, Failure):
                self.model.fail(item)
                self.show_problem(f"The engine stopped: {item.message}")
            elif isinstance(item, Finished):
                self.model.state = item.state
                self.model.version += 1
            else:
                self.model.ingest(item)
                for event in item.events:
                    self.statusBar().showMessage(describe_event(event), 6000)
                if item.state == "diverged":
                    self.show_problem(item.message)
        if self.model.state != self._drawn_state:  # a change of state shows everywhere at once
            self._drawn_state = self.model.state
            for dock in self.docks:
                dock.refresh(self.model)
        elif (now := time.monotonic()) >= self._next_redraw:  # otherwise one dock at a time, in turn
            dock = self.docks[self._next_dock]
            self._next_dock = (self._next_dock + 1) % len(self.docks)
            self._next_redraw = now + DOCK_PERIOD_S / len(self.docks)
            due = now - self._drawn_at.get(dock, 0.0) >= getattr(dock, "REDRAW_PERIOD_S", DOCK_PERIOD_S)
            if due and not dock.visibleRegion().isEmpty():  # a closed dock, or one behind a tab, waits
                dock.refresh(self.model)
                self._drawn_at[dock] = now
        self._refresh_status()
        if self.exit_when_done and self.model.state in ("done", "failed"):
            self.exit_when_done = False
            QTimer.singleShot(0, self.close)

    def _refresh_status(self) -> None:
        m = self.model
        self.status_labels["state"].setText(f"  {m.state}  ")
        self.status_labels["step"].setText(f"step {m.step:,}  ")
        self.status_labels["rate"].setText(f"{m.steps_per_s:.1f} steps/s  ")
        self.status_labels["device"].setText(m.info.get("device", "–"))

    def show_problem(self, text: str) -> None:
        self.banner_label.setText(text)
        last = self.last_checkpoint()
        self.restart_action.setVisible(last is not None)
        self.banner.show()

    def last_checkpoint(self) -> Path | None:
        if self.spec is None:
            return None
        path = Path(self.spec.run_dir) / "checkpoints" / "last.pt"
        return path if path.exists() else None

    def restart_from_last(self) -> None:
        last = self.last_checkpoint()
        if last is not None:
            self.start(RunSpec(None, self.spec.run_dir, self.spec.device, resume=str(last), paused=True))

    # --- dialogs -------------------------------------------------------------------------------

    def _run_config(self, cfg) -> None:
        device = self.spec.device if self.spec else "auto"
        self.start(RunSpec(cfg.to_dict(), str(default_run_dir(cfg.preset)), device))

    def new_run_dialog(self) -> None:
        names = config_mod.preset_names()
        current = names.index("digits") if "digits" in names else 0
        name, ok = QInputDialog.getItem(self, "New run", "Preset:", names, current, False)
        if ok:
            self._run_config(config_mod.load_preset(name))

    def open_config_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open config", "", "Config (*.json *.toml)")
        if path:
            try:
                self._run_config(config_mod.validate(config_mod.load_file(path)))
            except UserError as exc:
                QMessageBox.warning(self, "Cannot open config", str(exc))

    def resume_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Resume from checkpoint", "", "Checkpoints (*.pt)")
        if path:
            run_dir = Path(path).parent.parent if (Path(path).parent.parent / "config.json").exists() \
                else default_run_dir("resumed")
            self.start(RunSpec(None, str(run_dir), self.spec.device if self.spec else "auto", resume=path))

    def _ask_path(self, title: str, suffix: str) -> str | None:
        default = str(Path(self.model.info.get("run_dir", ".")) / "samples" / f"export-{self.model.step}{suffix}")
        if suffix:
            path, _ = QFileDialog.getSaveFileName(self, title, default, f"*{suffix}")
            return (path if path.endswith(suffix) else path + suffix) if path else None
        return QFileDialog.getExistingDirectory(self, title, str(Path(default).parent)) or None

    def export_samples_dialog(self, suffix: str) -> None:
        path = self._ask_path("Export samples", suffix)
        if path:
            self.send(C.ExportSamples(path if suffix else str(Path(path) / f"export-{self.model.step}"), n=64))

    def export_timelapse_dialog(self) -> None:
        path = self._ask_path("Export timelapse", ".gif")
        if path:
            self._run_file_action(lambda: write_timelapse(Path(self.model.info["run_dir"]) / "samples" / "timelapse",
                                                          path))

    def export_metrics_dialog(self) -> None:
        path = self._ask_path("Export metrics", ".csv")
        if path:
            self._run_file_action(lambda: copy_metrics(Path(self.model.info["run_dir"]) / "metrics.csv", path))

    def _run_file_action(self, action) -> None:
        try:
            written = action()
        except (UserError, KeyError) as exc:
            QMessageBox.warning(self, "Export failed", str(exc) or "no run yet")
            return
        self.statusBar().showMessage(f"wrote {written}", 6000)

    def about(self) -> None:
        import pyqtgraph
        import PySide6

        QMessageBox.about(self, "About Hinge-GAN Workbench", (
            f"<b>Hinge-GAN Workbench {core.__version__}</b><br>Train GANs with the hinge loss and watch them learn."
            f"<br><br>Python {platform.python_version()} · PySide6 {PySide6.__version__} · "
            f"pyqtgraph {pyqtgraph.__version__}<br>Engine device: {self.model.info.get('device', 'not started')}"))

    # --- layout and closing --------------------------------------------------------------------

    def restore_layout(self) -> None:
        geometry = self.settings.value("layout/geometry")
        state = self.settings.value("layout/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state, LAYOUT_VERSION)

    def save_layout(self) -> None:
        self.settings.setValue("layout/geometry", self.saveGeometry())
        self.settings.setValue("layout/state", self.saveState(LAYOUT_VERSION))
        self.settings.sync()

    def reset_layout(self) -> None:
        self.restoreState(self._default_layout, LAYOUT_VERSION)
        for dock in self.docks:
            dock.show()

    def stop_engine(self) -> None:
        """Stop the run and wait for its last save, however long a slow step takes on a busy machine. The
        window stays responsive meanwhile; asking to close again stops waiting and ends the engine."""
        self._force_stop = False
        if self.runner.working:
            self.runner.request_stop()
            self._stopping = True
            self.statusBar().showMessage("Saving the run (checkpoints/last.pt)… close again to quit without saving")
            try:
                while self.runner.working and not self._force_stop:
                    QApplication.processEvents(QEventLoop.AllEvents, 50)
                    self.runner.wait(0.05)
            finally:
                self._stopping = False
        self.runner.stop(timeout=0 if self._force_stop else None)

    def closeEvent(self, event) -> None:
        if self._stopping:  # a second request while the engine saves: stop waiting
            self._force_stop = True
            event.ignore()
            return
        self.timer.stop()
        self.save_layout()
        self.stop_engine()
        self.poll_final()
        super().closeEvent(event)

    def poll_final(self) -> None:
        for item in self.runner.poll():
            if not isinstance(item, (Failure, Finished)):
                self.model.ingest(item)
