"""Other runs drawn over a dock's plot for comparison: one colour per run, a fork marked where it left
its parent. Each dock says which of a run's series it overlays; this keeps the drawn items."""
import pyqtgraph as pg
from PySide6.QtCore import Qt

PALETTE = ("#7b3294", "#008837", "#d95f02", "#1b9e77", "#e7298a", "#666666", "#a6761d", "#386cb0")


def run_color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


class OverlayLayer:
    def __init__(self, plot: pg.PlotWidget):
        self.plot = plot
        self.items = []

    def clear(self) -> None:
        for item in self.items:
            self.plot.removeItem(item)
        self.items.clear()

    def curve(self, x, y, color: str, name: str | None = None, dashed: bool = False) -> None:
        pen = pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
        item = self.plot.plot(x, y, pen=pen, name=name)
        self.items.append(item)

    def fork(self, step: int | None, color: str, name: str) -> None:
        if step is None:
            return
        line = pg.InfiniteLine(pos=step, angle=90, movable=False, pen=pg.mkPen(color, width=1, style=Qt.PenStyle.DotLine),
                               label=f"fork: {name}", labelOpts={"position": 0.9, "color": color, "rotateAxis": (1, 0)})
        line.setToolTip(f"{name} forked from its parent at step {step}")
        self.plot.addItem(line)
        self.items.append(line)
