"""The File menu: new runs, configs, resuming, saving and exports, each through its dialog."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtWidgets import QDialog, QFileDialog, QInputDialog, QMessageBox

from core.protocol import commands as C
from core import config as config_mod
from core.base.errors import UserError
from core.storage.checkpoint_probe import describe_checkpoint
from core.storage.layout import RUNS_ROOT, RunLayout, default_run_dir, run_dir_of
from core.protocol.engine import RunSpec
from workbench.actions import add_action
from workbench.exports import Exports
from workbench.new_run_dialog import NewRunDialog
from workbench import remote_run
from workbench.sweep_dialog import sweep_dialog


def needs_data_folder(cfg) -> bool:
    """A preset whose data lives in a folder that is not named or not there (and not to be downloaded)."""
    d = cfg.data
    if d.source not in ("folder", "idx", "torchvision"):
        return False
    return not d.root or not (Path(d.root).expanduser().exists() or d.download)


def start_fork(checkpoint: str, overrides: list[str], device: str) -> tuple[Path, subprocess.Popen, int]:
    """`hinge-train train --resume CKPT --run-dir NEW --set ...` in its own session (it outlives the window);
    (its run directory, its process, the steps it will train). The settings are checked first, names and
    values, so a typo or a value out of range is said here rather than in a log."""
    parent = run_dir_of(checkpoint)
    saved = json.loads(RunLayout(parent).config.read_text()) if parent else {"preset": "fork"}
    forked = config_mod.validate(config_mod.apply_overrides(config_mod.from_dict(saved), overrides))
    root = parent.parent if parent else RUNS_ROOT
    run_dir = root / f"{parent.name if parent else 'run'}-fork-{time.strftime('%Y%m%d-%H%M%S')}"
    command = [sys.executable, "-m", "core.cli", "train", "--resume", checkpoint, "--run-dir", str(run_dir),
               "--device", device]
    for item in overrides:
        command += ["--set", item]
    run_dir.mkdir(parents=True, exist_ok=True)
    log = open(RunLayout(run_dir).train_log, "w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    return run_dir, process, forked.train.steps


def checkpoint_problem(path: str) -> str | None:
    """Why `path` cannot be resumed from, or None. Asked of a short-lived process: torch stays out of the
    window, and nothing running is stopped before the answer."""
    try:
        describe_checkpoint(path)
    except UserError as exc:
        return str(exc)
    return None


class FileMenu:
    def __init__(self, window, menu):
        self.window = window
        action = lambda *args, **kwargs: add_action(window, *args, **kwargs)  # noqa: E731
        action(menu, "New run from preset…", self.new_run_dialog, "Ctrl+N")
        action(menu, "Open config…", self.open_config_dialog, "Ctrl+O")
        action(menu, "Resume from checkpoint…", self.resume_dialog)
        action(menu, "Attach to run…", self.attach_dialog, tip="Watch and steer a run another process trains")
        action(menu, "Attach to run on another machine…", self.attach_remote_dialog,
               tip="Watch and steer a run on a machine you reach by ssh: [user@]host:RUN_DIR")
        action(menu, "New run on another machine…", lambda: remote_run.remote_run_dialog(window),
               tip="Start a run on a machine you reach by ssh, detached from this window, and attach to it")
        action(menu, "Fork from here…", lambda: self.from_here(self.fork_dialog), tip="Save a checkpoint now and train a copy with other settings")
        action(menu, "Fork from checkpoint…", self.fork_checkpoint_dialog)
        action(menu, "Sweep from here…", self.sweep_from_here,
               tip="Save a checkpoint now and fork it into every combination of a grid of settings")
        menu.addSeparator()
        action(menu, "Save checkpoint", lambda: window.send(C.SaveCheckpoint()), "Ctrl+S")
        export = menu.addMenu("Export samples")
        self.exports = Exports(window)
        self.export_action = action(export, "As PNG grid…", lambda: self.exports.samples_dialog(".png"), "Ctrl+E")
        action(export, "As PNG files…", lambda: self.exports.samples_dialog(""))
        action(export, "As .npy array…", lambda: self.exports.samples_dialog(".npy"))
        action(menu, "Export timelapse GIF…", self.exports.timelapse_dialog)
        action(menu, "Export metrics CSV…", self.exports.metrics_dialog)
        menu.addSeparator()
        action(menu, "Quit", window.close, "Ctrl+Q")

    def _run_config(self, cfg) -> None:
        device = self.window.spec.device if self.window.spec else "auto"
        self.window.start(RunSpec(cfg.to_dict(), str(default_run_dir(cfg.preset)), device))

    def new_run_dialog(self) -> None:
        dialog = NewRunDialog(config_mod.preset_names(), self.window.settings, self.window)
        if dialog.exec() != QDialog.Accepted:
            return
        dialog.remember()
        name = dialog.preset.currentText()
        try:
            cfg = config_mod.apply_overrides(config_mod.load_preset(name), dialog.overrides())
        except UserError as exc:
            QMessageBox.warning(self.window, "Cannot start the run", str(exc))
            return
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
            run_dir = run_dir_of(path) or default_run_dir("resumed")
            self.window.start(RunSpec(None, str(run_dir), self.window.spec.device if self.window.spec else "auto", resume=path))

    def attach_dialog(self) -> None:
        start = str(Path(self.window.model.info.get("run_dir", RUNS_ROOT)).parent)
        self._attach(QFileDialog.getExistingDirectory(self.window, "Attach to run: choose its run directory", start))

    def attach_remote_dialog(self) -> None:
        """A run on another machine, as scp names a path there; ssh's own configuration (~/.ssh/config, agents,
        jump hosts) decides how it is reached."""
        target, ok = QInputDialog.getText(self.window, "Attach to a run on another machine",
                                          "[user@]host:RUN_DIR (reached with ssh, as scp would):")
        if ok and target.strip():
            self._attach(target.strip())

    def _attach(self, folder: str) -> None:
        if folder and self.window.runner.working and QMessageBox.question(
                self.window, "Attach to another run",
                f"Attaching to {folder} stops the run this window trains ({self.window.model.info.get('run_dir', '')}, "
                f"step {self.window.model.step:,}); its checkpoint is saved first. Attach anyway?",
                QMessageBox.Yes | QMessageBox.Cancel, QMessageBox.Cancel) != QMessageBox.Yes:
            self.window.statusBar().showMessage("not attached: this window's run goes on", 6000)
            return
        if folder:
            try:
                self.window.attach(folder, *self.window.remote)
            except UserError as exc:
                QMessageBox.warning(self.window, "Cannot attach", str(exc))

    def from_here(self, then) -> None:
        """Save a checkpoint of the run at this step; `then(path)` runs (a dialog opens) once the engine has
        written it."""
        if not self.window.runner.alive:
            self.window.statusBar().showMessage("no run to fork: start or attach one first", 6000)
            return
        self.window.after("save_checkpoint", lambda event: event["kind"] == "save_checkpoint" and then(event["path"]))
        self.window.send(C.SaveCheckpoint())

    def sweep_from_here(self) -> None:
        if self.window.elsewhere:
            QMessageBox.information(self.window, "Sweep from here", "A sweep trains its arms beside the checkpoint "
                                    "it forks; for a run on another machine, start it there: File > Save checkpoint, "
                                    "then `hinge-train sweep --from CHECKPOINT --grid KEY=V1,V2 ...` on that machine "
                                    "(docs/remote.md).")
            return
        self.from_here(lambda path: sweep_dialog(self.window, path))

    def fork_checkpoint_dialog(self) -> None:
        start = str(RunLayout(self.window.model.info.get("run_dir", ".")).checkpoints)
        path, _ = QFileDialog.getOpenFileName(self.window, "Fork from checkpoint", start, "Checkpoints (*.pt)")
        if path and (problem := checkpoint_problem(path)):
            QMessageBox.warning(self.window, "Cannot fork", problem)
        elif path:
            self.fork_dialog(path)

    def fork_dialog(self, checkpoint: str, typed: str | None = None) -> None:
        """Settings for the fork (one KEY=VALUE per line), what the parent does meanwhile, then the fork
        trains headless in its own process, steerable through its inbox and watchable by attaching. A refused
        setting is said, and the dialog opens again on what was typed."""
        s = self.window.model.settings
        current = "" if s is None else (f"loss.margin_real={s.margin_real:g}\nloss.margin_fake={s.margin_fake:g}\n"
                                        f"optim.lr_g={s.lr_g:g}\noptim.lr_d={s.lr_d:g}\n"
                                        f"model.spectral_norm={str(s.spectral_norm).lower()}\ntrain.n_dis={s.n_dis}\n"
                                        f"loss.kind={s.loss}\ntrain.augment={s.augment}\n")
        text, ok = QInputDialog.getMultiLineText(self.window, "Fork: settings",
                                                 f"Fork of {checkpoint}\nSettings for the fork (KEY=VALUE per line):",
                                                 current if typed is None else typed)
        if not ok:
            return
        parent, ok = QInputDialog.getItem(self.window, "Fork: the parent run", "Meanwhile the parent run:",
                                          ["keeps training", "pauses"], 0, False)
        if not ok:
            return
        overrides = [line.strip() for line in text.splitlines() if line.strip()]
        try:
            (self._fork_there if self.window.elsewhere else self._fork_here)(
                checkpoint, overrides)
        except UserError as exc:
            QMessageBox.warning(self.window, "Cannot fork", f"{exc}\n\nThe settings open again as you typed them.")
            self.fork_dialog(checkpoint, text)
            return
        if parent == "pauses":
            self.window.send(C.Pause())

    def _fork_here(self, checkpoint: str, overrides: list[str]) -> None:
        run_dir, process, steps = start_fork(checkpoint, overrides,
                                             self.window.spec.device if self.window.spec else "auto")
        self.window.forks.add(process, RunLayout(run_dir).train_log, "fork", run_dir)
        self.window.statusBar().showMessage(f"fork training in {run_dir} (pid {process.pid}) for {steps:,} more "
                                            "steps; File > Attach to run… watches it", 15000)

    def _fork_there(self, checkpoint: str, overrides: list[str]) -> None:
        """A run on another machine forks there, beside it, detached as a run started there is: its checkpoint
        and its data are there. The settings are checked here first."""
        follower = self.window.runner.follower
        target = follower.target
        saved = config_mod.from_dict(follower.config)
        config_mod.validate(config_mod.apply_overrides(saved, overrides))
        fork_dir = f"{target.run_dir.rstrip('/')}-fork-{time.strftime('%Y%m%d-%H%M%S')}"
        remote_run.start(self.window, target.host, ["--resume", checkpoint, *(f"--set={item}" for item in overrides)],
                         fork_dir, attach=False, via=(follower.ssh, follower.remote_hinge_train))
