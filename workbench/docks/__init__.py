"""One dock widget per file. Each reads the RunModel in `refresh()` and sends commands through a callable.

One rule for small windows: every part of a dock keeps a readable minimum height (a plot PLOT_MIN_PX, a
table TABLE_MIN_PX); where the dock is shorter than its parts, it scrolls rather than squash them."""
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QFrame, QLayout, QScrollArea, QVBoxLayout, QWidget

import pyqtgraph as pg

PLOT_MIN_PX = 150
TABLE_MIN_PX = 96


def readable(part):
    """The minimum height a part keeps, by its kind (a strip of fixed height keeps its own)."""
    if part.minimumHeight() == part.maximumHeight():
        return part
    if isinstance(part, pg.GraphicsView) and part.minimumHeight() < PLOT_MIN_PX:
        part.setMinimumHeight(PLOT_MIN_PX)
    elif isinstance(part, QAbstractItemView) and part.minimumHeight() < TABLE_MIN_PX:
        part.setMinimumHeight(TABLE_MIN_PX)
    return part


def stacked(*parts) -> QScrollArea:
    """A dock's body: layouts and widgets top to bottom; a (widget, stretch) pair takes spare height."""
    body = QWidget()
    layout = QVBoxLayout(body)
    layout.setContentsMargins(4, 4, 4, 4)
    for part in parts:
        part, stretch = part if isinstance(part, tuple) else (part, 0)
        if isinstance(part, QLayout):
            layout.addLayout(part, stretch)
        else:
            layout.addWidget(readable(part), stretch)
    scroll = QScrollArea()
    scroll.setWidget(body)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return scroll
