"""Driving real dialogs from a test: each fill(dialog) sets the dialog that opens and accepts or rejects it."""
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog, QMessageBox


def answer(qtbot, *fills):
    """Fill the modal dialogs about to open, one by one: each fill(dialog) sets it and accepts or rejects it."""
    remaining = list(fills)
    answered = []

    def look():
        dialog = QApplication.activeModalWidget()
        if dialog is None or not dialog.isVisible() or (type(dialog), dialog) in answered:
            QTimer.singleShot(50, look)  # not open yet, or the last one still closing
            return
        answered.append((type(dialog), dialog))  # a new dialog can reuse a closed one's wrapper
        remaining.pop(0)(dialog)
        if remaining:
            QTimer.singleShot(50, look)

    QTimer.singleShot(50, look)
    return remaining


def menu_action(window, *path):
    menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == path[0])
    for name in path[1:-1]:
        menu = next(a.menu() for a in menu.actions() if a.text() == name)
    return next(a for a in menu.actions() if a.text() == path[-1])


def enter(value):
    """Type a value into a QInputDialog: an item's text or a number."""
    def fill(dialog):
        assert isinstance(dialog, QInputDialog)
        dialog.setIntValue(value) if isinstance(value, int) else dialog.setTextValue(value)
        dialog.accept()
    return fill


def new_run(preset, **ticks):
    """The new-run dialog: a preset, and trackers ticked (tensorboard=True, mlflow=URI, wandb=PROJECT)."""
    def fill(dialog):
        from workbench.new_run_dialog import NewRunDialog
        assert isinstance(dialog, NewRunDialog)
        dialog.preset.setCurrentText(preset)
        for name, tick in dialog.ticks.items():
            tick.setChecked(bool(ticks.get(name)))
        if ticks.get("mlflow"):
            dialog.mlflow_uri.setText(ticks["mlflow"])
        if ticks.get("wandb"):
            dialog.wandb_project.setText(ticks["wandb"])
            dialog.wandb_offline.setChecked(True)
        dialog.accept()
    return fill


def choose_file(path):
    def fill(dialog):
        assert isinstance(dialog, QFileDialog)
        if path is None:
            dialog.reject()
            return
        if path.is_dir():  # a folder is chosen by opening it
            dialog.setDirectory(str(path))
        else:
            dialog.selectFile(str(path))
        dialog.accept()
    return fill


def read_message(into: list):
    def fill(dialog):
        assert isinstance(dialog, QMessageBox)
        into.append(dialog.text())
        dialog.accept()
    return fill
