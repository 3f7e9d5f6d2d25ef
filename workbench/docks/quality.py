"""Sample quality as the engine measures it in the background: the latest scores, and one metric over
steps or training seconds beside its floor (the same distance between two halves of real data)."""
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDockWidget, QHBoxLayout, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem

from core.protocol import commands as C
from workbench.axes import FollowRange
from workbench.colours import D_LOSS
from workbench.docks import stacked
from workbench.model import RunModel
from workbench.overlays import OverlayLayer

# (key, label, lower is better); the first key a result has is plotted by default
METRICS = (
    ("high_quality_rate", "high-quality samples", False),
    ("modes_covered", "modes covered", False),
    ("reverse_kl", "reverse KL (modes)", True),
    ("fid", "FID (FID Inception features)", True),
    ("kid", "KID (FID Inception features)", True),
    ("precision", "precision (FID Inception features)", False),
    ("recall", "recall (FID Inception features)", False),
    ("diversity", "diversity vs data (FID Inception features)", False),
    ("fid_cnn", "FID (dataset CNN features)", True),
    ("kid_cnn", "KID (dataset CNN features)", True),
    ("precision_cnn", "precision (dataset CNN features)", False),
    ("recall_cnn", "recall (dataset CNN features)", False),
    ("diversity_cnn", "diversity vs data (dataset CNN features)", False),
    ("classes_present", "classes present", False),
    ("class_kl", "class KL", True),
    ("confident_share", "samples the classifier reads with p >= 0.9", False),
    ("asked_class_share", "samples the classifier reads as the class asked for", False),
)
LABELS = {key: label for key, label, _ in METRICS}
PERCENT = ("high_quality_rate", "classifier_accuracy", "confident_share", "asked_class_share", "diversity",
           "diversity_cnn")
FLOORS = {"fid": "fid_floor", "fid_cnn": "fid_cnn_floor"}  # real vs real: the best a generator can score
X_AXES = (("step", "step"), ("train_seconds", "training seconds"))
MAX_TABLE_ROWS = 10  # beyond it the table scrolls


def first_score_due(model: RunModel) -> str:
    """When the first score will come: its step, and in about how long at the speed trained now."""
    due = model.info.get("eval_due")
    if due is None:
        return "Scores come on request (Evaluate now, or set eval.every to schedule them)."
    when = ""
    if model.steps_per_s > 0 and due > model.step:
        when = f", in about {max(1, round((due - model.step) / model.steps_per_s)):,} s"
    return f"The first score comes at step {due:,}{when}; each is taken in the background."


def waiting_for(model: RunModel) -> str:
    """What the next score waits for besides the generator (the dataset's classifier training), or nothing."""
    note = model.info.get("eval_note")
    return f" {note}" if note else ""


def format_value(key: str, value) -> str:
    if value is None:
        return "–"
    if key in PERCENT:
        return f"{100 * value:.1f}%"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class QualityDock(QDockWidget):
    def __init__(self, send, parent=None):
        super().__init__("Quality", parent)
        self.setObjectName("quality_dock")
        self.send = send
        self.status = QLabel("No evaluation yet.")
        self.status.setWordWrap(True)
        self.evaluate_button = QPushButton("Evaluate now")
        self.evaluate_button.setToolTip("Score the generator at this step, in the background (off the training path)")
        self.evaluate_button.clicked.connect(lambda: self.send(C.Evaluate()))
        self.table = QTreeWidget()
        self.table.setHeaderLabels(["metric", "latest", "best"])
        self.table.setRootIsDecorated(False)
        self.choice = QComboBox()
        self.choice.currentIndexChanged.connect(lambda _: self._redraw())
        self.x_axis = QComboBox()
        for key, label in X_AXES:
            self.x_axis.addItem(f"against {label}", key)
        self.x_axis.currentIndexChanged.connect(lambda _: self._redraw())
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "step")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # a rate of 0.88 reads as 0.88, not 880 m
        self.curve = self.plot.plot(pen=pg.mkPen(D_LOSS, width=1.5), symbol="o", symbolSize=5, symbolBrush=D_LOSS)
        self.y_range = FollowRange(self.plot.getPlotItem())
        self.floor = pg.InfiniteLine(angle=0, pen=pg.mkPen("#555", width=1, style=Qt.PenStyle.DashLine),
                                     label="floor (real vs real) {value:.3g}",
                                     labelOpts={"position": 0.12, "color": "#333", "fill": (255, 255, 255, 200)})
        self.plot.addItem(self.floor)
        self.floor.hide()
        self.overlay = OverlayLayer(self.plot)
        self._overlaid = []

        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.evaluate_button)
        row = QHBoxLayout()
        plot_label = QLabel("Plot")
        row.addWidget(plot_label)
        row.addWidget(self.choice, 1)
        row.addWidget(self.x_axis)
        self.scored = [self.table, plot_label, self.choice, self.x_axis, self.plot]  # hidden until there is a score
        self.setWidget(stacked(top, self.table, row, (self.plot, 1)))
        self._results: list[dict] = []
        self._drawn = None
        self._show_scored(False)

    def _show_scored(self, shown: bool) -> None:
        for widget in self.scored:
            widget.setVisible(shown)

    def refresh(self, model: RunModel) -> None:
        every = model.info.get("eval_every")
        drawn = (len(model.quality), model.rewinds, every, model.step // 25, model.info.get("eval_note"))
        if self._drawn == drawn:
            return
        self._drawn = drawn
        self._results = model.quality
        schedule = f"every {every:,} steps" if every else "on request only (set eval.every to schedule it)"
        self._show_scored(bool(self._results) or bool(self._overlaid))
        if not self._results:
            self.status.setText(f"No score yet. {first_score_due(model)}{waiting_for(model)}")
            return
        latest = self._results[-1]
        if "error" in latest:
            self.status.setText(f"Evaluation at step {latest['step']:,} failed: {latest['error']}")
            return
        seconds = latest.get("eval_seconds")
        took = f" ({seconds:.1f} s)" if seconds and seconds >= 0.1 else ""
        note = f" {latest['note']}" if "note" in latest else ""
        if latest.get("quick"):
            note += (f" An early score: how the classifier reads {latest['n']:,} samples; FID and the rest come "
                     f"with the first full score{f' at step {every:,}' if every else ''}.")
        judge = ""
        if latest.get("classifier_accuracy") is not None:
            judge = (f" Judge: the dataset's CNN classifier, {100 * latest['classifier_accuracy']:.1f}% accurate on "
                     "held-out real images" + ("; FID on the FID Inception network's features." if "fid" in latest else "."))
        self.status.setText(f"Step {latest['step']:,}{took}; scored {schedule}.{judge}{note}{waiting_for(model)}")
        self._fill_table(latest)
        self._fill_choice(latest)
        self._redraw()

    def _fill_choice(self, result: dict) -> None:
        """The metrics a result has, to choose from; the choice is kept when they are the same."""
        keys = [key for key, _, _ in METRICS if key in result]
        if [self.choice.itemData(i) for i in range(self.choice.count())] != keys:
            self.choice.blockSignals(True)
            self.choice.clear()
            for key in keys:
                self.choice.addItem(LABELS[key], key)
            if result.get("quick"):  # an early score: whether the samples read as digits says most
                self.choice.setCurrentIndex(max(0, self.choice.findData("confident_share")))
            self.choice.blockSignals(False)

    def _fill_table(self, latest: dict) -> None:
        self.table.clear()
        scored = [r for r in self._results if "error" not in r]
        for key, label, lower_is_better in METRICS:
            if key not in latest:
                continue
            values = [r[key] for r in scored if r.get(key) is not None]
            best = (min(values) if lower_is_better else max(values)) if values else None
            self.table.addTopLevelItem(QTreeWidgetItem([label, format_value(key, latest[key]), format_value(key, best)]))
            if latest.get(FLOORS.get(key)) is not None:
                self.table.addTopLevelItem(QTreeWidgetItem(["    floor: real vs real, same features",
                                                            format_value(key, latest[FLOORS[key]]), ""]))
        if "classifier_accuracy" in latest:
            self.table.addTopLevelItem(QTreeWidgetItem(["classifier accuracy (held out)",
                                                        format_value("high_quality_rate", latest["classifier_accuracy"]),
                                                        ""]))
        self.table.resizeColumnToContents(0)
        rows = min(self.table.topLevelItemCount(), MAX_TABLE_ROWS)  # the plot takes the rest of the height
        self.table.setFixedHeight(self.table.sizeHintForRow(0) * rows + self.table.header().height()
                                  + 2 * self.table.frameWidth() + 2)

    def _redraw(self) -> None:
        key, x = self.choice.currentData(), self.x_axis.currentData()
        scale = 100 if key in PERCENT else 1  # as the table shows it
        points = [(r[x], scale * r[key]) for r in self._results if r.get(key) is not None and r.get(x) is not None]
        self.plot.setTitle(LABELS.get(key, "") + (" (%)" if key in PERCENT else ""), size="9pt")
        self.plot.setLabel("bottom", dict(X_AXES)[x])
        self.curve.setData([s for s, _ in points], [v for _, v in points])
        values = [[v for _, v in points]]
        self.overlay.clear()
        for run, color in self._overlaid:
            mine = [(r[x], scale * r[key]) for r in run.quality if r.get(key) is not None and r.get(x) is not None]
            self.overlay.curve([a for a, _ in mine], [b for _, b in mine], color)
            if x == "step":
                self.overlay.fork(run.fork_step, color, run.name)
            values.append([b for _, b in mine])
        floors = [r[FLOORS[key]] for r in self._results if r.get(FLOORS.get(key)) is not None]
        self.floor.setVisible(bool(floors))
        if floors:
            self.floor.setValue(floors[-1])
        self.y_range.update(values, include=floors[-1:])

    def show_overlays(self, runs) -> None:
        """Compared runs' scores for the chosen metric, in their colours."""
        self._overlaid = runs
        scored = [r for run, _ in runs for r in run.quality if "error" not in r]
        if not self._results and scored:
            self._fill_choice(scored[-1])
        self._show_scored(bool(self._results) or bool(runs))
        self._redraw()

    def clear(self) -> None:
        self._results = []
        self.table.clear()
        self.curve.setData([], [])
        self.floor.hide()
        self._drawn = None
        self._show_scored(False)
