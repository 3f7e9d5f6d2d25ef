"""Generated samples: the fixed-z grid for images (click one to enlarge); for 2D data the real and
generated points over D's score field, with the contours D = +m_real and D = -m_fake."""
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QCheckBox, QDialog, QDockWidget, QLabel, QStackedWidget, QVBoxLayout

from core.protocol import commands as C
from workbench.colours import FAKE, REAL
from workbench.docks import stacked
from workbench.model import RunModel

ENLARGED_PX = 256


class SamplesDock(QDockWidget):
    def __init__(self, send, parent=None):
        super().__init__("Samples", parent)
        self.setObjectName("samples_dock")
        self.send = send
        self.stack = QStackedWidget()

        self.image_view = pg.GraphicsLayoutWidget()
        self.image_box = self.image_view.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.image = pg.ImageItem()
        self.image.mouseClickEvent = self._clicked
        self.image_box.addItem(self.image)
        self.stack.addWidget(self.image_view)

        self.points_view = pg.PlotWidget()
        self.points_view.setAspectLocked(True)
        self.field = pg.ImageItem()
        self.points_view.addItem(self.field)
        self.colorbar = pg.ColorBarItem(values=(-1, 1), colorMap=pg.colormap.get("CET-D1A"), interactive=False,
                                        label="D(x): blue fake side, red real side")
        self.colorbar.setImageItem(self.field, insert_in=self.points_view.getPlotItem())
        self.contour_real = pg.IsocurveItem(pen=pg.mkPen(REAL, width=2))
        self.contour_fake = pg.IsocurveItem(pen=pg.mkPen(FAKE, width=2))
        for contour in (self.contour_real, self.contour_fake):
            contour.setParentItem(self.field)
        self.real_points = pg.ScatterPlotItem(size=3, pen=None, brush=(40, 40, 40, 160), name="real")
        self.fake_points = pg.ScatterPlotItem(size=3, pen=None, brush=(255, 140, 0, 200), name="generated")
        self.modes = pg.ScatterPlotItem(size=10, symbol="o", pen=pg.mkPen((0, 0, 0, 200), width=1.5), brush=None)
        for item in (self.real_points, self.fake_points, self.modes):
            self.points_view.addItem(item)
        self.stack.addWidget(self.points_view)

        self.fresh = QCheckBox("Fresh random z at each refresh")
        self.fresh.setToolTip("Off: the run's fixed z, so changes over time are the generator's alone")
        self.fresh.toggled.connect(lambda on: self.send(C.SetSampleView(on)))
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self._extent = None
        self.setWidget(stacked((self.stack, 1), self.caption, self.fresh))
        self._version = -1
        self._grid = None
        self._cell = 0

    def refresh(self, model: RunModel) -> None:
        if model.samples_version == self._version or model.samples is None:
            return
        self._version = model.samples_version
        view = model.samples
        if view.grid is not None:
            self.stack.setCurrentIndex(0)
            self._grid, self._cell = view.grid, view.cell
            grid = view.grid[:, :, 0] if view.grid.shape[2] == 1 else view.grid
            self.image.setImage(grid, autoLevels=False, levels=(0, 255))
            self.caption.setText(f"step {view.step} · click a sample to enlarge")
            if self.fresh.isChecked() != view.fresh:  # the engine's view, not the box, is the truth
                self.fresh.blockSignals(True)
                self.fresh.setChecked(view.fresh)
                self.fresh.blockSignals(False)
        else:
            self.stack.setCurrentIndex(1)
            self._draw_points(view, model.settings)
            self.caption.setText(f"step {view.step} · grey: real, orange: generated, circles: modes · "
                                 "background: D's score, lines: D = +m_real, D = -m_fake")

    def _draw_points(self, view, settings) -> None:
        e = view.extent
        limit = max(float(np.nanmax(np.abs(view.score_field))) if np.isfinite(view.score_field).any() else 1.0, 1e-3)
        if settings is not None:  # the scale always reaches the margins: a flat D looks flat, not saturated
            limit = max(limit, settings.margin_real, settings.margin_fake)
        self.field.setImage(view.score_field, autoLevels=False)
        self.colorbar.setLevels((-limit, limit))
        self.field.setRect(QRectF(-e, -e, 2 * e, 2 * e))
        if settings is not None:
            self.contour_real.setData(view.score_field.T, level=settings.margin_real)
            self.contour_fake.setData(view.score_field.T, level=-settings.margin_fake)
        self.real_points.setData(pos=view.real_points)
        self.fake_points.setData(pos=view.fake_points)
        self.modes.setData(pos=view.centers)
        if e != self._extent:  # the data space fills the view (the user's own zoom holds until it changes)
            self._extent = e
            self.points_view.setRange(xRange=(-e, e), yRange=(-e, e), padding=0.02)

    def _clicked(self, event) -> None:
        if self._grid is None or not self._cell:
            return
        pos = event.pos()
        pitch = self._cell + 2  # image_grid pads with 2 pixels
        col, row = int(pos.x() // pitch), int(pos.y() // pitch)
        y, x = 2 + row * pitch, 2 + col * pitch
        cell = self._grid[y: y + self._cell, x: x + self._cell]
        if cell.shape[:2] != (self._cell, self._cell):
            return
        event.accept()
        self.show_enlarged(np.ascontiguousarray(cell), f"sample {row * (self._grid.shape[1] // pitch) + col}")

    def show_enlarged(self, cell: np.ndarray, title: str) -> QDialog:
        h, w, c = cell.shape
        fmt = QImage.Format_Grayscale8 if c == 1 else QImage.Format_RGB888
        image = QImage(cell.data, w, h, w * c, fmt).copy()
        dialog = QDialog(self)
        dialog.setWindowTitle(title)
        label = QLabel()
        label.setPixmap(QPixmap.fromImage(image).scaled(ENLARGED_PX, ENLARGED_PX, Qt.KeepAspectRatio,
                                                        Qt.FastTransformation))
        QVBoxLayout(dialog).addWidget(label)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.show()
        return dialog
