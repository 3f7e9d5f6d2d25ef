"""File > Export: samples, the timelapse and the metrics, each to a path the user picks on this machine. A run on
another machine writes its exports in its own samples folder there; they come over the channel and are copied
to the path picked here."""
from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from core.base.errors import UserError
from core.pictures import write_timelapse
from core.protocol import commands as C
from core.storage.layout import RunLayout
from core.storage.metrics_csv import copy_metrics
from core.storage.rundir import step_files


class Exports:
    def __init__(self, window):
        self.window = window

    def _ask_path(self, title: str, suffix: str, name: str) -> str | None:
        folder = RunLayout(self.window.model.info.get("run_dir", ".")).samples
        default = str((Path.cwd() if self.window.elsewhere else folder) / f"{name}{suffix}")
        if suffix:
            path, _ = QFileDialog.getSaveFileName(self.window, title, default, f"*{suffix}")
            return (path if path.endswith(suffix) else path + suffix) if path else None
        return QFileDialog.getExistingDirectory(self.window, title, str(Path(default).parent)) or None

    def samples_dialog(self, suffix: str) -> None:
        """Where and how many; the engine puts the step it exports at into the name ({step})."""
        path = self._ask_path("Export samples", suffix, "export-{step}")
        if not path:
            return
        points = self.window.model.info.get("is_2d", False)
        default = 2000 if points or suffix == ".npy" else 64
        n, ok = QInputDialog.getInt(self.window, "Export samples", "How many samples?", default, 1, 100_000)
        if not ok:
            return
        path = path if suffix else str(Path(path) / "export-{step}")
        if not self.window.elsewhere:
            self.window.send(C.ExportSamples(path, n=n))
            return
        run_dir = PurePosixPath(self.window.model.info["run_dir"])
        self.window.after("export_samples", lambda event: self._fetch_export(event, run_dir, Path(path).parent))
        self.window.send(C.ExportSamples(str(RunLayout(run_dir).samples / Path(path).name), n=n))

    def _fetch_export(self, event: dict, run_dir: PurePosixPath, here: Path) -> None:
        """The export the remote run wrote, fetched and copied into the folder picked here."""
        if event["kind"] == "export_samples":
            relative = PurePosixPath(event["path"]).relative_to(run_dir)
            self.window.fetch(relative, lambda got, why: self.run_file_action(lambda: copy_into(got, why, here)))

    def timelapse_dialog(self) -> None:
        path = self._ask_path("Export timelapse", ".gif", f"timelapse-{self.window.model.step}")
        if path:
            figures = bool(self.window.model.info.get("is_2d"))
            self.window.fetch(RunLayout("").timelapse, lambda folder, why: self.run_file_action(
                lambda: write_timelapse(step_files(need(folder, why), ".png"), path, figures=figures)))

    def metrics_dialog(self) -> None:
        path = self._ask_path("Export metrics", ".csv", f"metrics-{self.window.model.step}")
        if path:
            self.window.fetch(RunLayout("").metrics, lambda metrics, why: self.run_file_action(
                lambda: copy_metrics(need(metrics, why), path)))

    def run_file_action(self, action) -> None:
        try:
            written = action()
        except (UserError, KeyError) as exc:
            QMessageBox.warning(self.window, "Export failed", str(exc) or "no run yet")
            return
        self.window.statusBar().showMessage(f"wrote {written}", 6000)


def need(path: Path | None, why: str | None) -> Path:
    """The fetched path, or UserError with why it did not come."""
    if path is None:
        raise UserError(why)
    return path


def copy_into(path: Path | None, why: str | None, folder: Path) -> Path:
    """A fetched file or folder copied into `folder`; the copy's path."""
    source = need(path, why)
    target = folder / source.name
    try:
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copyfile(source, target)
    except OSError as exc:
        raise UserError(f"cannot copy to {target}: {exc.strerror or exc}") from None
    return target
