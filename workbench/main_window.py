"""The main window: docks around a live run, menus, status bar, and the timer that feeds them."""
from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QEventLoop, QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox

from core.base.clock import since_boot
from core.protocol import commands as C
from core.protocol.describe import describe_event
from core.protocol.engine import Failure, Finished, Preparing, RunSpec, Startup
from core.protocol.states import EventKind, RunState, SeenState
from core.storage.layout import RunLayout, default_run_dir
from workbench.attached import AttachedRunner
from workbench.banner import ProblemBanner
from workbench.docks.controls import ControlsDock
from workbench.docks.health import HealthDock
from workbench.docks.loss_lab import LossLabDock
from workbench.docks.losses import LossesDock
from workbench.docks.margins import MarginsDock
from workbench.docks.quality import QualityDock
from workbench.docks.run_info import RunDock
from workbench.docks.runs import RunsDock
from workbench.docks.samples import SamplesDock
from workbench.docks.sweeps import SweepDock
from workbench.forks import Forks
from workbench.menus import build_menus
from workbench.model import RunModel
from workbench.redraw import RedrawTurns
from workbench.runner import Runner
from workbench.status_line import StatusLine

LAYOUT_VERSION = 6  # 2: the Quality dock; 3: the Runs dock; 4: the Health dock; 5: the Loss lab; 6: the Sweep dock
POLL_MS = 33  # telemetry is taken at every tick (30 Hz); the docks redraw in turns (workbench.redraw)


def fitting_size(width: int, height: int) -> QSize:
    """The window's first size: as asked, or the screen's free area where that is smaller (a 1366x768 laptop)."""
    screen = QGuiApplication.primaryScreen()
    free = screen.availableGeometry().size() if screen is not None else QSize(width, height)
    return QSize(min(width, free.width()), min(height, free.height()))


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, in_process: bool = False, exit_when_done: bool = False):
        super().__init__()
        pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background="w", foreground="k")
        self.setWindowTitle("Hinge-GAN Workbench")
        self.resize(fitting_size(1400, 880))
        self.settings = settings or QSettings("hinge-workbench", "hinge-workbench")
        self.in_process = in_process
        self.runner: Runner | AttachedRunner = Runner(in_process=in_process)
        self.model = RunModel()
        self.spec: RunSpec | None = None
        self.exit_when_done = exit_when_done
        self.remote = ("ssh", "hinge-train")  # how a run on another machine is reached: ssh, and hinge-train there
        self._stopping = self._force_stop = False
        self._history_due = False
        self.awaiting = {}  # command kind -> what to call with the event that applied or refused it
        self.forks = Forks()  # fork and sweep processes started from this window (they outlive it)

        self.losses = LossesDock(self)
        self.margins = MarginsDock(self.model, self.send, self)
        self.samples = SamplesDock(self.send, self.fetch, self)
        self.controls = ControlsDock(self.model, self.send, self)
        self.run_info = RunDock(self)
        self.quality = QualityDock(self.send, self)
        self.sweep = SweepDock(self)
        self.runs = RunsDock((self.losses, self.margins, self.quality), self, open_sweep=self.sweep.show_sweep)
        self.health = HealthDock(self.send, self)
        self.loss_lab = LossLabDock(self)
        self.docks = (self.losses, self.margins, self.samples, self.controls, self.run_info, self.quality,
                      self.health, self.runs, self.loss_lab, self.sweep)
        self.redraw = RedrawTurns(self.docks)
        self.setDockNestingEnabled(True)
        self.addDockWidget(Qt.LeftDockWidgetArea, self.losses)
        self.addDockWidget(Qt.LeftDockWidgetArea, self.margins)
        self.addDockWidget(Qt.RightDockWidgetArea, self.samples)
        self.addDockWidget(Qt.RightDockWidgetArea, self.controls)
        self.tabifyDockWidget(self.controls, self.run_info)
        self.tabifyDockWidget(self.run_info, self.quality)
        self.tabifyDockWidget(self.quality, self.health)
        self.tabifyDockWidget(self.health, self.runs)
        self.tabifyDockWidget(self.runs, self.loss_lab)
        self.tabifyDockWidget(self.loss_lab, self.sweep)
        self.controls.raise_()
        self.resizeDocks([self.losses, self.samples], [820, 580], Qt.Horizontal)
        self.resizeDocks([self.losses, self.margins], [480, 400], Qt.Vertical)
        self.resizeDocks([self.samples, self.controls], [390, 490], Qt.Vertical)  # the tabs need the height
        self.setCentralWidget(None)
        self._default_layout = self.saveState(LAYOUT_VERSION)

        self.banner = ProblemBanner(self.restart_from_last, self)
        self.addToolBar(Qt.TopToolBarArea, self.banner)
        self.status_line = StatusLine(self.statusBar(), lambda: (self.health.show(), self.health.raise_()))
        build_menus(self)
        self.restore_layout()

        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()

    # --- running ---------------------------------------------------------------------------------

    def _clear(self) -> None:
        self.stop_engine()
        self.model.reset()
        self.losses.clear()
        self.quality.clear()
        self.health.clear()
        self.banner.hide()

    def start(self, spec: RunSpec, started: Runner | None = None) -> None:
        """Stop whatever runs here (it saves; an attached run goes on), then start spec (or watch `started`,
        a runner already training it: the app starts the engine before it builds the window)."""
        self._clear()
        self.runner = started or (self.runner if isinstance(self.runner, Runner) else Runner(self.in_process))
        self.spec = spec
        self._history_due = spec.resume is not None  # read once the engine has set the run directory straight
        if started is None:
            self.runner.start(spec)
        self.setWindowTitle("Hinge-GAN Workbench")
        self.statusBar().showMessage(f"starting {Path(spec.run_dir).name}…", 5000)

    def attach(self, run_dir: str, ssh: str = "ssh", remote_hinge_train: str = "hinge-train") -> None:
        """Watch and steer a run another process trains, here or ([user@]host:RUN_DIR) over ssh (UserError if it
        is not a run directory, or cannot be reached)."""
        runner = AttachedRunner(run_dir, ssh, remote_hinge_train)
        if isinstance(self.runner, AttachedRunner):
            self.runner.stop()
        self._clear()
        self.runner, self.spec = runner, None
        self._history_due = False  # the follower delivers the whole history itself
        self.setWindowTitle(f"Hinge-GAN Workbench: attached to {runner.run_dir}")
        self.statusBar().showMessage(f"attached to {runner.run_dir}; closing the window leaves it training", 8000)

    @property
    def attached(self) -> bool:
        return isinstance(self.runner, AttachedRunner)

    @property
    def elsewhere(self) -> bool:
        """The run is on another machine (attached over ssh): its files come over the channel."""
        return self.attached and self.runner.remote

    def after(self, kind: str, then) -> None:
        """then(event) once the engine has applied (or refused) the next command of this kind."""
        self.awaiting[kind] = then

    def fetch(self, relative: str | Path, then) -> None:
        """A file or folder of the run directory as a path here, for then(path, None); over ssh it comes over the
        channel first, and then(None, why) says when it cannot."""
        if self.attached:
            self.runner.fetch(relative, then)
        else:
            then(Path(self.model.info.get("run_dir", ".")) / relative, None)

    def send(self, command) -> None:
        if self.runner.alive:
            self.runner.send(command)
        elif self.attached:
            self.statusBar().showMessage(f"read-only: {self.model.message}", 8000)
        else:
            self.statusBar().showMessage("no run is active: start one from the File menu", 5000)

    def toggle_spectral_norm(self) -> None:
        """Flip the state the engine last echoed (a widget behind a tab may not show it yet)."""
        if self.model.settings is not None:
            self.send(C.SetSpectralNorm(not self.model.settings.spectral_norm))

    def poll(self) -> None:
        for item in self.runner.poll():
            if isinstance(item, Startup):
                self.model.startup.update(item.stages)
            elif isinstance(item, Preparing):
                self.status_line.preparing(item)
            elif isinstance(item, Failure):
                self.model.fail(item)
                self.show_problem(f"The engine stopped: {item.message}")
            elif isinstance(item, Finished):
                self.model.state = item.state
                self.model.version += 1
            else:
                if self._history_due:
                    self._history_due = False
                    self.model.load_history(self.spec.run_dir, item.step - len(item.steps), item.events)
                self.model.ingest(item)
                if item.step and "first step seen in the window" not in self.model.startup:
                    self.model.startup["first step seen in the window"] = since_boot()
                for event in item.events:
                    self.statusBar().showMessage(describe_event(event), 6000)
                    if event["kind"] == EventKind.TRACKER_FAILED:  # said once, and training goes on
                        QMessageBox(QMessageBox.Warning, "A tracker stopped", describe_event(event), QMessageBox.Ok,
                                    self).open()
                    then = self.awaiting.pop(event["command"] if event["kind"] == "rejected" else event["kind"], None)
                    if then is not None:  # after this poll: it may open a dialog
                        QTimer.singleShot(0, lambda then=then, event=event: then(event))
                if item.state == RunState.DIVERGED:
                    self.show_problem(item.message)
                elif self.attached:
                    self.banner.show_writer(item.message if not self.runner.alive else "")
        if self.attached and self.runner.connection != "connected":
            self.banner.show_writer(f"{self.runner.connection}; last seen: step {self.model.step:,}")
        self.redraw.tick(self.model)
        self.status_line.refresh(self.model)
        for message in self.forks.failed():
            self.statusBar().showMessage(message.splitlines()[0], 15000)
            QMessageBox(QMessageBox.Warning, "A process this window started stopped", message, QMessageBox.Ok,
                        self).open()
        if self.exit_when_done and self.model.state in (RunState.DONE, SeenState.FAILED):
            self.exit_when_done = False
            QTimer.singleShot(0, self.close)

    def show_problem(self, text: str) -> None:
        """The red banner: what happened, what a restart will lose, and the way on that exists."""
        self.banner.show_problem(text, self.last_checkpoint(), self.can_start_again)

    @property
    def can_start_again(self) -> bool:
        """A run that trained before it died can start over (one that failed at its start would fail again)."""
        return self.spec is not None and self.spec.config is not None and self.model.step > 0

    def last_checkpoint(self) -> Path | None:
        if self.spec is None:
            return None
        path = RunLayout(self.spec.run_dir).last_checkpoint
        return path if path.exists() else None

    def restart_from_last(self) -> None:
        last = self.last_checkpoint()
        if last is not None:
            self.start(RunSpec(None, self.spec.run_dir, self.spec.device, resume=str(last), paused=True))
        elif self.can_start_again:
            preset = self.spec.config.get("preset", "run")
            self.start(RunSpec(self.spec.config, str(default_run_dir(preset)), self.spec.device))

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
            if not isinstance(item, (Failure, Finished, Preparing, Startup)):
                self.model.ingest(item)
