"""File > New run on another machine: a preset and settings, started there over ssh, detached (it trains on
when the window closes), then attached. Starting waits for the run to write its run directory, off the
window's thread; the window stays usable meanwhile."""
from __future__ import annotations

import threading

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QInputDialog, QMessageBox

from core import config as config_mod
from core.base.errors import UserError
from core.storage.layout import default_run_dir
from core.storage.remote import start_remote_run


def remote_run_dialog(window) -> None:
    host, ok = QInputDialog.getText(window, "New run on another machine", "[user@]host (reached with ssh):")
    if not ok or not host.strip():
        return
    names = config_mod.preset_names()
    preset, ok = QInputDialog.getItem(window, "New run on another machine", "Preset:", names,
                                      names.index("digits") if "digits" in names else 0, False)
    if not ok:
        return
    text, ok = QInputDialog.getMultiLineText(window, "New run on another machine",
                                             "Settings (KEY=VALUE per line; paths are the remote machine's):")
    if not ok:
        return
    overrides = [line.strip() for line in text.splitlines() if line.strip()]
    try:
        config_mod.resolve(preset, overrides=overrides)  # a wrong setting is said here, before ssh
    except UserError as exc:
        QMessageBox.warning(window, "Cannot start the run", str(exc))
        return
    start(window, host.strip(), ["--preset", preset, *(f"--set={item}" for item in overrides)],
          str(default_run_dir(preset)))


def start(window, host: str, train_args: list[str], run_dir: str, attach: bool = True, via=None) -> None:
    """Start the run on host in a thread; attach to it (or, attach=False, say where it trains), or say why not,
    when that is done. via: (ssh, remote hinge-train) to reach it, the window's by default."""
    outcome: list = []
    via = via or window.remote

    def work():
        try:
            outcome.append(start_remote_run(host, train_args, run_dir, *via))
        except UserError as exc:
            outcome.append(exc)

    threading.Thread(target=work, daemon=True).start()
    window.statusBar().showMessage(f"starting {run_dir} on {host}…")

    def done():
        if not outcome:
            QTimer.singleShot(200, done)
            return
        if isinstance(outcome[0], UserError):
            QMessageBox.warning(window, "Cannot start the run there", str(outcome[0]))
            return
        if not attach:
            window.statusBar().showMessage(f"training on {outcome[0]}; File > Attach to run on another machine… "
                                           "watches it", 15000)
            return
        try:
            window.attach(str(outcome[0]), *via)
        except UserError as exc:
            QMessageBox.warning(window, "Cannot attach", str(exc))

    QTimer.singleShot(200, done)
