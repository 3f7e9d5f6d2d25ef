"""The File menu: new runs, configs, resuming, saving and exports, each through its dialog."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from core import commands as C
from core import config as config_mod
from core.errors import UserError
from core.export import copy_metrics, write_timelapse
from core.rundir import default_run_dir
from workbench.runner import RunSpec


def needs_data_folder(cfg) -> bool:
    """A preset whose data lives in a folder that is not named or not there (and not to be downloaded)."""
    d = cfg.data
    if d.source not in ("folder", "idx", "torchvision"):
        return False
    return not d.root or not (Path(d.root).expanduser().exists() or d.download)


def checkpoint_problem(path: str) -> str | None:
    """Why `path` cannot be resumed from, or None. Asked of a short-lived process: torch stays out of the
    window, and nothing running is stopped before the answer."""
    result = subprocess.run([sys.executable, "-m", "core.checkpoint", path], capture_output=True, text=True,
                            timeout=120)
    return (result.stderr.strip().splitlines() or ["not a checkpoint"])[-1] if result.returncode else None


class FileMenu:
    def __init__(self, window, menu):
        self.window = window
        action = window._action
        action(menu, "New run from preset…", self.new_run_dialog, "Ctrl+N")
        action(menu, "Open config…", self.open_config_dialog, "Ctrl+O")
        action(menu, "Resume from checkpoint…", self.resume_dialog)
        menu.addSeparator()
        action(menu, "Save checkpoint", lambda: window.send(C.SaveCheckpoint()), "Ctrl+S")
        export = menu.addMenu("Export samples")
        self.export_action = action(export, "As PNG grid…", lambda: self.export_samples_dialog(".png"), "Ctrl+E")
        action(export, "As PNG files…", lambda: self.export_samples_dialog(""))
        action(export, "As .npy array…", lambda: self.export_samples_dialog(".npy"))
        action(menu, "Export timelapse GIF…", self.export_timelapse_dialog)
        action(menu, "Export metrics CSV…", self.export_metrics_dialog)
        menu.addSeparator()
        action(menu, "Quit", window.close, "Ctrl+Q")

    def _run_config(self, cfg) -> None:
        device = self.window.spec.device if self.window.spec else "auto"
        self.window.start(RunSpec(cfg.to_dict(), str(default_run_dir(cfg.preset)), device))

    def new_run_dialog(self) -> None:
        names = config_mod.preset_names()
        current = names.index("digits") if "digits" in names else 0
        name, ok = QInputDialog.getItem(self.window, "New run", "Preset:", names, current, False)
        if not ok:
            return
        cfg = config_mod.load_preset(name)
        if needs_data_folder(cfg):
            folder = QFileDialog.getExistingDirectory(self.window, f"Data for the {name} preset: choose its folder",
                                                      cfg.data.root or str(Path.home()))
            if not folder:
                self.window.statusBar().showMessage(f"no run started: the {name} preset needs its data folder", 8000)
                return
            cfg.data.root = folder
        try:
            self._run_config(config_mod.validate(cfg))
        except UserError as exc:
            QMessageBox.warning(self.window, "Cannot start the run", str(exc))

    def open_config_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open config", "", "Config (*.json *.toml)")
        if path:
            try:
                self._run_config(config_mod.validate(config_mod.load_file(path)))
            except UserError as exc:
                QMessageBox.warning(self.window, "Cannot open config", str(exc))

    def resume_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Resume from checkpoint", "", "Checkpoints (*.pt)")
        if path and (problem := checkpoint_problem(path)):
            QMessageBox.warning(self.window, "Cannot resume", f"{problem}\n\nThe current run goes on.")
        elif path:
            run_dir = Path(path).parent.parent if (Path(path).parent.parent / "config.json").exists() \
                else default_run_dir("resumed")
            self.window.start(RunSpec(None, str(run_dir), self.window.spec.device if self.window.spec else "auto", resume=path))

    def _ask_path(self, title: str, suffix: str, name: str) -> str | None:
        default = str(Path(self.window.model.info.get("run_dir", ".")) / "samples" / f"{name}{suffix}")
        if suffix:
            path, _ = QFileDialog.getSaveFileName(self.window, title, default, f"*{suffix}")
            return (path if path.endswith(suffix) else path + suffix) if path else None
        return QFileDialog.getExistingDirectory(self.window, title, str(Path(default).parent)) or None

    def export_samples_dialog(self, suffix: str) -> None:
        """Where and how many; the engine puts the step it exports at into the name ({step})."""
        path = self._ask_path("Export samples", suffix, "export-{step}")
        if not path:
            return
        points = self.window.model.info.get("is_2d", False)
        default = 2000 if points or suffix == ".npy" else 64
        n, ok = QInputDialog.getInt(self.window, "Export samples", "How many samples?", default, 1, 100_000)
        if ok:
            self.window.send(C.ExportSamples(path if suffix else str(Path(path) / "export-{step}"), n=n))

    def export_timelapse_dialog(self) -> None:
        path = self._ask_path("Export timelapse", ".gif", f"timelapse-{self.window.model.step}")
        if path:
            frames = Path(self.window.model.info.get("run_dir", ".")) / "samples" / "timelapse"
            self.run_file_action(lambda: write_timelapse(frames, path))

    def export_metrics_dialog(self) -> None:
        path = self._ask_path("Export metrics", ".csv", f"metrics-{self.window.model.step}")
        if path:
            metrics = Path(self.window.model.info.get("run_dir", ".")) / "metrics.csv"
            self.run_file_action(lambda: copy_metrics(metrics, path))

    def run_file_action(self, action) -> None:
        try:
            written = action()
        except (UserError, KeyError) as exc:
            QMessageBox.warning(self.window, "Export failed", str(exc) or "no run yet")
            return
        self.window.statusBar().showMessage(f"wrote {written}", 6000)
