"""Generated samples: the fixed-z grid for images (click one to enlarge); for 2D data the real and
generated points over D's score field, with the contours D = +m_real and D = -m_fake."""
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QCheckBox, QDialog, QDockWidget, QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout

from core.protocol import commands as C
from core.pictures import grid_cells, image_grid, read_picture
from core.storage.layout import RunLayout
from workbench.colours import FAKE, FAKE_POINTS, REAL, REAL_POINTS, rgba
from workbench.docks import stacked
from workbench.model import RunModel

ENLARGED_PX = 256
PADDING = 2  # image_grid's gutters


def best_columns(count: int, cell: int, width: float, height: float, classes: int = 0) -> int:
    """How many of `count` images of `cell` px a row shows them largest in a width x height view; a
    class-conditional run's images cycle through its classes, so rows of whole cycles are kept where they
    cost at most a tenth of the size."""
    def scale(cols: int) -> float:
        rows = -(-count // cols)
        return min(width / (PADDING + cols * (cell + PADDING)), height / (PADDING + rows * (cell + PADDING)))

    best = max(range(1, count + 1), key=scale)
    cycles = [cols for cols in range(classes, count + 1, classes) if scale(cols) >= 0.9 * scale(best)] if classes else []
    return max(cycles, key=scale) if cycles else best


class SamplesDock(QDockWidget):
    def __init__(self, send, fetch, parent=None):
        """fetch(relative path, then): a file of the run directory as a path here (the window's fetch)."""
        super().__init__("Samples", parent)
        self.setObjectName("samples_dock")
        self.send, self.fetch = send, fetch
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
        self.real_points = pg.ScatterPlotItem(size=3, pen=None, brush=rgba(REAL_POINTS, 200), name="real")
        self.fake_points = pg.ScatterPlotItem(size=3, pen=None, brush=rgba(FAKE_POINTS, 220), name="generated")
        self.modes = pg.ScatterPlotItem(size=10, symbol="o", pen=pg.mkPen((0, 0, 0, 200), width=1.5), brush=None)
        for item in (self.real_points, self.fake_points, self.modes):
            self.points_view.addItem(item)
        self.stack.addWidget(self.points_view)

        self.fresh = QCheckBox("Fresh random z at each refresh")
        self.fresh.setToolTip("Off: the run's fixed z, so changes over time are the generator's alone")
        self.fresh.toggled.connect(lambda on: self.send(C.SetSampleView(on)))
        self.real = QCheckBox("Real images, as D receives them")
        self.real.setToolTip("The run's real.png: the data after decoding, resizing and colour handling, laid out "
                             "as the samples are; check your data pipeline at a glance")
        self.real.toggled.connect(self._real_toggled)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self._extent = None
        self.setWidget(stacked((self.stack, 1), self.caption, self._toggles()))
        self._version = -1
        self._view = None  # the newest grid of samples
        self._run_dir = None
        self._real = None  # real.png once read, or why it cannot be (None: not asked for yet)
        self._grid = None  # the grid as shown
        self._cells = None  # its images, (N, cell, cell, C)
        self._cell = 0
        self._classes = 0
        self.image_view.resizeEvent = self._resized

    def _toggles(self) -> QHBoxLayout:
        toggles = QHBoxLayout()
        toggles.addWidget(self.fresh)
        toggles.addWidget(self.real)
        toggles.addStretch(1)
        return toggles

    def refresh(self, model: RunModel) -> None:
        if model.samples_version == self._version or model.samples is None:
            return
        self._version = model.samples_version
        view = model.samples
        self.real.setVisible(view.grid is not None)
        if view.grid is not None:
            self.stack.setCurrentIndex(0)
            self._view = view
            if self._run_dir != model.info.get("run_dir"):
                self._run_dir, self._real = model.info.get("run_dir"), None
            self._classes = int(model.info.get("classes") or 0)
            if not self.real.isChecked():
                self._show_chosen()
            if self.fresh.isChecked() != view.fresh:  # the engine's view, not the box, is the truth
                self.fresh.blockSignals(True)
                self.fresh.setChecked(view.fresh)
                self.fresh.blockSignals(False)
        else:
            self.stack.setCurrentIndex(1)
            self._draw_points(view, model.settings)
            self.caption.setText(f"step {view.step} · grey: real, orange: generated, circles: modes · "
                                 "background: D's score, lines: D = +m_real, D = -m_fake")

    def _show_chosen(self) -> None:
        """The newest samples, or the real images in their place while *Real images* is ticked."""
        view = self._view
        if view is None:
            return
        if not self.real.isChecked():
            self._show_cells(view.grid, view, f"step {view.step} · click a sample to enlarge")
        elif self._real is None:
            self._real = "fetching the real images…"
            self.caption.setText(self._real)
            self.fetch(RunLayout("").real, self._got_real)
        elif isinstance(self._real, str):
            self.caption.setText(self._real)
        else:
            self._show_cells(self._real, view, f"real images as D receives them ({RunLayout('').real}) · click one "
                                               "to enlarge")

    def _real_toggled(self, on: bool) -> None:
        if on and isinstance(self._real, str) and self._real.startswith("no real"):
            self._real = None  # ticked again: ask again (the run may have written it since)
        self._show_chosen()

    def _got_real(self, path, why: str | None) -> None:
        real = None if path is None else read_picture(path)
        self._real = real if real is not None else f"no real images to show: {why or f'{path} cannot be read'}"
        self._show_chosen()

    def _show_cells(self, grid: np.ndarray, view, caption: str) -> None:
        """A grid laid out as `view`'s (its cell size and count), re-tiled to fill the dock."""
        self._cells, self._cell = grid_cells(grid, view.cell, view.count, PADDING), view.cell
        self._show_grid()
        self.caption.setText(caption)

    def _show_grid(self) -> None:
        """The images tiled to fill the view: as many a row as shows them largest at its size now."""
        size = self.image_view.size()
        cols = best_columns(len(self._cells), self._cell, size.width(), size.height(), self._classes)
        self._grid = image_grid(self._cells, PADDING, cols)
        shown = self._grid[:, :, 0] if self._grid.shape[2] == 1 else self._grid
        self.image.setImage(shown, autoLevels=False, levels=(0, 255))
        self.image_box.autoRange(padding=0)

    def _resized(self, event) -> None:
        pg.GraphicsLayoutWidget.resizeEvent(self.image_view, event)
        if self._cells is not None:
            self._show_grid()

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
        pitch = self._cell + PADDING
        cols = (self._grid.shape[1] - PADDING) // pitch
        col, row = int(pos.x() // pitch), int(pos.y() // pitch)
        index = row * cols + col
        if not (0 <= col < cols and 0 <= index < len(self._cells)):
            return
        event.accept()
        self.show_enlarged(np.ascontiguousarray(self._cells[index]),
                           f"{'real image' if self.real.isChecked() else 'sample'} {index}")

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
