"""Writing samples, timelapses and metrics to files a user can open anywhere."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from core.errors import UserError


def to_uint8_images(x) -> np.ndarray:
    """Generator output in [-1, 1], (N, C, H, W) -> uint8 (N, H, W, C) in 0..255."""
    return ((x.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def image_grid(images: np.ndarray, padding: int = 2) -> np.ndarray:
    """uint8 (N, H, W, C) -> one uint8 (H', W', C) grid, as square as it gets, with black gutters."""
    n, h, w, c = images.shape
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = np.zeros((padding + rows * (h + padding), padding + cols * (w + padding), c), np.uint8)
    for i, image in enumerate(images):
        y, x = padding + (i // cols) * (h + padding), padding + (i % cols) * (w + padding)
        grid[y: y + h, x: x + w] = image
    return grid


def _pil(array: np.ndarray) -> Image.Image:
    return Image.fromarray(array[:, :, 0] if array.ndim == 3 and array.shape[2] == 1 else array)


def points_image(fake: np.ndarray, real: np.ndarray | None, extent: float, size: int = 320) -> np.ndarray:
    """A scatter plot of 2D points (real grey, generated orange) as an RGB uint8 image."""
    img = Image.new("RGB", (size, size), (20, 20, 24))
    draw = ImageDraw.Draw(img)
    to_px = lambda p: ((p + extent) / (2 * extent) * (size - 1))  # noqa: E731
    for points, color in ((real, (150, 150, 160)), (fake, (255, 150, 40))):
        if points is None:
            continue
        for x, y in to_px(np.asarray(points)):
            draw.point((float(x), float(size - 1 - y)), fill=color)
    return np.asarray(img)


def write_samples(array: np.ndarray, path: str | Path) -> Path:
    """.npy: the raw array; .png: one grid (images only); a folder (no suffix): one PNG per image."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".npy":
            np.save(path, array)
        elif array.ndim == 2:  # 2D points: a scatter picture, in the folder when a folder is named
            if path.suffix == "":
                path.mkdir(exist_ok=True)
                path = path / "points.png"
            elif path.suffix.lower() != ".png":
                raise UserError(f"cannot export points as {path.suffix!r}: use .png, .npy or a folder")
            Image.fromarray(points_image(array, None, float(np.abs(array).max()) * 1.1 + 1e-6)).save(path)
        elif path.suffix.lower() == ".png":
            _pil(image_grid(array)).save(path)
        elif path.suffix == "":
            path.mkdir(exist_ok=True)
            for i, image in enumerate(array):
                _pil(image).save(path / f"sample-{i:05d}.png")
        else:
            raise UserError(f"cannot export samples as {path.suffix!r}: use .png, .npy or a folder")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def write_timelapse(frames_dir: str | Path, path: str | Path, frame_ms: int = 120) -> Path:
    """An animated GIF of the timelapse frames, in step order."""
    frames = sorted(Path(frames_dir).glob("step-*.png"))
    if not frames:
        raise UserError(f"no timelapse frames yet in {frames_dir}")
    images = []
    for frame in frames:
        try:
            images.append(Image.open(frame).convert("RGB"))
        except (OSError, SyntaxError):  # a frame cut short (a crash, a full disk) is left out
            continue
    if not images:
        raise UserError(f"no readable timelapse frames in {frames_dir}")
    try:
        images[0].save(path, save_all=True, append_images=images[1:], duration=frame_ms, loop=0)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    return Path(path)


def write_frame(array: np.ndarray, frames_dir: Path, step: int) -> None:
    target = frames_dir / f"step-{step:09d}.png"
    tmp = frames_dir / f".{target.name}.tmp"  # outside the step-*.png pattern until complete
    try:
        _pil(array).save(tmp, format="PNG")
        tmp.replace(target)
    except OSError as exc:
        raise UserError(f"cannot write a timelapse frame: {exc.strerror or exc}") from None


def copy_metrics(metrics_csv: str | Path, path: str | Path) -> Path:
    try:
        return Path(shutil.copyfile(metrics_csv, path))
    except OSError as exc:
        raise UserError(f"cannot copy metrics to {path}: {exc.strerror or exc}") from None
