"""The README's screenshots, taken from the real window in its default layout at 1600x1000:

    digits    the default preset two minutes in
    ring8     PacGAN's ring, D's score as a heat map under G's points
    health    ring8 with a divergence provoked (D's learning rate raised to 0.05 mid-run), 8 s later
    runs      a fork (smaller margins) compared with its parent in the Runs dock, their curves overlaid

    QT_QPA_PLATFORM=offscreen python tests/benchmarks/readme_shots.py --out assets
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from core.config import resolve
from core.protocol import commands as C
from core.protocol.engine import RunSpec
from workbench.main_window import MainWindow

SIZE = (1600, 1000)


def wait(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def new_window(app) -> MainWindow:
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "layout.ini"), QSettings.IniFormat)  # the default layout
    window = MainWindow(settings=settings)
    window.resize(*SIZE)
    window.show()
    wait(app, 0.5)
    return window


def train(app, preset: str, seconds: float, overrides=(), during=None) -> MainWindow:
    window = new_window(app)
    window.start(RunSpec(resolve(preset, overrides=list(overrides)).to_dict(), str(Path(tempfile.mkdtemp()) / preset),
                         "cpu"))
    if during:
        wait(app, during[0])
        during[1](window)
    wait(app, seconds)
    return window


def save(window, app, path: Path, dock=None) -> None:
    if dock is not None:
        dock.raise_()
    wait(app, 2.5)  # every dock's turn to redraw comes within a second or two
    window.grab().save(str(path))
    print(f"{path}: step {window.model.step:,}", flush=True)


def headless(*args) -> None:
    subprocess.run([sys.executable, "-m", "core.cli", "train", *map(str, args)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="assets")
    parser.add_argument("--only", nargs="*", default=["digits", "ring8", "health", "runs"])
    args = parser.parse_args()
    out = Path(args.out)
    app = QApplication.instance() or QApplication([])
    if "digits" in args.only:
        window = train(app, "digits", 120)
        save(window, app, out / "screenshot.png")
        window.close()
    if "ring8" in args.only:
        window = train(app, "ring8", 45)
        save(window, app, out / "screenshot-ring8.png")
        window.close()
    if "health" in args.only:
        window = train(app, "ring8", 8, during=(15, lambda w: w.send(C.SetLearningRates(lr_d=0.05))))
        save(window, app, out / "screenshot-health.png", window.health)
        window.close()
    if "runs" in args.only:
        root = Path(tempfile.mkdtemp()) / "runs"
        parent, fork = root / "ring8-parent", root / "ring8-fork-margins-0.5"
        headless("--preset", "ring8", "--steps", 6000, "--run-dir", parent, "--set", "train.checkpoint_every=3000")
        headless("--resume", parent / "checkpoints" / "step-3000.pt", "--steps", 3000, "--run-dir", fork,
                 "--set", "loss.margin_real=0.5", "--set", "loss.margin_fake=0.5")
        window = new_window(app)
        window.attach(str(parent))
        window.runs.root = root
        window.runs.raise_()
        window.runs.scan()
        for item in window.runs.run_items():
            if Path(item.data(0, Qt.ItemDataRole.UserRole)) == fork.resolve():
                item.setCheckState(0, Qt.CheckState.Checked)
        save(window, app, out / "screenshot-runs.png", window.runs)
        window.close()


if __name__ == "__main__":
    main()
