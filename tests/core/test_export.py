"""Timelapse frames: written whole or not at all, and a damaged one never spoils the GIF."""
import numpy as np
from PIL import Image

from core.export import write_frame, write_timelapse


def test_a_truncated_frame_is_left_out_of_the_timelapse(tmp_path):
    for step in (1, 2, 3):
        write_frame(np.full((8, 8, 3), 40 * step, np.uint8), tmp_path, step)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"step-00000000{s}.png" for s in (1, 2, 3)]
    damaged = tmp_path / "step-000000002.png"
    damaged.write_bytes(damaged.read_bytes()[:20])  # as a crash mid-write of a non-atomic writer would
    gif = Image.open(write_timelapse(tmp_path, tmp_path / "t.gif"))
    assert gif.format == "GIF" and gif.n_frames == 2
