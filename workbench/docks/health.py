"""Training health as the engine judges it (core/health): each detector's state, its evidence over steps
against its threshold, the alerts of the run, and the two ways on: rewind, or apply the suggested change."""
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QComboBox, QDockWidget, QHBoxLayout, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem

from core.protocol import commands as C
from core.health import DETECTORS
from workbench.docks import stacked
from workbench.model import RunModel

SIGNALS = {  # what each detector's signal is, for the plot's title
    "d_overpowers": "larger share inside a margin (alert below the line, with D's loss near 0)",
    "g_collapse": "samples' spread in feature space vs the data's (alert below the line)",
    "diverging": "mean |D score| (alert above the line)",
    "stalled": "change of the fixed-z samples over the window (alert below the line, losses flat)",
}
STATE_COLOURS = {"alert": "#c62828", "ok": "#2e7d32"}


def _number(value) -> str:
    return "–" if value is None else f"{value:.3g}"


class HealthDock(QDockWidget):
    def __init__(self, send, parent=None):
        super().__init__("Health", parent)
        self.setObjectName("health_dock")
        self.send = send
        self.summary = QLabel("No verdict yet.")
        self.summary.setWordWrap(True)
        self.states = QTreeWidget()
        self.states.setHeaderLabels(["detector", "state", "signal", "threshold", "since step"])
        self.states.setRootIsDecorated(False)
        self.rewind_button = QPushButton("Rewind to before the alert")
        self.rewind_button.setToolTip("Go back to the last step-N.pt checkpoint written before the alert began; "
                                      "what came after moves to abandoned/ and the plots keep it faint")
        self.rewind_button.clicked.connect(lambda: self.send(C.Rewind(to="last_healthy")))
        self.apply_button = QPushButton("Apply suggestion")
        self.apply_button.clicked.connect(self._apply_suggestion)
        self.choice = QComboBox()
        for name in DETECTORS:
            self.choice.addItem(name, name)
        self.choice.currentIndexChanged.connect(lambda _: self._redraw())
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "step")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setMinimumHeight(110)
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.curve = self.plot.plot(pen=pg.mkPen("#4e9af1", width=1), symbol="o", symbolSize=3,
                                    symbolBrush="#4e9af1", symbolPen=None)
        self.threshold = pg.InfiniteLine(angle=0, pen=pg.mkPen("#c62828", width=1, style=Qt.PenStyle.DashLine),
                                         label="threshold {value:.3g}", labelOpts={"position": 0.1, "color": "#c62828"})
        self.plot.addItem(self.threshold)
        self._alert_lines = []
        self.history = QTreeWidget()
        self.history.setHeaderLabels(["step", "detector", "what it saw", "suggested", "cleared"])
        self.history.setRootIsDecorated(False)
        self.history.setWordWrap(True)

        buttons = QHBoxLayout()
        buttons.addWidget(self.rewind_button)
        buttons.addWidget(self.apply_button)
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Evidence"))
        row.addWidget(self.choice, 1)
        self.setWidget(stacked(self.summary, self.states, buttons, row, (self.plot, 1), (self.history, 1)))
        self._model: RunModel | None = None
        self._drawn = None
        self._alerts_seen = 0

    @property
    def active_alerts(self) -> list[dict]:
        return [a for a in (self._model.alerts if self._model else []) if a["cleared_at"] is None]

    def refresh(self, model: RunModel) -> None:
        self._model = model
        if self._drawn == model.version:
            return
        self._drawn = model.version
        active = self.active_alerts
        if active:
            self.summary.setText("<b style='color:#c62828'>" + "; ".join(
                f"{a['name']} since step {a['since']:,}" for a in active) + "</b>. " + active[-1]["message"])
        elif model.health:
            watching = [n for n, r in model.health.items() if r["state"] == "warming up"]
            self.summary.setText("Healthy: no detector sees a failure." +
                                 (f" Still gathering steps for {', '.join(watching)}." if watching else ""))
        self.rewind_button.setEnabled(bool(model.alerts))
        self.apply_button.setEnabled(any(a.get("action") for a in active))
        self.apply_button.setToolTip(active[-1]["suggestion"].capitalize() if active else "No alert is active")
        self._fill_states(model.health)
        self._fill_history(model.alerts)
        if len(model.alerts) > self._alerts_seen:  # a new alert: show its evidence
            self._alerts_seen = len(model.alerts)
            self.choice.setCurrentIndex(self.choice.findData(model.alerts[-1]["name"]))
        self._redraw()

    def _fill_states(self, health: dict) -> None:
        self.states.clear()
        for name in DETECTORS:
            reading = health.get(name, {"state": "–"})
            item = QTreeWidgetItem([name, reading["state"], _number(reading.get("signal")),
                                    _number(reading.get("threshold")),
                                    "" if reading.get("since") is None else f"{reading['since']:,}"])
            if reading["state"] in STATE_COLOURS:
                item.setForeground(1, QBrush(QColor(STATE_COLOURS[reading["state"]])))
            self.states.addTopLevelItem(item)
        for column in range(4):
            self.states.resizeColumnToContents(column)
        rows = self.states.sizeHintForRow(0) * len(DETECTORS)  # all four rows, never a scroll bar
        self.states.setFixedHeight(rows + self.states.header().height() + 2 * self.states.frameWidth() + 2)

    def _fill_history(self, alerts: list[dict]) -> None:
        self.history.clear()
        for alert in reversed(alerts):
            cleared = "active" if alert["cleared_at"] is None else f"step {alert['cleared_at']:,}"
            item = QTreeWidgetItem([f"{alert['step']:,}", alert["name"], alert["message"], alert["suggestion"], cleared])
            item.setToolTip(2, alert["message"])
            self.history.addTopLevelItem(item)
        for column in (0, 1, 4):
            self.history.resizeColumnToContents(column)

    def _redraw(self) -> None:
        if self._model is None:
            return
        name = self.choice.currentData()
        trace = self._model.health_trace.get(name, [])
        self.plot.setTitle(SIGNALS[name], size="9pt")
        self.curve.setData([s for s, _ in trace], [v for _, v in trace])
        threshold = self._model.health.get(name, {}).get("threshold")
        self.threshold.setVisible(threshold is not None)
        if threshold is not None:
            self.threshold.setValue(threshold)
        for line in self._alert_lines:
            self.plot.removeItem(line)
        self._alert_lines = [pg.InfiniteLine(pos=a["step"], angle=90, pen=pg.mkPen((214, 39, 40, 160)))
                             for a in self._model.alerts if a["name"] == name]
        for line in self._alert_lines:
            self.plot.addItem(line)

    def _apply_suggestion(self) -> None:
        active = [a for a in self.active_alerts if a.get("action")]
        if active:
            self.send(C.from_event(active[-1]["action"]))

    def clear(self) -> None:
        self._model, self._drawn, self._alerts_seen = None, None, 0
        self.states.clear()
        self.history.clear()
        self.curve.setData([], [])
        self.summary.setText("No verdict yet.")
