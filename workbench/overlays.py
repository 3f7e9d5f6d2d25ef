"""Other runs drawn over a dock's plot for comparison: each run in its colour (workbench.colours, never a
live series' colour), under the live curves, kept out of the legend (the Runs dock's ticked rows are the key),
and a fork marked where it left its parent. Each dock says which of a run's series it overlays."""
import pyqtgraph as pg
from PySide6.QtCore import Qt

OVERLAY_Z = -10  # under the live curves, which stay readable where a compared run crosses them


class OverlayLayer:
    def __init__(self, plot: pg.PlotWidget):
        self.plot = plot
        self.items = []

    def clear(self) -> None:
        for item in self.items:
            self.plot.removeItem(item)
        self.items.clear()

    def curve(self, x, y, color: str, dashed: bool = False) -> None:
        pen = pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
        item = pg.PlotDataItem(x, y, pen=pen)
        item.setZValue(OVERLAY_Z)
        self.plot.addItem(item)
        self.items.append(item)

    def fork(self, step: int | None, color: str, name: str) -> None:
        if step is None:
            return
        line = pg.InfiniteLine(pos=step, angle=90, movable=False, pen=pg.mkPen(color, width=1, style=Qt.PenStyle.DotLine),
                               label="fork", labelOpts={"position": 0.85, "color": color, "fill": (255, 255, 255, 220),
                                                        "anchors": [(0, 0.5), (0, 0.5)]})  # beside the line, on white
        line.setToolTip(f"{name} forked from its parent at step {step}")
        line.setZValue(OVERLAY_Z)
        self.plot.addItem(line)
        self.items.append(line)
