"""One dock widget per file. Each reads the RunModel in `refresh()` and sends commands through a callable.

One rule for small windows: every part of a dock keeps a readable minimum height (a plot PLOT_MIN_PX, a
table TABLE_MIN_PX); where the dock is shorter than its parts, it scrolls rather than squash them."""
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QHeaderView, QLayout, QScrollArea, QSizePolicy, QSplitter,
                               QStackedWidget, QStyledItemDelegate, QStyleOptionViewItem, QTreeView, QVBoxLayout,
                               QWidget)

import pyqtgraph as pg

PLOT_MIN_PX = 150
TABLE_MIN_PX = 96


def is_plot(part) -> bool:
    """A plot, or a stack of plots shown one at a time."""
    if isinstance(part, QStackedWidget):
        return part.count() > 0 and all(isinstance(part.widget(i), pg.GraphicsView) for i in range(part.count()))
    return isinstance(part, pg.GraphicsView)


def readable(part):
    """The minimum height a part keeps, by its kind (a strip of fixed height keeps its own)."""
    if part.minimumHeight() == part.maximumHeight():
        return part
    if is_plot(part) or isinstance(part, QSplitter):
        floor = PLOT_MIN_PX if is_plot(part) else part.minimumSizeHint().height()  # a splitter: its parts' sum
        part.setMinimumHeight(max(part.minimumHeight(), floor))
        # a plot's preferred height (480 px) would count when a wrapped label makes the dock's height depend on
        # its width, and push the dock into scrolling: a plot takes the height there is, down to its minimum
        part.setSizePolicy(part.sizePolicy().horizontalPolicy(), QSizePolicy.Policy.Ignored)
    elif isinstance(part, QAbstractItemView) and part.minimumHeight() < TABLE_MIN_PX:
        part.setMinimumHeight(TABLE_MIN_PX)
    return part


class WrappedRows(QStyledItemDelegate):
    """Rows of a tree view whose stretching columns wrap their text: each row as tall as its longest text at the
    column's width now (QTreeView alone measures the text unwrapped and cuts it to one line)."""

    def __init__(self, view: QTreeView):
        super().__init__(view)
        self.view = view
        view.setWordWrap(True)
        view.setUniformRowHeights(False)
        view.setTextElideMode(Qt.TextElideMode.ElideNone)
        view.setItemDelegate(self)
        view.header().sectionResized.connect(lambda *_: view.scheduleDelayedItemsLayout())

    def sizeHint(self, option, index) -> QSize:
        natural = super().sizeHint(option, index)
        header = self.view.header()
        if header.sectionResizeMode(index.column()) != QHeaderView.ResizeMode.Stretch:
            return natural
        shown = QStyleOptionViewItem(option)
        self.initStyleOption(shown, index)
        width = max(header.sectionSize(index.column()) - 8, 40)
        height = shown.fontMetrics.boundingRect(QRect(0, 0, width, 100_000), Qt.TextFlag.TextWordWrap,
                                                shown.text).height()
        return QSize(natural.width(), max(natural.height(), height + 4))


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
