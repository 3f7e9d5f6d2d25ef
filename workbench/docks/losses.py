"""Losses over steps, smoothed like TensorBoard, with a marker wherever a command changed the run or a health
alert was raised. After a rewind only the run as it now stands is drawn (the abandoned branch is on disk)."""
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QHBoxLayout, QLabel, QSlider

from core.protocol.describe import describe_event
from workbench.axes import FollowRange
from workbench.colours import D_LOSS, FAKE, G_LOSS, REAL, key
from workbench.docks import stacked
from workbench.model import RunModel, smooth
from workbench.overlays import OverlayLayer

SERIES = (("d_loss", "D loss", D_LOSS), ("g_loss", "G loss", G_LOSS), ("real_loss", "D real part", REAL),
          ("fake_loss", "D fake part", FAKE))
MARKER_PENS = {"alert": pg.mkPen((214, 39, 40, 200), width=1), "rewind": pg.mkPen((148, 103, 189, 220), width=1)}
DEFAULT_MARKER_PEN = pg.mkPen((200, 200, 200, 120), style=Qt.DashLine)


class LossesDock(QDockWidget):
    REDRAW_PERIOD_S = 1.0  # the costliest dock to paint (four curves, axes, grid), and the slowest to change

    def __init__(self, parent=None):
        super().__init__("Losses", parent)
        self.setObjectName("losses_dock")
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "step")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setTitle(key([(label, colour) for _, label, colour in SERIES]), size="9pt")
        self.plot.setDownsampling(auto=True, mode="peak")  # about one point per pixel column
        self.plot.setClipToView(True)
        # one-pixel pens: Qt strokes wider lines on a slow path (docs/performance.md, "The window's cost")
        self.curves = {name: self.plot.plot(pen=pg.mkPen(color, width=1)) for name, label, color in SERIES}
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, 99)
        self.slider.setValue(80)
        self.slider.setToolTip("Smoothing (exponential moving average, like TensorBoard)")
        self.slider_label = QLabel()
        self.slider.valueChanged.connect(self._smoothing_changed)
        self._markers = []
        self._drawn = (-1, -1, -1)
        self.overlay = OverlayLayer(self.plot)
        self._overlaid = []
        self._live_values, self._overlay_values = [], []  # what the y range follows
        self.y_range = FollowRange(self.plot.getPlotItem())

        row = QHBoxLayout()
        row.addWidget(QLabel("Smoothing"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.slider_label)
        self.setWidget(stacked((self.plot, 1), row))
        self._smoothing_changed(self.slider.value())

    @property
    def smoothing(self) -> float:
        return self.slider.value() / 100

    def _smoothing_changed(self, value) -> None:
        self.slider_label.setText(f"{value / 100:.2f}")
        self._drawn = (-1, -1, -1)
        self.show_overlays(self._overlaid)

    def show_overlays(self, runs) -> None:
        """Compared runs (RunRecord, colour): D loss solid, G loss dashed, smoothed like the live curves."""
        self._overlaid = runs
        self.overlay.clear()
        self._overlay_values = []
        for run, color in runs:
            d_loss, g_loss = (smooth(run.series[name], self.smoothing) for name in ("d_loss", "g_loss"))
            self.overlay.curve(run.steps, d_loss, color)
            self.overlay.curve(run.steps, g_loss, color, dashed=True)
            self.overlay.fork(run.fork_step, color, run.name)
            self._overlay_values += [d_loss, g_loss]
        self.y_range.update(self._live_values + self._overlay_values)

    def refresh(self, model: RunModel) -> None:
        if self._drawn == (model.version, len(model.markers), model.rewinds):
            return
        if self._drawn[2] != model.rewinds:  # markers of an abandoned branch go with it
            self._clear_markers()
        self._drawn = (model.version, len(model.markers), model.rewinds)
        h = model.history
        shown = {name: smooth(h.values[name], self.smoothing) for name in self.curves}
        for name, curve in self.curves.items():
            curve.setData(h.steps, shown[name])
        self._live_values = list(shown.values())
        self.y_range.update(self._live_values + self._overlay_values)
        for marker in model.markers[len(self._markers):]:
            line = pg.InfiniteLine(pos=marker["step"], angle=90, movable=False,
                                   pen=MARKER_PENS.get(marker["kind"], DEFAULT_MARKER_PEN))
            line.setToolTip(describe_event(marker))
            self.plot.addItem(line)
            self._markers.append(line)

    def _clear_markers(self) -> None:
        for item in self._markers:
            self.plot.removeItem(item)
        self._markers.clear()

    def clear(self) -> None:
        self._clear_markers()
        self._live_values = []
        self._drawn = (-1, -1, -1)
