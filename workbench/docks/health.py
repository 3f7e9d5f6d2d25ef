"""Training health as the engine judges it (core/health): each detector's state, its evidence over steps
against its threshold, the alerts of the run, and the ways on: apply the suggested change, rewind to before
the alert, or both in one click; the dock says what stays in force after a rewind."""
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QComboBox, QDockWidget, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTabWidget,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from core.health import DETECTORS, UNDER_LOSS
from core.protocol import commands as C
from workbench.axes import FollowRange
from workbench.colours import ALERT, D_LOSS, HEALTHY
from workbench.docks import WrappedRows, stacked
from workbench.model import RunModel

SIGNALS = {  # what each detector's signal is, for the plot's title
    "d_overpowers": "larger share inside a margin (alert below the line, with D's loss near 0)",
    "g_collapse": "samples' spread in feature space vs the data's (alert below the line)",
    "diverging": "mean |D score| (alert above the line)",
    "stalled": "change of the fixed-z samples over the window (alert below the line, losses flat)",
    "not_covering": "share of the classes (2D: modes) the samples cover (alert below the line)",
    "d_memorises": "held-out reals' scores, from the trained reals' (0) to the fakes' (1) (alert above the line)",
}
STATE_COLOURS = {"alert": ALERT, "ok": HEALTHY}
EVIDENCE_MIN_PX = 120  # the signal's plot: shorter than other plots, as it shares a laptop's tab with the rest


def _number(value) -> str:
    return "–" if value is None else f"{value:.3g}"


def in_force_already(action: dict, settings) -> bool:
    """Whether the settings in force already are what a suggested command would set."""
    if settings is None:
        return False
    fields = {"set_learning_rates": ("lr_g", "lr_d"), "set_spectral_norm": ("enabled",), "set_n_dis": ("n_dis",),
              "set_margins": ("margin_real", "margin_fake"), "set_loss": ("loss",),
              "set_augment": ("policies",)}.get(action["kind"], ())
    named = {"enabled": "spectral_norm", "policies": "augment"}
    return bool(fields) and all(action.get(f) is None or getattr(settings, named.get(f, f)) == action[f]
                                for f in fields)


def in_force(settings) -> str:
    return (f"margins +{settings.margin_real:g} / -{settings.margin_fake:g}, spectral norm "
            f"{'on' if settings.spectral_norm else 'off'}, lr G {settings.lr_g:g}, lr D {settings.lr_d:g}, "
            f"n_dis {settings.n_dis}, augment {settings.augment}")


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
        self.rewind_button.clicked.connect(lambda: self.send(C.Rewind(to="last_healthy")))
        self.rewind_apply_button = QPushButton("Rewind and apply")
        self.rewind_apply_button.clicked.connect(self._rewind_and_apply)
        self.apply_button = QPushButton("Apply suggestion")
        self.apply_button.clicked.connect(self._apply_suggestion)
        self.after_rewind = QLabel()
        self.after_rewind.setWordWrap(True)
        self.after_rewind.setStyleSheet("color: #555;")
        self.choice = QComboBox()
        for name in DETECTORS:
            self.choice.addItem(name, name)
        self.choice.currentIndexChanged.connect(lambda _: self._redraw())
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "step")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.curve = self.plot.plot(pen=pg.mkPen(D_LOSS, width=1), symbol="o", symbolSize=3, symbolBrush=D_LOSS,
                                    symbolPen=None)
        self.threshold = pg.InfiniteLine(angle=0, pen=pg.mkPen("#c62828", width=1, style=Qt.PenStyle.DashLine),
                                         label="threshold {value:.3g}", labelOpts={"position": 0.1, "color": "#c62828"})
        self.plot.addItem(self.threshold)
        self.y_range = FollowRange(self.plot.getPlotItem())
        self._alert_lines = []
        self.history = QTreeWidget()
        self.history.setHeaderLabels(["step", "detector", "what it saw", "suggested", "cleared"])
        self.history.setRootIsDecorated(False)
        header = self.history.header()
        header.setStretchLastSection(False)
        for column, mode in ((0, QHeaderView.ResizeToContents), (1, QHeaderView.ResizeToContents),
                             (2, QHeaderView.Stretch), (3, QHeaderView.Stretch), (4, QHeaderView.ResizeToContents)):
            header.setSectionResizeMode(column, mode)
        WrappedRows(self.history)
        self.plot.setMinimumHeight(EVIDENCE_MIN_PX)

        evidence = QWidget()
        column = QVBoxLayout(evidence)
        column.setContentsMargins(2, 2, 2, 2)
        chooser = QHBoxLayout()
        chooser.addWidget(QLabel("Signal of"))
        chooser.addWidget(self.choice, 1)
        column.addLayout(chooser)
        column.addWidget(self.plot, 1)
        self.tabs = QTabWidget()  # at laptop size the alerts and the evidence take turns rather than squeeze
        self.tabs.addTab(evidence, "Evidence")
        self.tabs.addTab(self.history, "Alerts")
        self.tabs.setMinimumHeight(EVIDENCE_MIN_PX + 60)
        buttons = QHBoxLayout()
        for button in (self.rewind_button, self.rewind_apply_button, self.apply_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.setWidget(stacked(self.summary, self.states, buttons, self.after_rewind, (self.tabs, 1)))
        self._model: RunModel | None = None
        self._drawn = None
        self._alerts_seen = 0

    @property
    def active_alerts(self) -> list[dict]:
        return [a for a in (self._model.alerts if self._model else []) if a["cleared_at"] is None]

    def _suggested(self) -> dict | None:
        """The latest active alert's suggestion with a command to it, unless what it would set is in force
        already (a suggestion goes with its alert, and with its being applied)."""
        settings = self._model.settings if self._model else None
        alerts = [a for a in self.active_alerts if a.get("action") and not in_force_already(a["action"], settings)]
        return alerts[-1] if alerts else None

    def refresh(self, model: RunModel) -> None:
        self._model = model
        if self._drawn == model.version:
            return
        self._drawn = model.version
        active = self.active_alerts
        verdict = "No verdict yet."
        if active:
            verdict = "<b style='color:#c62828'>" + "; ".join(
                f"{a['name']} since step {a['since']:,}" for a in active) + "</b>. " + active[-1]["message"]
        elif model.health:
            watching = [n for n, r in model.health.items() if r["state"] == "warming up"]
            verdict = "Healthy: no detector sees a failure." + (
                f" Still gathering steps for {', '.join(watching)}." if watching else "")
        loss = model.settings.loss if model.settings is not None else "hinge"
        self.summary.setText(verdict + (" " + UNDER_LOSS[loss] if loss in UNDER_LOSS else ""))
        self._show_ways_on(model)
        self._fill_states(model.health)
        self._fill_history(model.alerts)
        self.tabs.setTabText(1, f"Alerts ({len(model.alerts)})")
        if len(model.alerts) > self._alerts_seen:  # a new alert: what it saw, and its evidence behind it
            self._alerts_seen = len(model.alerts)
            self.choice.setCurrentIndex(self.choice.findData(model.alerts[-1]["name"]))
            self.tabs.setCurrentIndex(1)
        self._redraw()

    def _show_ways_on(self, model: RunModel) -> None:
        """The engine says where a rewind would go (model.info["rewind"]); the suggestion is the active alert's."""
        suggested = self._suggested()
        rewind = model.info.get("rewind") or {}
        target = rewind.get("step")
        self.rewind_button.setEnabled(target is not None)
        self.rewind_apply_button.setEnabled(target is not None and suggested is not None)
        self.apply_button.setEnabled(suggested is not None)
        tip = suggested["suggestion"].capitalize() if suggested else "No active alert suggests a change"
        self.apply_button.setToolTip(tip)
        self.rewind_apply_button.setToolTip(f"Rewind to before the alert, then: {tip.lower()}")
        if not model.alerts or model.settings is None:
            self.after_rewind.setText("")
            return
        if target is None:
            why = rewind.get("why_not", "No checkpoint from before the alert")
            self.rewind_button.setToolTip(why)
            self.after_rewind.setText(why + ": no rewind possible.")
            return
        self.rewind_button.setToolTip(f"Go back to checkpoints/step-{target}.pt, the last kept before the alert; "
                                      "what came after moves to the run's abandoned/ folder, out of every view")
        then = f"; Rewind and apply then {suggested['suggestion']}" if suggested else ""
        self.after_rewind.setText(f"A rewind keeps the settings in force now: {in_force(model.settings)}{then}.")

    def _fill_states(self, health: dict) -> None:
        self.states.clear()
        for name in DETECTORS:
            reading = health.get(name, {"state": "–"})
            state = f"off: {reading['note']}" if reading.get("note") else reading["state"]
            item = QTreeWidgetItem([name, state, _number(reading.get("signal")),
                                    _number(reading.get("threshold")),
                                    "" if reading.get("since") is None else f"{reading['since']:,}"])
            if reading["state"] in STATE_COLOURS:
                item.setForeground(1, QBrush(QColor(STATE_COLOURS[reading["state"]])))
            self.states.addTopLevelItem(item)
        for column in range(4):
            self.states.resizeColumnToContents(column)
        rows = self.states.sizeHintForRow(0) * len(DETECTORS)  # every row, never a scroll bar
        self.states.setFixedHeight(rows + self.states.header().height() + 2 * self.states.frameWidth() + 2)

    def _fill_history(self, alerts: list[dict]) -> None:
        self.history.clear()
        for alert in reversed(alerts):
            cleared = "active" if alert["cleared_at"] is None else f"step {alert['cleared_at']:,}"
            item = QTreeWidgetItem([f"{alert['step']:,}", alert["name"], alert["message"], alert["suggestion"], cleared])
            item.setToolTip(2, alert["message"])
            item.setToolTip(3, alert["suggestion"])
            self.history.addTopLevelItem(item)

    def _redraw(self) -> None:
        if self._model is None:
            return
        name = self.choice.currentData()
        trace = self._model.health_trace.get(name, [])
        self.plot.setTitle(SIGNALS.get(name, name), size="9pt")
        values = [v for _, v in trace]
        self.curve.setData([s for s, _ in trace], values)
        threshold = self._model.health.get(name, {}).get("threshold")
        self.threshold.setVisible(threshold is not None)
        if threshold is not None:
            self.threshold.setValue(threshold)
        self.y_range.update([values], include=() if threshold is None else (threshold,))
        for line in self._alert_lines:
            self.plot.removeItem(line)
        self._alert_lines = [pg.InfiniteLine(pos=a["step"], angle=90, pen=pg.mkPen((214, 39, 40, 160)))
                             for a in self._model.alerts if a["name"] == name]
        for line in self._alert_lines:
            self.plot.addItem(line)

    def _apply_suggestion(self) -> None:
        suggested = self._suggested()
        if suggested is not None:
            self.send(C.from_event(suggested["action"]))

    def _rewind_and_apply(self) -> None:
        """Both in order at the next step boundary: the settings a rewind keeps first, the suggestion over them."""
        suggested = self._suggested()
        self.send(C.Rewind(to="last_healthy"))
        if suggested is not None:
            self.send(C.from_event(suggested["action"]))

    def clear(self) -> None:
        self._model, self._drawn, self._alerts_seen = None, None, 0
        self.states.clear()
        self.history.clear()
        self.curve.setData([], [])
        self.summary.setText("No verdict yet.")
        self.after_rewind.setText("")
