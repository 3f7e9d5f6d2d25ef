"""The Quality dock before its first score: what the score waits for, and nothing of the scores to come."""
from PySide6.QtWidgets import QLabel, QWidget

from workbench.docks.quality import QualityDock


def test_before_a_score_the_dock_shows_only_what_it_waits_for(qtbot):
    dock = QualityDock(lambda command: None)
    qtbot.addWidget(dock)
    dock.show()
    shown = [w for w in dock.widget().widget().findChildren(QWidget) if w.isVisible()]
    assert dock.status in shown and dock.evaluate_button in shown
    assert not [w for w in shown if isinstance(w, QLabel) and w is not dock.status]  # no "Plot" over nothing
    assert not (dock.table.isVisible() or dock.plot.isVisible() or dock.choice.isVisible())
