"""Pictures a user can open anywhere: sample grids, 2D figures with D's score, timelapse GIFs; and the
exports of samples and metrics. numpy and Pillow only."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core.base.colours import FAKE, FAKE_POINTS, REAL, REAL_POINTS, rgb
from core.base.errors import UserError
from core.base.files import atomic_file


def image_grid(images: np.ndarray, padding: int = 2, cols: int = 0) -> np.ndarray:
    """uint8 (N, H, W, C) -> one uint8 (H', W', C) grid, `cols` images a row (0: as square as it gets), with
    black gutters."""
    n, h, w, c = images.shape
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = np.zeros((padding + rows * (h + padding), padding + cols * (w + padding), c), np.uint8)
    for i, image in enumerate(images):
        y, x = padding + (i // cols) * (h + padding), padding + (i % cols) * (w + padding)
        grid[y: y + h, x: x + w] = image
    return grid


def grid_cells(grid: np.ndarray, cell: int, count: int = 0, padding: int = 2) -> np.ndarray:
    """The images of an image_grid, (N, cell, cell, C), in order; count 0: every cell."""
    cols = (grid.shape[1] - padding) // (cell + padding)
    rows = (grid.shape[0] - padding) // (cell + padding)
    pitch = cell + padding
    return np.stack([grid[padding + (i // cols) * pitch: padding + (i // cols) * pitch + cell,
                          padding + (i % cols) * pitch: padding + (i % cols) * pitch + cell]
                     for i in range(count or rows * cols)])


def read_picture(path: str | Path) -> np.ndarray | None:
    """A picture this project wrote, as uint8 (H, W, C); None when it is missing or cannot be read."""
    try:
        with Image.open(path) as image:
            array = np.asarray(image.convert("L" if image.mode in ("L", "1") else "RGB"))
    except (OSError, SyntaxError, ValueError):
        return None
    return array[:, :, None] if array.ndim == 2 else array


def _pil(array: np.ndarray) -> Image.Image:
    return Image.fromarray(array[:, :, 0] if array.ndim == 3 and array.shape[2] == 1 else array)


def score_colors(field: np.ndarray, limit: float) -> np.ndarray:
    """D's scores as colours: blue below 0 (fake side), white at 0, red above (real side), saturating at
    +-limit. (R, R) -> (R, R, 3) uint8."""
    t = np.clip(np.nan_to_num(field) / limit, -1, 1)[..., None]
    blue, white, red = np.array([49, 104, 176.0]), np.array([247, 247, 247.0]), np.array([196, 58, 52.0])
    return np.where(t < 0, white + (blue - white) * -t, white + (red - white) * t).astype(np.uint8)


def contour(field: np.ndarray, level: float) -> np.ndarray:
    """The pixels where `field` crosses `level` (a two-pixel line), as a boolean mask."""
    above = field > level
    edge = np.zeros_like(above)
    edge[:-1] |= above[:-1] != above[1:]
    edge[1:] |= above[:-1] != above[1:]
    edge[:, :-1] |= above[:, :-1] != above[:, 1:]
    edge[:, 1:] |= above[:, :-1] != above[:, 1:]
    return edge


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5 and 5 times a power of ten that is at least `value` (> 0)."""
    exponent = math.floor(math.log10(value))
    return next(m * 10.0 ** exponent for m in (1, 2, 2.5, 5, 10) if m * 10.0 ** exponent >= value * (1 - 1e-9))


def nice_ticks(extent: float) -> np.ndarray:
    """Round tick values within [-extent, extent], symmetric about 0, four to nine of them."""
    step = nice_ceiling(extent / 4)
    count = int(extent // step + 1e-9)
    return np.arange(-count, count + 1) * step


def points_figure(fake: np.ndarray, real: np.ndarray | None = None, extent: float | None = None,
                  centers: np.ndarray | None = None, field: np.ndarray | None = None, step: int | None = None,
                  margins: tuple[float, float] | None = None, size: int = 560) -> np.ndarray:
    """A figure of 2D samples as an RGB uint8 image: D's score as a heat map with its colour scale (round
    ticks, reaching the margins), real points grey, generated orange, the modes as circles, the x and y axes
    labelled with round ticks, the contours D = +m_real and D = -m_fake as the window draws them, and the step."""
    fake = np.asarray(fake, np.float32)
    if extent is None:
        extent = float(np.abs(fake).max()) * 1.1 + 1e-6
    pad_l, pad_b, pad_t, bar = 52, 40, 26, 80 if field is not None else 0
    img = Image.new("RGB", (pad_l + size + 12 + bar, pad_t + size + pad_b), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    to_px = lambda p: np.stack([pad_l + (p[:, 0] + extent) / (2 * extent) * (size - 1),  # noqa: E731
                                pad_t + (size - 1) - (p[:, 1] + extent) / (2 * extent) * (size - 1)], 1)
    if field is not None:
        seen = float(np.nanmax(np.abs(field))) if np.isfinite(field).any() else 1.0
        limit = nice_ceiling(max(seen, *(margins or (1.0,)), 1e-3))
        heat = Image.fromarray(score_colors(field[::-1], limit)).resize((size, size), Image.BILINEAR)
        if margins is not None:
            smooth = np.asarray(Image.fromarray(np.nan_to_num(field[::-1]).astype(np.float32), mode="F")
                                .resize((size, size), Image.BILINEAR))
            heat = np.asarray(heat).copy()
            for level, colour in ((margins[0], REAL), (-margins[1], FAKE)):
                heat[contour(smooth, level)] = rgb(colour)
            heat = Image.fromarray(heat)
        img.paste(heat, (pad_l, pad_t))
        x0 = pad_l + size + 24
        ramp = score_colors(np.linspace(limit, -limit, size)[:, None].repeat(14, 1), limit)
        img.paste(Image.fromarray(ramp), (x0, pad_t))
        for value in (limit, limit / 2, 0.0, -limit / 2, -limit):
            y = pad_t + (limit - value) / (2 * limit) * (size - 1)
            draw.line([(x0 + 14, y), (x0 + 18, y)], fill=(0, 0, 0))
            draw.text((x0 + 20, y - 5), f"{value:+g}" if value else "0", fill=(0, 0, 0), font=font)
        draw.text((x0 - 6, pad_t - 18), "D(x)", fill=(0, 0, 0), font=font)
    canvas = np.asarray(img).copy()  # the points as dots of five pixels, all at once
    for points, colour in ((real, REAL_POINTS), (fake, FAKE_POINTS)):
        if points is not None:
            x, y = np.rint(to_px(np.asarray(points, np.float32))).astype(int).T
            inside = (x > pad_l) & (x < pad_l + size - 1) & (y > pad_t) & (y < pad_t + size - 1)
            for dx, dy in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
                canvas[y[inside] + dy, x[inside] + dx] = rgb(colour)
    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    if centers is not None:
        for x, y in to_px(np.asarray(centers, np.float32)):
            draw.ellipse([x - 7, y - 7, x + 7, y + 7], outline=(0, 0, 0), width=1)
    draw.rectangle([pad_l, pad_t, pad_l + size - 1, pad_t + size - 1], outline=(0, 0, 0))
    for value in nice_ticks(extent):
        x, y = to_px(np.array([[value, value]]))[0]
        draw.line([(x, pad_t + size), (x, pad_t + size + 4)], fill=(0, 0, 0))
        draw.text((x - 8, pad_t + size + 7), f"{value:g}", fill=(0, 0, 0), font=font)
        draw.line([(pad_l - 4, y), (pad_l, y)], fill=(0, 0, 0))
        draw.text((pad_l - 34, y - 5), f"{value:>5g}", fill=(0, 0, 0), font=font)
    draw.text((pad_l + size // 2 - 3, pad_t + size + 24), "x", fill=(0, 0, 0), font=font)
    draw.text((6, pad_t + size // 2 - 6), "y", fill=(0, 0, 0), font=font)
    title = "grey: real   orange: generated   circles: modes"
    draw.text((pad_l, 6), (f"step {step:,}   " if step is not None else "") + title, fill=(0, 0, 0), font=font)
    return np.asarray(img)


STEP_STRIP_PX = 16


def label_step(image: Image.Image, step: int) -> Image.Image:
    """A timelapse frame with a strip below it that says its step (nothing of the frame is covered)."""
    image = image.convert("RGB")
    out = Image.new("RGB", (image.width, image.height + STEP_STRIP_PX), (255, 255, 255))
    out.paste(image, (0, 0))
    ImageDraw.Draw(out).text((4, image.height + 2), f"step {step:,}", fill=(0, 0, 0), font=ImageFont.load_default())
    return out


def score_palette() -> Image.Image:
    """A GIF palette for 2D figures: D's score ramp in 160 levels (the heat map and its colour bar come out
    smooth, not banded), 80 greys, the orange of generated points and the margins' contours."""
    ramp = score_colors(np.linspace(-1, 1, 160)[None, :], 1.0)[0]
    greys = np.repeat(np.linspace(0, 255, 80).round().astype(np.uint8)[:, None], 3, 1)
    marks = [rgb(FAKE_POINTS)] * 8 + [rgb(REAL)] * 4 + [rgb(FAKE)] * 4
    colours = np.concatenate([ramp, greys, np.array(marks, np.uint8)])
    palette = Image.new("P", (1, 1))
    palette.putpalette(colours.astype(np.uint8).ravel().tolist())
    return palette


def write_samples(array: np.ndarray, path: str | Path, figure: np.ndarray | None = None, cols: int = 0) -> Path:
    """.npy: the raw array; .png: one grid of images (`cols` a row, 0: square), or for 2D points `figure` (or a
    plain scatter of them);
    a folder (no suffix): one PNG per image, or the figure as points.png."""
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
            Image.fromarray(figure if figure is not None else points_figure(array)).save(path)
        elif path.suffix.lower() == ".png":
            _pil(image_grid(array, cols=cols)).save(path)
        elif path.suffix == "":
            path.mkdir(exist_ok=True)
            for i, image in enumerate(array):
                _pil(image).save(path / f"sample-{i:05d}.png")
        else:
            raise UserError(f"cannot export samples as {path.suffix!r}: use .png, .npy or a folder")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def write_timelapse(frames: dict[int, Path], path: str | Path, frame_ms: int = 120, figures: bool = False) -> Path:
    """An animated GIF of the timelapse frames ({step: picture file}), in step order, each with its step below
    it. figures=True (2D runs' frames, D's score as a heat map): every frame takes the score palette, dithered."""
    if not frames:
        raise UserError("no timelapse frames yet")
    images = []
    for step, frame in sorted(frames.items()):
        try:
            images.append(label_step(Image.open(frame), step))
        except (OSError, SyntaxError):  # a frame cut short (a crash, a full disk) is left out
            continue
    if not images:
        raise UserError(f"no readable timelapse frames in {Path(next(iter(frames.values()))).parent}")
    try:
        if figures:
            palette = score_palette()
            images = [image.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG) for image in images]
        images[0].save(path, save_all=True, append_images=images[1:], duration=frame_ms, loop=0)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    return Path(path)


def save_png(array: np.ndarray, target: Path) -> None:
    """One picture (H, W, C) as a PNG, written whole or not at all (readers never see half a file); quickly
    compressed (a third of the default level's time, files a quarter larger): the training thread writes them."""
    with atomic_file(target) as f:
        _pil(array).save(f, format="PNG", compress_level=1)
