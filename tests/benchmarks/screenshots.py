"""Screenshots of the window as a user sees it: the default layout at a laptop's 1366x768 and at 1920x1080,
the whole window and each dock in front, after SECONDS of training a preset.

    QT_QPA_PLATFORM=offscreen python tests/benchmarks/screenshots.py --preset digits --seconds 120 --out shots
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from core.config import resolve
from core.protocol.engine import RunSpec
from workbench.main_window import MainWindow


def wait(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def shoot(window, app, out: Path, size: tuple[int, int], prefix: str) -> None:
    window.resize(*size)
    wait(app, 1.5)
    window.grab().save(str(out / f"{prefix}-window-{size[0]}x{size[1]}.png"))
    for dock in window.docks:
        dock.raise_()
        wait(app, 1.2)  # its turn to redraw comes within a second
        dock.grab().save(str(out / f"{prefix}-{dock.objectName()}-{size[0]}x{size[1]}.png"))
    window.controls.raise_()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="digits")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--run-dir", help="default: a temporary folder")
    parser.add_argument("--out", default="shots")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "layout.ini"), QSettings.IniFormat)  # the default layout
    window = MainWindow(settings=settings)
    window.show()
    run_dir = args.run_dir or str(Path(tempfile.mkdtemp()) / "run")
    window.start(RunSpec(resolve(args.preset, overrides=args.set).to_dict(), run_dir, "cpu"))
    wait(app, args.seconds)
    for size in ((1366, 768), (1920, 1080)):
        shoot(window, app, out, size, args.preset)
    window.close()
    print(f"{args.preset}: step {window.model.step}, screenshots in {out}")


if __name__ == "__main__":
    main()
