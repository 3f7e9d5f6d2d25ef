"""hinge-workbench's command line in this process: what it refuses says so in one line before any window
opens, and without a display it says what to do instead."""
import pytest

from workbench import app


@pytest.mark.parametrize("args, words", [(["--set", "loss.margin_real=nan"], "loss.margin_real"),
                                         (["--preset", "nosuch"], "no preset"),
                                         (["--preset", "folder"], "data.root is required"),
                                         (["--max-steps", "-1"], "--max-steps must be >= 0"),
                                         (["--attach", "/no/such/run"], "not a run directory")])
def test_bad_arguments_give_one_line_and_no_window(capsys, args, words):
    assert app.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hinge-workbench: error:") and words in err[0]


def test_a_new_run_is_planned_from_the_preset_and_its_settings(tmp_path):
    spec = app.spec_from_args(app.build_parser().parse_args(["--preset", "ring8", "--set", "loss.margin_fake=0.5",
                                                             "--run-dir", str(tmp_path / "r"), "--paused"]))
    assert spec.config["loss"]["margin_fake"] == 0.5 and spec.run_dir == str(tmp_path / "r") and spec.paused
    assert spec.resume is None


def test_no_display_is_noticed(monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert app.no_display()
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert not app.no_display()
