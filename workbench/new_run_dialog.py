"""File > New run from preset: the preset, and the trackers the run is streamed to as it trains (TensorBoard,
MLflow, Weights & Biases; log.* settings). A tracker that is not installed is shown unticked and greyed, with
the line that installs it. The choices are remembered for the next new run."""
from __future__ import annotations

import importlib.util

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QLineEdit, QVBoxLayout)

from core.config.checks import TRACKER_PACKAGES


class NewRunDialog(QDialog):
    def __init__(self, presets: list[str], settings, parent=None):
        super().__init__(parent)
        self.setWindowTitle("New run")
        self.settings = settings
        self.preset = QComboBox()
        self.preset.addItems(presets)
        self.preset.setCurrentText(settings.value("new_run/preset", "digits"))
        self.ticks = {name: QCheckBox(label) for name, label in
                      (("tensorboard", "TensorBoard"), ("mlflow", "MLflow"), ("wandb", "Weights && Biases"))}
        self.mlflow_uri = QLineEdit(settings.value("new_run/mlflow_uri", "sqlite:///mlflow.db"))
        self.mlflow_uri.setToolTip("MLflow's tracking URI: sqlite:///FILE, http://HOST:PORT, ...")
        self.wandb_project = QLineEdit(settings.value("new_run/wandb_project", "hinge-gan"))
        self.wandb_offline = QCheckBox("offline")
        self.wandb_offline.setToolTip("Written under the run directory; `wandb sync` uploads it later")
        self.wandb_offline.setChecked(settings.value("new_run/wandb_offline", "false") == "true")
        trackers = QFormLayout()
        fields = {"tensorboard": None, "mlflow": self.mlflow_uri, "wandb": row(self.wandb_project, self.wandb_offline)}
        for name, tick in self.ticks.items():
            installed = importlib.util.find_spec(TRACKER_PACKAGES[name]) is not None
            tick.setEnabled(installed)
            tick.setChecked(installed and settings.value(f"new_run/{name}", "false") == "true")
            tick.setToolTip("stream the run there as it trains" if installed else
                            f"not installed: pip install 'hinge-workbench[{name}]'")
            trackers.addRow(tick) if fields[name] is None else trackers.addRow(tick, fields[name])
        box = QGroupBox("Stream the run live to")
        box.setLayout(trackers)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.addRow("Preset:", self.preset)
        layout.addLayout(form)
        layout.addWidget(box)
        layout.addWidget(buttons)

    def overrides(self) -> list[str]:
        """The log.* settings the ticks ask for."""
        asked = []
        if self.ticks["tensorboard"].isChecked():
            asked.append("log.tensorboard=true")
        if self.ticks["mlflow"].isChecked():
            asked.append(f"log.mlflow={self.mlflow_uri.text().strip()}")
        if self.ticks["wandb"].isChecked():
            asked += [f"log.wandb={self.wandb_project.text().strip()}",
                      f"log.wandb_mode={'offline' if self.wandb_offline.isChecked() else 'online'}"]
        return asked

    def remember(self) -> None:
        s = self.settings
        s.setValue("new_run/preset", self.preset.currentText())
        for name, tick in self.ticks.items():
            s.setValue(f"new_run/{name}", "true" if tick.isChecked() else "false")
        s.setValue("new_run/mlflow_uri", self.mlflow_uri.text().strip())
        s.setValue("new_run/wandb_project", self.wandb_project.text().strip())
        s.setValue("new_run/wandb_offline", "true" if self.wandb_offline.isChecked() else "false")


def row(*widgets) -> QHBoxLayout:
    layout = QHBoxLayout()
    for widget in widgets:
        layout.addWidget(widget)
    return layout
