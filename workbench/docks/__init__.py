"""One dock widget per file. Each reads the RunModel in `refresh()` and sends commands through a callable."""
from PySide6.QtWidgets import QLayout, QVBoxLayout, QWidget


def stacked(*parts) -> QWidget:
    """A dock's body: layouts and widgets top to bottom; a (widget, stretch) pair takes spare height."""
    body = QWidget()
    layout = QVBoxLayout(body)
    layout.setContentsMargins(4, 4, 4, 4)
    for part in parts:
        part, stretch = part if isinstance(part, tuple) else (part, 0)
        if isinstance(part, QLayout):
            layout.addLayout(part, stretch)
        else:
            layout.addWidget(part, stretch)
    return body
