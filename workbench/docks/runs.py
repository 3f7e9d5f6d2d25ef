"""Runs under a root folder (and any attached): pick several to overlay their curves in the Losses,
Margins and Quality docks, see two runs' samples side by side at a step, export the overlay."""
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QHBoxLayout, QLabel, QPushButton, QSpinBox, QTreeWidget,
                               QTreeWidgetItem)

from core.storage.live import read_heartbeat
from core.storage.run_index import find_runs, nearest_frame, overlay_csv, read_run
from workbench.docks import stacked
from workbench.overlays import run_color

COLUMNS = ("run", "preset", "steps", "state", "forked from")


class RunsDock(QDockWidget):
    REDRAW_PERIOD_S = 5.0  # lists folders: cheap, but nothing a user needs faster

    def __init__(self, overlay_docks, parent=None, root: str = "runs"):
        super().__init__("Runs", parent)
        self.setObjectName("runs_dock")
        self.overlay_docks = overlay_docks
        self.root = Path(root)
        self.extra: list[Path] = []  # runs opened or attached from elsewhere
        self.root_label = QLabel()
        choose = QPushButton("Folder…")
        choose.setToolTip("The folder whose run directories are listed")
        choose.clicked.connect(self._choose_root)
        self.table = QTreeWidget()
        self.table.setHeaderLabels(COLUMNS)
        self.table.setRootIsDecorated(False)
        self.table.itemChanged.connect(lambda *_: self.compare())
        self.step = QSpinBox()
        self.step.setRange(0, 10**9)
        self.step.setSingleStep(500)
        self.step.setPrefix("samples at step ")
        self.step.valueChanged.connect(lambda _: self._show_samples())
        self.left, self.right = QLabel(), QLabel()
        for label in (self.left, self.right):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setMinimumHeight(120)
        export_png, export_csv = QPushButton("Export PNG…"), QPushButton("Export CSV…")
        export_png.clicked.connect(lambda: self._export(".png"))
        export_csv.clicked.connect(lambda: self._export(".csv"))

        top = QHBoxLayout()
        top.addWidget(self.root_label, 1)
        top.addWidget(choose)
        pictures = QHBoxLayout()
        pictures.addWidget(self.left)
        pictures.addWidget(self.right)
        bottom = QHBoxLayout()
        bottom.addWidget(self.step, 1)
        bottom.addWidget(export_png)
        bottom.addWidget(export_csv)
        self.setWidget(stacked(top, (self.table, 1), pictures, bottom))
        self.picked: list = []  # (RunRecord, colour)
        self._listed: list[Path] = []

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
        if model.info.get("run_dir") and Path(model.info["run_dir"]).resolve() not in self.extra:
            self.add_run(model.info["run_dir"])
        else:
            self.scan()

    def scan(self) -> None:
        """List the runs; keep which are ticked."""
        self.root_label.setText(f"Runs in {self.root.resolve()}")
        paths = list(dict.fromkeys([*(p.resolve() for p in find_runs(self.root)), *self.extra]))
        if paths == self._listed:
            self._update_live_rows()
            return
        ticked = {Path(self.table.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole))
                  for i in range(self.table.topLevelItemCount())
                  if self.table.topLevelItem(i).checkState(0) == Qt.CheckState.Checked}
        self.table.blockSignals(True)
        self.table.clear()
        for path in paths:
            run = read_run(path)
            parent = f"{Path(run.parent['run_dir'] or '?').name} @ {run.fork_step}" if run.parent else ""
            item = QTreeWidgetItem([run.name, run.preset, f"{run.last_step:,}", run.state, parent])
            item.setData(0, Qt.ItemDataRole.UserRole, str(path))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Checked if path in ticked else Qt.CheckState.Unchecked)
            self.table.addTopLevelItem(item)
        self.table.blockSignals(False)
        self.table.resizeColumnToContents(0)
        self._listed = paths
        self.compare()

    def _update_live_rows(self) -> None:
        """Steps and state of the listed runs from their heartbeats (cheap: one small file each)."""
        for i in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(i)
            beat = read_heartbeat(item.data(0, Qt.ItemDataRole.UserRole))
            if beat is not None:
                self.table.blockSignals(True)
                item.setText(2, f"{beat['step']:,}")
                item.setText(3, beat["state"])
                self.table.blockSignals(False)

    def tick(self, *paths) -> None:
        wanted = {Path(p).resolve() for p in paths}
        for i in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(i)
            item.setCheckState(0, Qt.CheckState.Checked if Path(item.data(0, Qt.ItemDataRole.UserRole)) in wanted
                               else Qt.CheckState.Unchecked)

    def compare(self) -> None:
        """Overlay the ticked runs in the other docks, each in its colour (shown in the list)."""
        self.picked = []
        for i in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(i)
            checked = item.checkState(0) == Qt.CheckState.Checked
            color = run_color(len(self.picked))
            self.table.blockSignals(True)
            item.setForeground(0, QColor(color) if checked else QColor("black"))
            self.table.blockSignals(False)
            if checked:
                self.picked.append((read_run(item.data(0, Qt.ItemDataRole.UserRole)), color))
        for dock in self.overlay_docks:
            dock.show_overlays(self.picked)
        if self.picked and self.step.value() == 0:  # start where the ticked runs all have samples
            self.step.setValue(min(run.last_step for run, _ in self.picked))
        self._show_samples()

    def _show_samples(self) -> None:
        for label, picked in zip((self.left, self.right), self.picked[:2] + [None, None]):
            if picked is None:
                label.clear()
                label.setText("tick runs to see their samples")
                continue
            run, color = picked
            frame = nearest_frame(run.path, self.step.value())
            if frame is None:
                label.setText(f"{run.name}: no timelapse frames")
                continue
            label.setPixmap(QPixmap(str(frame)).scaledToHeight(160, Qt.TransformationMode.SmoothTransformation))
            label.setToolTip(f"{run.name}, {frame.stem.replace('-', ' ')}")
            label.setStyleSheet(f"border: 2px solid {color};")

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
