"""Forks started from the window: a value out of range is refused before any process starts; a fork that dies
is said, with the last lines of its log, and reaped."""
from PySide6.QtWidgets import QInputDialog

from tests.workbench.conftest import wait_for
from tests.workbench.dialogs import answer, enter, read_message
from tests.workbench.test_readable import write_run


def keep_typed(text):
    def fill(dialog):
        assert isinstance(dialog, QInputDialog)
        dialog.setTextValue(text)
        dialog.accept()
    return fill


def test_a_value_out_of_range_is_refused_before_a_process_starts(window, qtbot, tmp_path):
    run = write_run(tmp_path / "parent")
    said = []
    pending = answer(qtbot, keep_typed("loss.margin_real=-3"), enter("keeps training"), read_message(said),
                     lambda dialog: dialog.reject())
    window.file_menu.fork_dialog(str(run / "checkpoints" / "step-100.pt"))
    assert pending == [] and "loss.margin_real" in said[0]
    assert len(window.forks) == 0 and not [p for p in tmp_path.iterdir() if "-fork-" in p.name]


def test_a_fork_that_dies_is_said_with_its_last_lines_and_reaped(window, qtbot, tmp_path):
    run = write_run(tmp_path / "parent")  # no checkpoint was ever saved: the fork's process fails at its start
    pending = answer(qtbot, keep_typed("loss.margin_real=0.5"), enter("keeps training"))
    window.file_menu.fork_dialog(str(run / "checkpoints" / "step-100.pt"))
    assert pending == [] and len(window.forks) == 1
    process = window.forks.running[0].process
    said = []
    pending = answer(qtbot, read_message(said))
    wait_for(qtbot, lambda: pending == [], timeout=60_000)
    assert "The fork in" in said[0] and "stopped (exit code" in said[0] and "step-100.pt" in said[0]
    assert process.returncode is not None and len(window.forks) == 0  # reaped: no zombie left
