"""The Samples dock: the run's own fixed-z view, fresh z on request, and real images as D receives them."""
import numpy as np
import pytest
from PIL import Image

from tests.workbench.conftest import DIGITS, make_spec, wait_for


@pytest.mark.slow
def test_a_new_run_shows_its_own_sample_view(window, qtbot, tmp_path):
    window.samples.raise_()
    window.start(make_spec(tmp_path, "digits", DIGITS))
    wait_for(qtbot, lambda: window.model.samples is not None)
    window.samples.fresh.click()
    wait_for(qtbot, lambda: window.model.samples.fresh)
    window.start(make_spec(tmp_path / "second", "digits", DIGITS))  # a new session draws from its fixed z
    wait_for(qtbot, lambda: window.model.samples is not None and window.model.samples.step > 0)
    wait_for(qtbot, lambda: not window.samples.fresh.isChecked())


@pytest.mark.slow
def test_a_folder_is_decoded_with_progress_and_its_real_images_shown_beside_the_samples(window, qtbot, tmp_path):
    """Transparent icons: the status bar counts the files decoded; the Samples dock shows the real images as D
    receives them (over the white background, not black), and the samples again when unticked."""
    root = tmp_path / "icons"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(150):
        icon = Image.new("RGBA", (24, 24), (0, 0, 0, 0))
        icon.paste((*rng.integers(0, 200, 3).tolist(), 255), (6, 6, 18, 18))
        icon.save(root / f"icon-{i:03d}.png")
    window.samples.raise_()
    window.start(make_spec(tmp_path, "folder", [*DIGITS[1:], f"data.root={root}", "data.image_size=32"]))
    wait_for(qtbot, lambda: window.model.samples is not None)
    bar = window.status_line.preparation
    assert (bar.value(), bar.maximum()) == (150, 150) and not bar.isVisible()
    samples = window.samples._cells.copy()
    window.samples.real.click()
    real = window.samples._cells
    assert real.shape == samples.shape and "real images as D receives them" in window.samples.caption.text()
    assert (real[:, 0, 0] == 255).all()  # the transparent corner of every icon: white
    window.samples.real.click()
    assert "click a sample" in window.samples.caption.text() and not (window.samples._cells[:, 0, 0] == 255).all()
