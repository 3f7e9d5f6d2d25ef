"""Timelapse frames: written whole or not at all, and a damaged one never spoils the GIF."""
import numpy as np
from PIL import Image

from core.pictures import label_step, points_figure, write_timelapse
from core.storage.rundir import RunDir


def test_a_truncated_frame_is_left_out_of_the_timelapse(tmp_path):
    run = RunDir(tmp_path)
    for step in (1, 2, 3):
        run.append_frame(np.full((8, 8, 3), 40 * step, np.uint8), step)
    run.close()
    assert sorted(p.name for p in run.timelapse.iterdir()) == [f"step-00000000{s}.png" for s in (1, 2, 3)]
    damaged = run.timelapse / "step-000000002.png"
    damaged.write_bytes(damaged.read_bytes()[:20])  # as a crash mid-write of a non-atomic writer would
    gif = Image.open(write_timelapse(run.frames(), tmp_path / "t.gif"))
    assert gif.format == "GIF" and gif.n_frames == 2


def test_timelapse_frames_carry_their_step_below_them():
    frame = Image.new("RGB", (120, 120), (200, 200, 200))
    labelled = np.asarray(label_step(frame, 1234))
    strip = labelled[120:, :60]
    assert labelled.shape == (136, 120, 3) and (labelled[:120] == 200).all()  # the frame untouched
    assert (strip < 100).all(axis=2).any() and (strip == 255).all(axis=2).mean() > 0.5  # dark text on white


def test_a_2d_figure_shows_the_score_scale_both_ways_and_the_points():
    axis = np.linspace(-1, 1, 32)
    field = np.add.outer(axis, axis) * 2  # from -4 (fake side) to +4 (real side)
    fake = np.array([[0.5, 0.5]] * 10, np.float32)
    image = points_figure(fake, None, 2.0, np.zeros((1, 2)), field, 7, (1.0, 1.0))
    pixels = image.reshape(-1, 3).astype(int)
    blue = ((pixels[:, 2] - pixels[:, 0]) > 60).sum()
    red = ((pixels[:, 0] - pixels[:, 2]) > 60).sum()
    orange = ((pixels[:, 0] > 230) & (pixels[:, 1] > 110) & (pixels[:, 1] < 150) & (pixels[:, 2] < 40)).sum()
    assert blue > 5_000 and red > 5_000 and orange > 0
