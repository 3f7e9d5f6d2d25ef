"""File > Sweep from here: the live run's checkpoint forked into every arm of a grid, trained by a headless
`hinge-train sweep --from CKPT` in its own process (it outlives the window); its runs appear grouped in the
Runs dock, and double-clicking the group ranks them in the Sweep dock."""
from __future__ import annotations

import subprocess
import sys
import time
from argparse import Namespace
from pathlib import Path

from PySide6.QtWidgets import QInputDialog, QMessageBox

from core.base.errors import UserError
from core.storage.layout import RUNS_ROOT, SweepLayout, run_dir_of
from core.storage.sweeps import Sweep


def sweep_folder(checkpoint: str) -> Path:
    """Beside the parent run: runs/PARENT-sweep-TIME (found by the Runs dock, which lists that folder)."""
    parent = run_dir_of(checkpoint)
    root = parent.parent if parent else RUNS_ROOT
    return root / f"{parent.name if parent else 'run'}-sweep-{time.strftime('%Y%m%d-%H%M%S')}"


def sweep_command(checkpoint: str, grid: list[str], steps: int, parallel: int, device: str,
                  out: Path) -> list[str]:
    """The `hinge-train sweep` line, once its grid is known to plan (a typo is said here, not in a log)."""
    Sweep.plan(Namespace(grid=grid, seeds=1, start_from=checkpoint, preset=None, set=[], metric=None,
                         steps=steps, minutes=None, device=device))
    line = [sys.executable, "-m", "core.cli", "sweep", "--from", checkpoint, "--steps", str(steps),
            "--parallel", str(parallel), "--device", device, "--out", str(out)]
    for item in grid:
        line += ["--grid", item]
    return line


def start_sweep(line: list[str], out: Path) -> subprocess.Popen:
    out.mkdir(parents=True, exist_ok=True)
    with open(SweepLayout(out).log, "w") as log:
        return subprocess.Popen(line, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def default_grid(settings) -> str:
    if settings is None:
        return "loss.margin_real=0.5,1,2\n"
    m = settings.margin_real
    return f"loss.margin_real={m / 2:g},{m:g},{2 * m:g}\n"


def sweep_dialog(window, checkpoint: str, typed: str | None = None) -> None:
    """The grid (one KEY=V1,V2,... per line), the steps each arm trains on from here and how many train at
    once; a grid that does not plan is said and the dialog opens again on what was typed."""
    text, ok = QInputDialog.getMultiLineText(
        window, "Sweep from here: the grid",
        f"Every combination of these values forks {checkpoint}\n(KEY=V1,V2,... per line):",
        default_grid(window.model.settings) if typed is None else typed)
    if not ok:
        return
    steps, ok = QInputDialog.getInt(window, "Sweep from here: steps", "Steps each arm trains from here:",
                                    2000, 1, 10_000_000)
    if not ok:
        return
    parallel, ok = QInputDialog.getInt(window, "Sweep from here: at once",
                                       "Arms trained at a time (the cores are shared out):", 1, 1, 64)
    if not ok:
        return
    grid = [line.strip() for line in text.splitlines() if line.strip()]
    out = sweep_folder(checkpoint)
    device = window.spec.device if window.spec else "auto"
    try:
        line = sweep_command(checkpoint, grid, steps, parallel, device, out)
    except UserError as exc:
        QMessageBox.warning(window, "Cannot sweep", f"{exc}\n\nThe grid opens again as you typed it.")
        sweep_dialog(window, checkpoint, text)
        return
    process = start_sweep(line, out)
    window.forks.add(process, SweepLayout(out).log, "sweep", out)
    window.runs.scan()
    window.statusBar().showMessage(f"sweep training in {out} (pid {process.pid}); the Runs dock lists it, "
                                   "double-click its row to rank the arms", 15000)
