"""A menu entry: its text, what it does, its shortcut and its status-bar tip."""
from PySide6.QtGui import QAction, QKeySequence


def add_action(parent, menu, text, slot, shortcut=None, tip=None) -> QAction:
    action = QAction(text, parent)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setStatusTip(tip)
    action.triggered.connect(slot)
    menu.addAction(action)
    return action
