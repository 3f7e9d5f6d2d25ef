"""The loss lab: for the D(real) and D(fake) scores the Margins dock shows, what hinge (with the margins in
force), BCE and Wasserstein would do with them: each loss and its derivative with respect to D's score, G's side
too, the histograms under them, and how many samples get gradient and how much (core/analysis/losslab.py).
From the histograms the engine already sends: nothing is added to the training step."""
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QComboBox, QDockWidget, QFileDialog, QHBoxLayout, QLabel, QPushButton, QStackedWidget,
                               QTreeWidget, QTreeWidgetItem)

from core.analysis.losslab import LOSS_KINDS, Scores, d_losses, g_loss, gradients
from workbench.axes import robust_span
from workbench.colours import FAKE, LOSSES, REAL, key, rgba
from workbench.docks import readable, stacked
from workbench.model import RunModel

PANELS = (("D's loss on real (solid) and fake (dashed) scores", "D's loss"),
          ("dL/dD: D's gradient with respect to its score", "dL/dD"),
          ("G's loss on the fakes (solid) and its dL/dD (dashed)", "G's loss"))
HEADERS = (  # the table's columns, short enough for a laptop's tab, each with what it counts as its tooltip
    ("D real: get grad", "the share of the window's real samples with |dL/dD| above 1e-3 in D's loss"),
    ("mean |dL/dD|", "the mean |dL/dD| over the real samples that get gradient"),
    ("D fake: get grad", "the share of the window's fake samples with |dL/dD| above 1e-3 in D's loss"),
    ("mean |dL/dD|", "the mean |dL/dD| over the fake samples that get gradient"),
    ("G: get grad", "the share of the window's fake samples with |dL/dD| above 1e-3 in G's loss"),
    ("mean |dL/dD|", "the mean |dL/dD| over the fake samples that give G gradient"),
)


class LossLabDock(QDockWidget):
    def __init__(self, parent=None):
        super().__init__("Loss lab", parent)
        self.setObjectName("loss_lab_dock")
        self.reading = QLabel("Hover a curve to read it.")
        self.reading.setWordWrap(True)
        self.panel = QComboBox()
        for title, _ in PANELS:
            self.panel.addItem(title)
        self.panel.currentIndexChanged.connect(self._show_panel)
        self.plots, self.curves = [], {}
        self.panels = QStackedWidget()  # one panel at a time: the dock stays readable in a tab
        for index, (title, label) in enumerate(PANELS):
            plot = pg.PlotWidget()
            plot.setTitle(key([(kind, LOSSES[kind]) for kind in LOSS_KINDS]) + "&nbsp;&nbsp; solid: real, dashed: "
                          + ("fake" if index < 2 else "dL/dD"), size="9pt")
            plot.setLabel("left", label)
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.getAxis("left").enableAutoSIPrefix(False)
            if self.plots:
                plot.setXLink(self.plots[0])
            plot.scene().sigMouseMoved.connect(lambda pos, p=plot: self._hovered(p, pos))
            self.plots.append(plot)
            self.panels.addWidget(readable(plot))
            for kind in LOSS_KINDS:
                self.curves[index, kind, 0] = plot.plot(pen=pg.mkPen(LOSSES[kind], width=1.5))
                self.curves[index, kind, 1] = plot.plot(pen=pg.mkPen(LOSSES[kind], width=1.5, style=Qt.DashLine))
        self.histograms = pg.PlotWidget()
        self.histograms.setFixedHeight(100)
        self.histograms.setTitle(key([("D(real)", REAL), ("D(fake)", FAKE)]), size="9pt")
        self.histograms.setLabel("bottom", "discriminator score D")
        self.histograms.setXLink(self.plots[0])
        self.histograms.getAxis("left").enableAutoSIPrefix(False)
        self.hist_real = pg.PlotCurveItem(fillLevel=0, brush=rgba(REAL, 90), pen=pg.mkPen(REAL))
        self.hist_fake = pg.PlotCurveItem(fillLevel=0, brush=rgba(FAKE, 90), pen=pg.mkPen(FAKE))
        self.histograms.addItem(self.hist_real)
        self.histograms.addItem(self.hist_fake)
        self.margin_lines = []
        for plot in (*self.plots, self.histograms):
            lines = (pg.InfiniteLine(1.0, angle=90, pen=pg.mkPen(REAL, style=Qt.DotLine)),
                     pg.InfiniteLine(-1.0, angle=90, pen=pg.mkPen(FAKE, style=Qt.DotLine)))
            for line in lines:
                plot.addItem(line)
            self.margin_lines.append(lines)
        self.table = QTreeWidget()
        self.table.setHeaderLabels(["loss", *(header for header, _ in HEADERS)])
        for column, (_, tip) in enumerate(HEADERS, start=1):
            self.table.headerItem().setToolTip(column, tip)
        self.table.setRootIsDecorated(False)
        export = QPushButton("Export PNG…")
        export.clicked.connect(self._export)
        row = QHBoxLayout()
        row.addWidget(QLabel("Show"))
        row.addWidget(self.panel, 1)
        row.addWidget(export)
        self.setWidget(stacked(row, self.table, (self.panels, 1), self.histograms, self.reading))  # the numbers first
        self.scores: Scores | None = None
        self._margins, self._loss, self._x = (1.0, 1.0), "hinge", np.zeros(0)
        self._version = -1

    def _show_panel(self, index: int) -> None:
        self.panels.setCurrentIndex(index)

    def refresh(self, model: RunModel) -> None:
        if model.version == self._version or model.scores is None or model.settings is None:
            return
        self._version = model.version
        self.scores = model.scores
        self._margins, self._loss = (model.settings.margin_real, model.settings.margin_fake), model.settings.loss
        self._draw()

    def _draw(self) -> None:
        m_real, m_fake = self._margins
        edges = self.scores.edges
        centres = (edges[:-1] + edges[1:]) / 2
        held = [np.repeat(centres, counts.astype(int)) for counts in (self.scores.real, self.scores.fake)]
        lo, hi = robust_span(held, include=(m_real, -m_fake, -1.0, 1.0))
        self._x = x = np.linspace(lo, hi, 300)
        for kind in LOSS_KINDS:
            real, fake, d_real, d_fake = d_losses(kind, x, m_real, m_fake)
            g, d_g = g_loss(kind, x)
            for index, (first, second) in enumerate(((real, fake), (d_real, d_fake), (g, d_g))):
                self.curves[index, kind, 0].setData(x, first)
                self.curves[index, kind, 1].setData(x, second)
        for plot in self.plots:
            plot.setXRange(lo, hi, padding=0)
        total = max(self.scores.real.sum() + self.scores.real_beyond.sum(), 1)
        self.hist_real.setData(edges, 100 * self.scores.real / total, stepMode="center")
        self.hist_fake.setData(edges, 100 * self.scores.fake / max(self.scores.fake.sum() + self.scores.fake_beyond.sum(),
                                                                     1), stepMode="center")
        for real_line, fake_line in self.margin_lines:
            real_line.setValue(m_real)
            fake_line.setValue(-m_fake)
        self._fill_table()

    def _fill_table(self) -> None:
        self.table.clear()
        bold = QFont()
        bold.setBold(True)
        for kind in LOSS_KINDS:
            g = gradients(kind, self.scores, *self._margins)
            cells = [kind + (" (in force)" if kind == self._loss else "")]
            for part in ("d_real", "d_fake", "g"):
                cells += [f"{100 * g[part].share:.1f}%", f"{g[part].mean:.3f}"]
            item = QTreeWidgetItem(cells)
            item.setForeground(0, QBrush(QColor(LOSSES[kind])))
            if kind == self._loss:
                item.setFont(0, bold)
            self.table.addTopLevelItem(item)
        for column in range(7):
            self.table.resizeColumnToContents(column)
        scroll_bar = self.table.horizontalScrollBar().sizeHint().height()  # shown when the tab is narrow
        self.table.setFixedHeight(self.table.sizeHintForRow(0) * 3 + self.table.header().height() + scroll_bar
                                  + 2 * self.table.frameWidth() + 2)

    def read_at(self, score: float) -> str:
        """Every curve's value at D's score `score`, as the hover line says it."""
        m_real, m_fake = self._margins
        parts = []
        for kind in LOSS_KINDS:
            real, fake, d_real, d_fake = (float(v[0]) for v in d_losses(kind, np.array([score]), m_real, m_fake))
            g, d_g = (float(v[0]) for v in g_loss(kind, np.array([score])))
            parts.append(f"<span style='color:{LOSSES[kind]}'>{kind}</span>: D loss {real:.3g} real / {fake:.3g} "
                         f"fake, dL/dD {d_real:+.3g} / {d_fake:+.3g}; G {g:.3g}, {d_g:+.3g}")
        return f"<b>D = {score:.3g}</b> · " + " · ".join(parts)

    def _hovered(self, plot, position) -> None:
        if self.scores is None or not plot.sceneBoundingRect().contains(position):
            return
        self.reading.setText(self.read_at(plot.getViewBox().mapSceneToView(position).x()))

    def _export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the loss lab", f"loss-lab-{self.scores.step if self.scores else 0}.png",
                                              "*.png")
        if path:
            self.export(path if path.endswith(".png") else path + ".png")

    def export(self, path: str) -> str:
        """The dock as shown: the chosen panel, the histograms, the reading and the table."""
        self.widget().widget().grab().save(path)
        return path
