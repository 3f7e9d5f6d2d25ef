"""Two runs' samples side by side at one step (from their timelapse frames), each under its run's name and
the frame's step, as large as the dock lets them be; a click shows both at full size, where a laptop's tab
is too small to read a 2D figure's axes."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QDialog, QGridLayout, QLabel, QSizePolicy, QWidget

from core.storage.run_index import nearest_frame

MIN_PX = 140
FULL_PX = 480  # a picture enlarged is at least this wide (an image grid is scaled up to it)


class Picture(QLabel):
    """A picture scaled to the label's size, keeping its aspect (scaled again whenever the label resizes); a click
    calls `clicked`."""

    def __init__(self, clicked=lambda: None):
        super().__init__()
        self.clicked = clicked
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(MIN_PX, MIN_PX)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.source: QPixmap | None = None

    def show_picture(self, pixmap: QPixmap | None, text: str = "") -> None:
        self.source = pixmap
        if pixmap is None:
            self.clear()
            self.setText(text)
        else:
            self._scale()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._scale()

    def mousePressEvent(self, event) -> None:
        if self.source is not None:
            self.clicked()

    def _scale(self) -> None:
        if self.source is not None:
            self.setPixmap(self.source.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation))


class SideBySide(QWidget):
    def __init__(self):
        super().__init__()
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.titles = [QLabel(), QLabel()]
        self.pictures = [Picture(self.show_full), Picture(self.show_full)]
        for column, (title, picture) in enumerate(zip(self.titles, self.pictures)):
            title.setAlignment(Qt.AlignmentFlag.AlignCenter)
            title.setWordWrap(True)
            grid.addWidget(title, 0, column)
            grid.addWidget(picture, 1, column)
        grid.setRowStretch(1, 1)

    def show_runs(self, picked: list, step: int) -> None:
        """The first two of (RunRecord, colour) at the frame nearest `step`."""
        for title, picture, chosen in zip(self.titles, self.pictures, picked[:2] + [None, None]):
            if chosen is None:
                title.setText("")
                picture.show_picture(None, "tick runs to see their samples")
                continue
            run, colour = chosen
            frame = nearest_frame(run.path, step)
            if frame is None:
                title.setText(f"<b style='color:{colour}'>{run.name}</b>")
                picture.show_picture(None, "no timelapse frames yet")
                continue
            title.setText(f"<b style='color:{colour}'>{run.name}</b> · step {int(frame.stem.split('-')[1]):,}")
            picture.show_picture(QPixmap(str(frame)))
            picture.setToolTip(f"{run.name}: {frame} (click to see both at full size)")
            picture.setStyleSheet(f"border: 2px solid {colour};")

    def show_full(self) -> QDialog:
        """Both pictures at full size (an image grid scaled up to FULL_PX), side by side, under their titles."""
        dialog = QDialog(self)
        dialog.setWindowTitle("Samples side by side")
        grid = QGridLayout(dialog)
        for column, (title, picture) in enumerate(zip(self.titles, self.pictures)):
            if picture.source is None:
                continue
            heading, full = QLabel(title.text()), QLabel()
            heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
            source = picture.source
            if source.width() < FULL_PX:
                source = source.scaledToWidth(FULL_PX, Qt.TransformationMode.FastTransformation)  # pixels stay sharp
            full.setPixmap(source)
            grid.addWidget(heading, 0, column)
            grid.addWidget(full, 1, column)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog
