"""The red banner across the top: what went wrong with the run, what a restart loses, and the way on that
exists; for an attached run, when its writer was last seen."""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QToolBar


def format_age(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


class ProblemBanner(QToolBar):
    def __init__(self, restart, parent=None):
        super().__init__("Problem", parent)
        self.setObjectName("problem_banner")
        self.setMovable(False)
        self.label = QLabel()
        self.label.setStyleSheet("color: #b00020; font-weight: bold; padding: 4px;")
        self.label.setWordWrap(True)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)  # one line when it fits
        self.restart_button = QPushButton("Restart from last checkpoint")
        self.restart_button.clicked.connect(restart)
        self.addWidget(self.label)
        self._restart_action = self.addWidget(self.restart_button)  # a toolbar shows widgets through actions
        self.hide()

    def show_problem(self, text: str, last_checkpoint: Path | None, can_start_again: bool) -> None:
        if last_checkpoint is not None:
            age = format_age(time.time() - last_checkpoint.stat().st_mtime)
            text += f" The last checkpoint was saved {age} ago; what was trained since is lost."
            self.restart_button.setText("Restart from last checkpoint")
        elif can_start_again:
            text += " No checkpoint was written yet: the run can only start again from step 0."
            self.restart_button.setText("Start again")
        self._restart_action.setVisible(last_checkpoint is not None or can_start_again)
        self.label.setText(text)
        self.show()

    def show_writer(self, text: str) -> None:
        """Attached: when the writer was last seen, or that the run is finished (empty: all is well)."""
        if text != self.label.text() or self.isVisible() != bool(text):
            self.label.setText(text)
            self._restart_action.setVisible(False)
            self.setVisible(bool(text))
