"""Runs under a root folder (and any attached): pick several to overlay their curves in the Losses,
Margins and Quality docks, see two runs' samples side by side at a step, export the overlay."""
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QDockWidget, QFileDialog, QHBoxLayout, QLabel, QPushButton, QSpinBox, QTreeWidget, \
    QTreeWidgetItem

from core.storage.layout import RUNS_ROOT
from core.storage.live import read_heartbeat
from core.storage.run_index import find_runs, find_sweeps, overlay_csv, read_run
from workbench.colours import D_LOSS, run_colour
from workbench.docks import stacked
from workbench.docks.side_by_side import SideBySide

COLUMNS = ("run", "preset", "steps", "state", "forked from")
SWEEP_ROLE = Qt.ItemDataRole.UserRole + 1  # a sweep's row holds its folder here


class RunsDock(QDockWidget):
    REDRAW_PERIOD_S = 5.0  # lists folders: cheap, but nothing a user needs faster

    def __init__(self, overlay_docks, parent=None, root: str | Path = RUNS_ROOT, open_sweep=None):
        super().__init__("Runs", parent)
        self.setObjectName("runs_dock")
        self.overlay_docks = overlay_docks
        self.root = Path(root)
        self.extra: list[Path] = []  # runs opened or attached from elsewhere
        self.own: Path | None = None  # the run this window trains or watches: drawn live, never overlaid
        self.open_sweep = open_sweep  # a sweep folder -> shown whole (the Sweep dock)
        self.root_label = QLabel()
        choose = QPushButton("Folder…")
        choose.setToolTip("The folder whose run directories are listed")
        choose.clicked.connect(self._choose_root)
        self.table = QTreeWidget()
        self.table.setHeaderLabels(COLUMNS)
        self.table.setRootIsDecorated(False)
        self.table.itemChanged.connect(lambda *_: self.compare())
        self.table.itemDoubleClicked.connect(lambda item, _: self._opened(item))
        self.step = QSpinBox()
        self.step.setRange(0, 10**9)
        self.step.setSingleStep(500)
        self.step.setPrefix("samples at step ")
        self.step.valueChanged.connect(lambda _: self._show_samples())
        self.side_by_side = SideBySide()
        export_png, export_csv = QPushButton("Export PNG…"), QPushButton("Export CSV…")
        export_png.clicked.connect(lambda: self._export(".png"))
        export_csv.clicked.connect(lambda: self._export(".csv"))

        top = QHBoxLayout()
        top.addWidget(self.root_label, 1)
        top.addWidget(choose)
        bottom = QHBoxLayout()
        bottom.addWidget(self.step, 1)
        bottom.addWidget(export_png)
        bottom.addWidget(export_csv)
        self.setWidget(stacked(top, (self.table, 1), (self.side_by_side, 2), bottom))
        self.picked: list = []  # (RunRecord, colour)
        self._listed: list[Path] = []
        self._auto_step: int | None = None  # the step the samples follow, until the user picks another

    def add_run(self, path) -> None:
        path = Path(path).resolve()
        if path not in self.extra:
            self.extra.append(path)
        self.scan()

    def _choose_root(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Runs folder", str(self.root))
        if folder:
            self.root = Path(folder)
            self.scan()

    def refresh(self, model) -> None:
        own = Path(model.info["run_dir"]).resolve() if model.info.get("run_dir") else None
        if own != self.own:
            self.own, self._listed = own, []  # list again: the own run's row reads differently
        if own is not None and own not in self.extra:
            self.add_run(own)
        else:
            self.scan()

    def run_items(self) -> list[QTreeWidgetItem]:
        """Every listed run's row, those grouped under a sweep's row included."""
        tops = [self.table.topLevelItem(i) for i in range(self.table.topLevelItemCount())]
        return [item for top in tops for item in ([top.child(j) for j in range(top.childCount())]
                                                  if top.data(0, SWEEP_ROLE) else [top])]

    def scan(self) -> None:
        """List the runs, a sweep's runs under its own row; keep which are ticked."""
        self.root_label.setText(f"Runs in {self.root.resolve()}")
        sweeps = find_sweeps(self.root)
        paths = list(dict.fromkeys([*(p.resolve() for p in find_runs(self.root)), *self.extra]))
        listed = paths + [run for runs in sweeps.values() for run in runs]
        if set(listed) == set(self._listed):  # the same runs (newer ones first may reorder them): read the beats
            self._update_live_rows()
            return
        ticked = {Path(item.data(0, Qt.ItemDataRole.UserRole)) for item in self.run_items()
                  if item.checkState(0) == Qt.CheckState.Checked}
        self.table.blockSignals(True)
        self.table.clear()
        for path in paths:
            self.table.addTopLevelItem(self._run_row(path, path in ticked))
        for folder, runs in sweeps.items():
            group = QTreeWidgetItem([f"sweep {folder.name}", "", f"{len(runs)} runs", "", ""])
            group.setData(0, SWEEP_ROLE, str(folder))
            group.setToolTip(0, "A sweep's runs; double-click to see the sweep ranked and its arms' bands")
            group.addChildren([self._run_row(run, run in ticked) for run in runs])
            self.table.addTopLevelItem(group)
        self.table.blockSignals(False)
        self.table.resizeColumnToContents(0)
        self._listed = listed
        self.compare()

    def _run_row(self, path: Path, ticked: bool) -> QTreeWidgetItem:
        run = read_run(path)
        parent = f"{Path(run.parent['run_dir'] or '?').name} @ {run.fork_step}" if run.parent else ""
        name = f"{run.name} (this window)" if path == self.own else run.name
        item = QTreeWidgetItem([name, run.preset, f"{run.last_step:,}", run.state, parent])
        item.setData(0, Qt.ItemDataRole.UserRole, str(path))
        if path == self.own:
            item.setToolTip(0, "The run this window trains or watches: every dock draws it live")
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(0, Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
        return item

    def _opened(self, item) -> None:
        if item.data(0, SWEEP_ROLE) and self.open_sweep is not None:
            self.open_sweep(item.data(0, SWEEP_ROLE))

    def _update_live_rows(self) -> None:
        """Steps and state of the listed runs from their heartbeats (cheap: one small file each); ticked runs
        that trained on since they were read are read again, so their overlays follow them."""
        moved = False
        steps = {run.path: run.last_step for run, _ in self.picked}
        for item in self.run_items():
            path = Path(item.data(0, Qt.ItemDataRole.UserRole))
            beat = read_heartbeat(path)
            if beat is not None:
                self.table.blockSignals(True)
                item.setText(2, f"{beat['step']:,}")
                item.setText(3, beat["state"])
                self.table.blockSignals(False)
                moved = moved or (path in steps and path != self.own and beat["step"] != steps[path])
        if moved:
            self.compare()

    def tick(self, *paths) -> None:
        wanted = {Path(p).resolve() for p in paths}
        for item in self.run_items():
            item.setCheckState(0, Qt.CheckState.Checked if Path(item.data(0, Qt.ItemDataRole.UserRole)) in wanted
                               else Qt.CheckState.Unchecked)

    def compare(self) -> None:
        """Overlay the ticked runs in the other docks, each in its colour (shown in the list)."""
        self.picked = []
        for item in self.run_items():
            checked = item.checkState(0) == Qt.CheckState.Checked
            path = Path(item.data(0, Qt.ItemDataRole.UserRole))
            colour = D_LOSS if path == self.own else run_colour(len([p for p in self.picked if p[0].path != self.own]))
            self.table.blockSignals(True)
            item.setForeground(0, QColor(colour) if checked else QColor("black"))
            self.table.blockSignals(False)
            if checked:
                self.picked.append((read_run(path), colour))
        compared = [(run, colour) for run, colour in self.picked if run.path != self.own]
        for dock in self.overlay_docks:
            dock.show_overlays(compared)
        if self.picked and self.step.value() in (0, self._auto_step):  # where the ticked runs all have samples
            self._auto_step = min(run.last_step for run, _ in self.picked)
            self.step.setValue(self._auto_step)
        self._show_samples()

    def _show_samples(self) -> None:
        self.side_by_side.show_runs(self.picked, self.step.value())

    def _export(self, suffix: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the comparison", str(self.root / f"compare{suffix}"),
                                              f"*{suffix}")
        if path:
            self.export(path if path.endswith(suffix) else path + suffix)

    def export(self, path: str) -> Path:
        """The overlay as a table (CSV) or as the compared docks' plots stacked into one picture (PNG)."""
        if path.endswith(".csv"):
            return overlay_csv([run for run, _ in self.picked], path)
        grabs = [dock.widget().grab() for dock in self.overlay_docks]
        picture = QPixmap(max(g.width() for g in grabs), sum(g.height() for g in grabs))
        picture.fill(QColor("white"))
        painter = QPainter(picture)
        y = 0
        for grab in grabs:
            painter.drawPixmap(0, y, grab)
            y += grab.height()
        painter.end()
        picture.save(path)
        return Path(path)
