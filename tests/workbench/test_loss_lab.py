"""The Loss lab dock on the scores of a run: the three losses' curves over the scores the histograms hold,
who gets gradient under each, a reading where the pointer is, and the figure exported; and the same figure
headless from a run directory."""
import numpy as np
from PIL import Image

from core.cli import main as hinge_train
from core.protocol.telemetry import Settings
from tests.workbench.test_readable import EDGES, telemetry


def peaked(centre, width=0.4, n=200):
    centres = (EDGES[:-1] + EDGES[1:]) / 2
    return np.round(np.exp(-((centres - centre) / width) ** 2) * n)


def test_the_lab_compares_the_losses_on_the_live_scores(window, tmp_path):
    window.loss_lab.raise_()
    settings = Settings(1.0, 1.0, True, 2e-4, 2e-4, 1, 1, "bce")
    window.model.ingest(telemetry([50], real=peaked(2.0), fake=peaked(-0.5), settings=settings))
    window.loss_lab.refresh(window.model)
    rows = {window.loss_lab.table.topLevelItem(i).text(0): window.loss_lab.table.topLevelItem(i)
            for i in range(3)}
    assert set(rows) == {"hinge", "bce (in force)", "wasserstein"}
    assert float(rows["hinge"].text(1).rstrip("%")) < 5  # real scores near 2: past the margin, no gradient
    assert rows["wasserstein"].text(1) == "100.0%" and rows["wasserstein"].text(2) == "1.000"
    x, _ = window.loss_lab.curves[0, "hinge", 0].getData()
    assert -3 < x[0] < -0.9 and 2.0 < x[-1] < 4  # the scores held, the margins, not all of -10..10
    reading = window.loss_lab.read_at(0.5)
    assert "D = 0.5" in reading and "hinge" in reading and "dL/dD -1 / +1" in reading
    picture = Image.open(window.loss_lab.export(str(tmp_path / "lab.png")))
    assert picture.size[0] > 300 and picture.size[1] > 300


def test_hinge_train_losses_draws_the_figure_from_a_run_directory(tmp_path):
    run = tmp_path / "run"
    assert hinge_train(["train", "--preset", "ring8", "--steps", "80", "--set", "train.batch_size=64",
                        "--set", "train.samples_every_s=0.05", "--run-dir", str(run)]) == 0
    (run / "commands.jsonl").write_text("")
    assert hinge_train(["losses", str(run), "--step", "40", "--out", str(tmp_path / "fig.png")]) == 0
    figure = np.asarray(Image.open(tmp_path / "fig.png"))
    assert figure.shape[0] > 700 and figure.shape[1] == 900
    assert hinge_train(["losses", str(tmp_path), "--out", str(tmp_path / "x.png")]) == 2  # no run there


def test_the_health_dock_says_what_its_detectors_do_under_the_loss_in_force(window):
    said = {}
    for loss in ("hinge", "bce", "wasserstein", "hinge"):
        window.model.ingest(telemetry([50 + len(said)], settings=Settings(1.0, 1.0, True, 2e-4, 2e-4, 1, 1, loss)))
        window.health.refresh(window.model)
        said[loss] = window.health.summary.text()
    assert "Under BCE" in said["bce"] and "d_overpowers needs D's loss near 0" in said["bce"]
    assert "d_overpowers stands down" in said["wasserstein"]
    assert "Under" not in said["hinge"]  # back on the hinge, the note goes


def test_at_laptop_size_the_lab_shows_every_loss_whole(window, qtbot):
    window.resize(1366, 768)
    window.loss_lab.raise_()
    window.model.ingest(telemetry([50], real=peaked(2.0), fake=peaked(-0.5)))
    window.loss_lab.refresh(window.model)
    qtbot.wait(50)
    table = window.loss_lab.table
    for i in range(3):  # every row in sight, none under the scroll bar a narrow tab shows
        row = table.visualItemRect(table.topLevelItem(i))
        assert row.top() >= 0 and row.bottom() < table.viewport().height()


def test_the_margin_controls_say_when_the_loss_in_force_ignores_them(window):
    titles = {}
    for loss in ("hinge", "bce", "wasserstein", "hinge"):
        window.model.ingest(telemetry([60 + len(titles)], settings=Settings(1.0, 1.0, True, 2e-4, 2e-4, 1, 1, loss)))
        window.model.state = "running"
        window.controls.refresh(window.model)
        titles[loss] = (window.controls.margin_box.title(), window.controls.margin_box.toolTip())
    assert titles["hinge"] == ("Margins", "")
    assert titles["bce"][0] == "Margins: not used by the loss in force" and "bce ignores them" in titles["bce"][1]
    assert "wasserstein ignores them" in titles["wasserstein"][1]
