"""Histograms of D(real) and D(fake) against the margins, which the user drags to set."""
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QHBoxLayout, QLabel

from core.protocol import commands as C
from core.protocol.telemetry import Scores
from workbench.axes import FollowRange
from workbench.colours import CAUTION, FAKE, REAL, key, rgba
from workbench.docks import stacked
from workbench.model import RunModel, smooth
from workbench.overlays import OverlayLayer


class MarginsDock(QDockWidget):
    def __init__(self, model: RunModel, send, parent=None):
        super().__init__("Margins", parent)
        self.setObjectName("margins_dock")
        self.model = model
        self.send = send
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "discriminator score D")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)  # scores within ±1 read as scores, not milli-scores
        self.plot.setLabel("left", "% of samples")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.setTitle(key([("D(real)", REAL), ("D(fake)", FAKE), ("hinge shapes, dotted", "#777")]), size="9pt")
        self.hist_real = pg.PlotCurveItem(fillLevel=0, brush=rgba(REAL, 90), pen=pg.mkPen(REAL))
        self.hist_fake = pg.PlotCurveItem(fillLevel=0, brush=rgba(FAKE, 90), pen=pg.mkPen(FAKE))
        self.hinge_real = pg.PlotCurveItem(pen=pg.mkPen(REAL, width=1, style=Qt.DotLine))
        self.hinge_fake = pg.PlotCurveItem(pen=pg.mkPen(FAKE, width=1, style=Qt.DotLine))
        for item in (self.hinge_real, self.hinge_fake, self.hist_real, self.hist_fake):
            self.plot.addItem(item)
        self.line_real = pg.InfiniteLine(1.0, angle=90, movable=True, bounds=(0, 100), pen=pg.mkPen(REAL, width=2),
                                         hoverPen=pg.mkPen(REAL, width=4), label="+m_real = {value:.2f}",
                                         labelOpts={"position": 0.78, "color": REAL, "fill": (255, 255, 255, 200)})
        self.line_fake = pg.InfiniteLine(-1.0, angle=90, movable=True, bounds=(-100, 0), pen=pg.mkPen(FAKE, width=2),
                                         hoverPen=pg.mkPen(FAKE, width=4), label="−m_fake = {value:.2f}",
                                         labelOpts={"position": 0.93, "color": FAKE, "fill": (255, 255, 255, 200)})
        for line in (self.line_real, self.line_fake):
            line.setToolTip("Drag to set the margin; applied on release")
            line.sigPositionChangeFinished.connect(self._dragged)
            self.plot.addItem(line)
        self.x_range = FollowRange(self.plot.getPlotItem(), axis="x")
        self.rates = QLabel()
        self.rates.setTextFormat(Qt.RichText)
        self.rates.setToolTip("Share of the samples in the histograms above that are inside their margin")
        self.rate_plot = pg.PlotWidget()
        self.rate_plot.setFixedHeight(110)  # a strip: the histograms above take the spare height
        self.rate_plot.setYRange(0, 100)
        self.rate_plot.setLabel("left", "% inside")
        self.rate_plot.getAxis("left").enableAutoSIPrefix(False)
        self.rate_plot.setDownsampling(auto=True, mode="peak")
        self.rate_plot.setClipToView(True)
        self.rate_plot.hideAxis("bottom")
        self.rate_plot.setToolTip("Share of samples inside their margin (still getting gradient) over steps")
        self.rate_real = self.rate_plot.plot(pen=pg.mkPen(REAL))
        self.rate_fake = self.rate_plot.plot(pen=pg.mkPen(FAKE))
        self.overlay = OverlayLayer(self.rate_plot)
        self._version = -1

        row = QHBoxLayout()
        row.addWidget(self.rates)
        row.addWidget(self.rate_plot, 1)
        self.setWidget(stacked((self.plot, 1), row))

    def _follow_scores(self, scores: Scores, margins: tuple[float, float], totals) -> tuple:
        """The axis spans the scores the histograms hold and both margins; scores beyond the bins are said in the
        axis's own label (a line of its own would push the dock into scrolling at laptop size)."""
        centres = (scores.edges[:-1] + scores.edges[1:]) / 2
        seen = [np.repeat(centres, counts.astype(int)) for counts in (scores.real, scores.fake)]
        span = self.x_range.update(seen, include=margins)
        beyond = (scores.real_beyond, scores.fake_beyond)
        shares = [(100 * beyond[i].sum() / max(totals[i], 1), side) for i, side in enumerate(("real", "fake"))]
        parts = [f"{share:.1f}% of {side} scores" for share, side in shares if share >= 0.05]
        limit = max(abs(scores.edges[0]), abs(scores.edges[-1]))
        said = f" · {' and '.join(parts)} beyond ±{limit:g} (counted, not drawn)" if parts else ""
        self.plot.setLabel("bottom", f"discriminator score D{said}", color=CAUTION if said else None)
        return span

    def show_overlays(self, runs) -> None:
        """Compared runs' inside-margin shares in their colours: real solid, fake dashed."""
        self.overlay.clear()
        for run, color in runs:
            self.overlay.curve(run.steps, 100 * smooth(run.series["real_violation_rate"], 0.9), color)
            self.overlay.curve(run.steps, 100 * smooth(run.series["fake_violation_rate"], 0.9), color, dashed=True)
            self.overlay.fork(run.fork_step, color, run.name)

    def _dragged(self, line) -> None:
        """Send the dragged margin with the other one as the engine last echoed it."""
        if self.model.settings is None:
            return
        if line is self.line_real:
            margins = self.model.margins_for_edit(real=round(line.value(), 3))
        else:
            margins = self.model.margins_for_edit(fake=round(-line.value(), 3))
        self.send(C.SetMargins(*margins))

    def refresh(self, model: RunModel) -> None:
        if model.version == self._version:
            return
        self._version = model.version
        s = model.settings
        if s is not None:
            if not self.line_real.moving:
                self.line_real.setValue(s.margin_real)
            if not self.line_fake.moving:
                self.line_fake.setValue(-s.margin_fake)
        if model.scores is not None:
            scores = model.scores
            totals = (scores.real.sum() + scores.real_beyond.sum(), scores.fake.sum() + scores.fake_beyond.sum())
            real = 100 * scores.real / max(totals[0], 1)  # shares of every sample, those beyond included
            fake = 100 * scores.fake / max(totals[1], 1)
            self.hist_real.setData(scores.edges, real, stepMode="center")
            self.hist_fake.setData(scores.edges, fake, stepMode="center")
            m_real, m_fake = (s.margin_real, s.margin_fake) if s is not None else (1.0, 1.0)
            lo, hi = self._follow_scores(scores, (m_real, -m_fake), totals)
            x = np.linspace(lo, hi, 200)  # the hinge shapes across the view, as tall as the histograms
            scale = max(real.max(), fake.max(), 1e-3) / max(m_real - lo, m_fake + hi, 1e-3)
            self.hinge_real.setData(x, np.maximum(0, m_real - x) * scale)
            self.hinge_fake.setData(x, np.maximum(0, m_fake + x) * scale)
        h = model.history
        if len(h):
            self.rate_real.setData(h.steps, 100 * smooth(h.values["real_violation_rate"], 0.9))
            self.rate_fake.setData(h.steps, 100 * smooth(h.values["fake_violation_rate"], 0.9))
        if model.inside_shares is not None:
            real, fake = model.inside_shares
            self.rates.setText(f"<b>inside margin</b><br><span style='color:{REAL}'>real {real:.0%}</span>"
                               f"<br><span style='color:{FAKE}'>fake {fake:.0%}</span>")
