"""The status bar's permanent part: the health badge (click: the Health dock), the run's state, step,
speed and device."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

from core.protocol.engine import Preparing

from core.protocol.states import RunState
from workbench.model import RunModel


class StatusLine:
    def __init__(self, bar: QStatusBar, show_health):
        self.preparation = QProgressBar()
        self.preparation.setMaximumWidth(320)
        self.preparation.hide()
        bar.addPermanentWidget(self.preparation)
        self.health_badge = QPushButton()
        self.health_badge.setFlat(True)
        self.health_badge.setToolTip("Training health: click for the Health dock")
        self.health_badge.clicked.connect(show_health)
        bar.addPermanentWidget(self.health_badge)
        self.labels = {name: QLabel() for name in ("state", "step", "rate", "device")}
        for label in self.labels.values():
            bar.addPermanentWidget(label)

    def preparing(self, work: Preparing) -> None:
        """Work before the first step (decoding a folder of images) as a progress bar, gone once it is done."""
        self.preparation.setRange(0, max(work.total, 1))
        self.preparation.setValue(work.done)
        self.preparation.setFormat(f"{work.what}: {work.done:,} of {work.total:,}")
        self.preparation.setVisible(work.done < work.total)

    def refresh(self, m: RunModel) -> None:
        self.labels["state"].setText(f"  {m.state}  ")
        self.labels["step"].setText(f"step {m.step:,}  ")
        self.labels["rate"].setText(f"{m.steps_per_s:.1f} steps/s  " if m.state == RunState.RUNNING else "")
        self.labels["device"].setText(m.info.get("device", "–"))
        active = [name for name, r in m.health.items() if r["state"] == "alert"]
        badge = f"⚠ {', '.join(active)}" if active else ("● healthy" if m.health else "")
        if badge != self.health_badge.text():
            self.health_badge.setText(badge)
            self.health_badge.setStyleSheet(f"color: {'#c62828; font-weight: bold' if active else '#2e7d32'};")
