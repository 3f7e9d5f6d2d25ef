"""A sweep seen whole (core.storage.sweeps): its arms ranked, each with its mean score over the seeds and the
spread (error bars), how many of its runs failed; and the judge's score over steps, each arm's seeds as a band
around their mean. The table sorts by any column; ticking an arm shows its band."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QDockWidget, QFileDialog, QHBoxLayout, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem

from core.base.errors import UserError
from core.base.files import read_jsonl
from core.storage.layout import RUNS_ROOT, RunLayout
from core.storage.sweeps import open_sweep, summary
from workbench.colours import run_colour
from workbench.docks import stacked

COLUMNS = ("rank", "arm", "mean", "std", "failed", "seeds")
SHARES = ("high_quality_rate", "confident_share", "asked_class_share", "precision", "recall", "precision_cnn",
          "recall_cnn")  # scores that are shares: their axis stays within 0..1


class ArmItem(QTreeWidgetItem):
    """A row that sorts its numbers as numbers (a missing one last)."""

    def __lt__(self, other) -> bool:
        column = self.treeWidget().sortColumn()
        mine, theirs = self.data(column, Qt.ItemDataRole.UserRole), other.data(column, Qt.ItemDataRole.UserRole)
        if isinstance(mine, (int, float)) or isinstance(theirs, (int, float)):
            return (mine if mine is not None else float("inf")) < (theirs if theirs is not None else float("inf"))
        return self.text(column) < other.text(column)


class SweepDock(QDockWidget):
    REDRAW_PERIOD_S = 5.0  # reads every run's result and scores: a sweep changes at a run's pace

    def __init__(self, parent=None):
        super().__init__("Sweep", parent)
        self.setObjectName("sweep_dock")
        self.folder: Path | None = None
        self.title = QLabel("No sweep open: Folder… picks one (hinge-train sweep --out DIR), or the Runs dock's "
                            "sweep rows open here.")
        self.title.setWordWrap(True)
        choose = QPushButton("Folder…")
        choose.clicked.connect(self._choose)
        self.table = QTreeWidget()
        self.table.setHeaderLabels(COLUMNS)
        self.table.setRootIsDecorated(False)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)  # by rank until a header is clicked
        self.table.itemChanged.connect(lambda *_: self._draw_curves())
        self.bars = pg.PlotWidget()
        self.bars.getAxis("left").enableAutoSIPrefix(False)
        self.curves = pg.PlotWidget()
        self.curves.setLabel("bottom", "step")
        self.curves.getAxis("left").enableAutoSIPrefix(False)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(choose)
        self.setWidget(stacked(top, self.table, (self.bars, 1), (self.curves, 1)))
        self.sweep, self.rows = None, []

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a sweep folder", str(self.folder or RUNS_ROOT))
        if folder:
            try:
                self.show_sweep(folder)
            except UserError as exc:
                self.title.setText(str(exc))

    def show_sweep(self, folder) -> None:
        """UserError if the folder holds no sweep."""
        self.sweep, self.folder = open_sweep(Path(folder)), Path(folder)
        self.show()
        self.raise_()
        self.refresh(None)

    def refresh(self, model) -> None:
        if self.sweep is None:
            return
        self.rows = summary(self.sweep, self.folder)
        done = sum(len(r["scores"]) - r["pending"] for r in self.rows)
        better = "lower" if self.sweep.lower_is_better else "higher"
        self.title.setText(f"<b>{self.folder.name}</b>: {len(self.rows)} arms × {len(self.sweep.seeds)} seeds, "
                           f"{done} of {len(self.rows) * len(self.sweep.seeds)} runs finished; ranked by "
                           f"{self.sweep.metric} ({better} is better), failed runs counted against their arm")
        self._fill_table()
        self._draw_bars()
        self._draw_curves()

    def _fill_table(self) -> None:
        ticked = {self.table.topLevelItem(i).text(1) for i in range(self.table.topLevelItemCount())
                  if self.table.topLevelItem(i).checkState(0) == Qt.CheckState.Checked}
        first = self.table.topLevelItemCount() == 0
        self.table.blockSignals(True)
        self.table.clear()
        for rank, row in enumerate(self.rows, 1):
            values = (rank, row["arm"], row["mean"], row["std"], row["failed"], len(row["seeds"]) - row["pending"])
            item = ArmItem([str(rank), row["arm"], "–" if row["mean"] is None else f"{row['mean']:.4g}",
                            "–" if row["std"] is None else f"{row['std']:.2g}", str(row["failed"]),
                            f"{values[5]} of {len(row['seeds'])}"])
            for column, value in enumerate(values):
                item.setData(column, Qt.ItemDataRole.UserRole, value)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            shown = (rank <= 3) if first else row["arm"] in ticked
            item.setCheckState(0, Qt.CheckState.Checked if shown else Qt.CheckState.Unchecked)
            item.setForeground(1, QColor(self._colour(row["arm"])))
            self.table.addTopLevelItem(item)
        self.table.blockSignals(False)
        for column in range(len(COLUMNS)):
            self.table.resizeColumnToContents(column)

    def _colour(self, arm: str) -> str:
        names = [a["arm"] for a in sorted(self.rows, key=lambda r: r["arm"])]
        return run_colour(names.index(arm))

    def _draw_bars(self) -> None:
        self.bars.clear()
        scored = [(i, r) for i, r in enumerate(self.rows) if r["mean"] is not None]
        if not scored:
            return
        x = np.array([i for i, _ in scored], float)
        means = np.array([r["mean"] for _, r in scored])
        spread = np.array([r["std"] for _, r in scored])
        self.bars.addItem(pg.ErrorBarItem(x=x, y=means, height=2 * spread, beam=0.25, pen=pg.mkPen("#444")))
        self.bars.addItem(pg.ScatterPlotItem(x=x, y=means, size=9,
                                             brush=[pg.mkBrush(self._colour(r["arm"])) for _, r in scored]))
        failed = [(i, r) for i, r in enumerate(self.rows) if r["failed"]]
        for i, r in failed:
            label = pg.TextItem(f"{r['failed']} failed", color="#c62828", anchor=(0.5, 1))
            label.setPos(i, float(np.nanmax(means)) if len(means) else 0)
            self.bars.addItem(label)
        values = [(i, " / ".join(r["settings"].values())) for i, r in enumerate(self.rows)]  # the arm's, short
        self.bars.getAxis("bottom").setTicks([values])
        keys = " / ".join(key.rsplit(".", 1)[-1] for key in self.rows[0]["settings"])
        self.bars.setTitle(f"mean over seeds, ± one standard deviation; arms by {keys}", size="9pt")
        self.bars.setLabel("left", self.sweep.metric)
        if self.sweep.metric in SHARES:
            low, high = np.nanmin(means - spread), np.nanmax(means + spread)
            pad = 0.1 * max(high - low, 0.01)
            self.bars.setYRange(max(0.0, low - pad), min(1.0, high + pad), padding=0)

    def _draw_curves(self) -> None:
        self.curves.clear()
        if self.sweep is None:
            return
        self.curves.setLabel("left", self.sweep.metric)
        ticked = {self.table.topLevelItem(i).text(1) for i in range(self.table.topLevelItemCount())
                  if self.table.topLevelItem(i).checkState(0) == Qt.CheckState.Checked}
        runs = self.sweep.runs(self.folder)
        for index, arm in enumerate(self.sweep.arms):
            name = next(r["arm"] for r in self.rows if r["settings"] == arm)
            if name not in ticked:
                continue
            series = [self._scores(run.path) for run in runs if run.arm == index]
            self._band([s for s in series if s], self._colour(name))

    def _scores(self, run_dir: Path) -> dict[int, float]:
        return {int(q["step"]): float(q[self.sweep.metric]) for q in read_jsonl(RunLayout(run_dir).quality)
                if q.get(self.sweep.metric) is not None}

    def _band(self, series: list[dict], colour: str) -> None:
        """The seeds' mean over the steps they all scored, and their spread from lowest to highest."""
        if not series:
            return
        steps = sorted(set.intersection(*(set(s) for s in series)))
        if not steps:
            return
        values = np.array([[s[step] for step in steps] for s in series])
        low = pg.PlotDataItem(steps, values.min(0), pen=pg.mkPen(colour, width=0.5))
        high = pg.PlotDataItem(steps, values.max(0), pen=pg.mkPen(colour, width=0.5))
        band = QColor(colour)
        band.setAlpha(50)
        for item in (low, high, pg.FillBetweenItem(low, high, brush=band),
                     pg.PlotDataItem(steps, values.mean(0), pen=pg.mkPen(colour, width=2))):
            self.curves.addItem(item)
