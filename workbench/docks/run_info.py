"""What is running where, how fast, and the discriminator's spectral sigmas per layer."""
import math

from PySide6.QtWidgets import QDockWidget, QFormLayout, QLabel, QTreeWidget, QTreeWidgetItem

from core.protocol.states import RunState
from workbench.docks import stacked
from workbench.model import RunModel


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "–"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class RunDock(QDockWidget):
    FIELDS = ("preset", "dataset", "device", "precision", "speed-ups", "run directory", "state", "step", "steps/s", "elapsed",
              "ETA")

    def __init__(self, parent=None):
        super().__init__("Run", parent)
        self.setObjectName("run_dock")
        self.labels = {name: QLabel("–") for name in self.FIELDS}
        form = QFormLayout()
        for name, label in self.labels.items():
            label.setWordWrap(True)
            form.addRow(name, label)
        self.sigmas = QTreeWidget()
        self.sigmas.setHeaderLabels(["D layer", "spectral sigma"])
        self.sigmas.setRootIsDecorated(False)
        self.sigmas.setToolTip("Largest singular value of each layer's raw weight; spectral norm divides by it")
        self.setWidget(stacked(form, (self.sigmas, 1)))
        self._version = -1
        self._sigmas = None

    def refresh(self, model: RunModel) -> None:
        if model.version == self._version:
            return
        self._version = model.version
        info = model.info
        values = {
            "preset": info.get("preset", "–"), "dataset": info.get("dataset", "–"),
            "device": info.get("device", "–"), "precision": info.get("precision", "–"),
            "speed-ups": info.get("speedups", "–"),
            "run directory": info.get("run_dir", "–"),
            "state": model.state, "step": f"{model.step:,}", "steps/s": f"{model.steps_per_s:.1f}" if model.state == RunState.RUNNING else "–",
            "elapsed": format_duration(model.elapsed_s), "ETA": format_duration(model.eta_s),
        }
        for name, text in values.items():
            self.labels[name].setText(str(text))
        if model.sigmas is not self._sigmas:
            self._sigmas = model.sigmas
            self.sigmas.clear()
            for name, sigma in model.sigmas.items():
                self.sigmas.addTopLevelItem(QTreeWidgetItem([name, f"{sigma:.3f}"]))
