"""The embedded default data: digits 0-9 drawn with Pillow's bundled font under random affine and smooth
elastic distortion. No torch here, and no arithmetic whose rounding depends on the CPU: Pillow renders the
glyphs in fixed point, numpy's PCG64 draws the randomness from integers, and every float operation is an
elementwise +, -, *, / or floor (IEEE-754 rounds each exactly, at any vector width), summed in a fixed order,
with no sin, cos, exp or matrix product. So every machine draws the same bytes, and a classifier trained on
them (the one the package ships) is found everywhere; tests/core/training/test_digits.py pins the fingerprint.
"""
from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core.base.files import atomic_file, cache_dir

DIGITS_SEED = 20240229
DIGITS_RECIPE = 3  # bump when the drawing changes: the shipped classifier is keyed on it
_CHUNK = 500
_TAN_HALF_15_DEGREES = 0.13165249758739583  # rotations up to 15 degrees, drawn as t = tan(angle / 2)


def digit_templates(size: int) -> np.ndarray:
    """(10, 3, size, size) float32 glyphs 0-9 at three stroke weights, white (1) on black (0)."""
    font = ImageFont.load_default(size=int(size * 0.7))
    templates = np.zeros((10, 3, size, size), np.float32)
    for digit in range(10):
        for stroke in (0, 1, 2):
            canvas = Image.new("L", (size, size), 0)
            draw = ImageDraw.Draw(canvas)
            width = stroke * size // 64
            box = draw.textbbox((0, 0), str(digit), font=font, stroke_width=width)
            x = (size - (box[2] - box[0])) // 2 - box[0]
            y = (size - (box[3] - box[1])) // 2 - box[1]
            draw.text((x, y), str(digit), fill=255, font=font, stroke_width=width, stroke_fill=255)
            templates[digit, stroke] = np.asarray(canvas, np.float32) / np.float32(255)
    return templates


def _cubic_weights(out: int, grid: int) -> np.ndarray:
    """(out, grid) weights that upsample `grid` points to `out` with Keys' cubic (a = -0.75), half-pixel
    centres, edges clamped: the bicubic of torch's interpolate(align_corners=False), in float64."""
    weights = np.zeros((out, grid))
    for i in range(out):
        src = (i + 0.5) * grid / out - 0.5
        base = int(np.floor(src))
        t = src - base
        for k, d in enumerate((1 + t, t, 1 - t, 2 - t)):
            w = ((-0.75 * d + 3.75) * d - 6.0) * d + 3.0 if d > 1 else (1.25 * d - 2.25) * d * d + 1.0
            weights[i, min(max(base - 1 + k, 0), grid - 1)] += w
    return weights


def _elastic(field: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(m, 2, g, g) coarse displacements -> (m, 2, out, out), separably, summed in a fixed order."""
    g = field.shape[-1]
    rows = sum(field[..., :, k, None] * weights[:, k] for k in range(g))  # (m, 2, g, out): along x
    return sum(rows[..., k, None, :] * weights[:, k, None] for k in range(g))  # (m, 2, out, out): along y


def _bilinear(flat: np.ndarray, side: int, first: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Bilinear samples at pixel coordinates px, py (m, h, w) of m images stored flat, each `side` pixels
    square starting at `first` (m, 1, 1), zero-padded wide enough that every coordinate lands in it."""
    x0, y0 = np.floor(px), np.floor(py)
    fx, fy = px - x0, py - y0
    index = first + y0.astype(np.int32) * side + x0.astype(np.int32)
    one = np.float32(1)
    top = flat[index] * (one - fx) + flat[index + 1] * fx
    bottom = flat[index + side] * (one - fx) + flat[index + side + 1] * fx
    return top * (one - fy) + bottom * fy


def make_digits(n: int = 10000, size: int = 32, seed: int = DIGITS_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic labelled digits: uint8 images (n, 1, size, size) and int64 labels (n,), balanced over 0-9.

    Each glyph is drawn at twice the size under a random rotation (up to 15 degrees), scale (0.85-1.15),
    shear and shift plus a smooth displacement field (a 4x4 grid of offsets, bicubic), then averaged 2x2."""
    rng = np.random.Generator(np.random.PCG64(seed))
    hi = size * 2
    pad = hi // 2 + 2  # zeros around each glyph: far enough for the largest zoom, shear, shift and field
    side = hi + 2 * pad
    glyphs = np.pad(digit_templates(hi), ((0, 0), (0, 0), (pad, pad), (pad, pad))).reshape(-1)
    labels = np.arange(n, dtype=np.int64) % 10
    stroke = rng.integers(0, 3, n)
    centres = ((2 * np.arange(hi) + 1) / hi - 1).astype(np.float32)  # normalized pixel centres in [-1, 1]
    cubic = _cubic_weights(hi, 4).astype(np.float32)
    images = np.empty((n, 1, size, size), np.uint8)
    for start in range(0, n, _CHUNK):
        m = min(_CHUNK, n - start)
        u = rng.random((m, 6))
        t = (2 * u[:, 0] - 1) * _TAN_HALF_15_DEGREES
        scale = 0.85 + 0.3 * u[:, 1]
        cos, sin = (1 - t * t) / (1 + t * t) / scale, 2 * t / (1 + t * t) / scale
        shear = (u[:, 2] - 0.5) * 0.4
        coefficients = np.stack([cos, -sin + shear, (u[:, 3] - 0.5) * 0.16,
                                 sin, cos, (u[:, 4] - 0.5) * 0.16], 1).astype(np.float32)
        a = [c.reshape(m, 1, 1) for c in coefficients.T]
        field = ((rng.random((m, 2, 4, 4)) - 0.5) * 0.14).astype(np.float32)
        shift = _elastic(field, cubic)
        x, y = centres.reshape(1, 1, hi), centres.reshape(1, hi, 1)
        gx = a[0] * x + a[1] * y + a[2] + shift[:, 0]
        gy = a[3] * x + a[4] * y + a[5] + shift[:, 1]
        px = np.clip(((gx + 1) * hi - 1) * np.float32(0.5), -pad, hi + pad - 2)  # beyond: zeros all the same
        py = np.clip(((gy + 1) * hi - 1) * np.float32(0.5), -pad, hi + pad - 2)
        glyph = labels[start: start + m] * 3 + stroke[start: start + m]
        first = (glyph * side * side + pad * side + pad).astype(np.int32).reshape(m, 1, 1)
        drawn = _bilinear(glyphs, side, first, px, py)
        pooled = (drawn[:, 0::2, 0::2] + drawn[:, 0::2, 1::2] + drawn[:, 1::2, 0::2] + drawn[:, 1::2, 1::2])
        pooled = np.clip(pooled * np.float32(0.25), 0, 1) * np.float32(255)
        images[start: start + m, 0] = np.rint(pooled).astype(np.uint8)
    return images, labels


# --- drawn once per machine, and ahead of time ---------------------------------------------------------------

_helpers: dict[tuple[int, int], int] = {}  # (n, size) -> the pid of a helper process drawing them now


def _cache_path(n: int, size: int) -> Path:
    return cache_dir() / "digits" / f"recipe{DIGITS_RECIPE}-{n}x{size}px.npz"


def _read_cached(path: Path, n: int, size: int) -> np.ndarray | None:
    try:
        with np.load(path) as stored:
            images, digest = stored["images"], str(stored["sha1"])
    except (OSError, ValueError, KeyError):
        return None
    if images.shape != (n, 1, size, size) or images.dtype != np.uint8 or _sha1(images) != digest:
        return None  # another recipe's, or damaged: drawn again
    return images


def _sha1(images: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(images).tobytes()).hexdigest()


def _keep(path: Path, images: np.ndarray) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as f:
            np.savez(f, images=images, sha1=_sha1(images))
    except OSError:
        pass  # an unwritable cache costs a second of drawing at the next launch, nothing else


def draw_ahead(n: int, size: int) -> None:
    """Start drawing the digits into the cache in a forked helper process, unless they are there already; for a
    process that is about to spend seconds importing torch (on two cores the drawing then costs nothing)."""
    if sys.platform != "linux" or (n, size) in _helpers or _read_cached(_cache_path(n, size), n, size) is not None:
        return
    pid = os.fork()
    if pid == 0:  # the helper: numpy only, no threads yet in the parent that forked it
        try:
            _keep(_cache_path(n, size), make_digits(n, size)[0])
        finally:
            os._exit(0)
    _helpers[(n, size)] = pid


def embedded_digits(n: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """make_digits(n, size), from the cache where an earlier launch or draw_ahead's helper left them, else drawn
    now and kept there."""
    if (pid := _helpers.pop((n, size), None)) is not None:
        os.waitpid(pid, 0)
    path = _cache_path(n, size)
    images = _read_cached(path, n, size)
    if images is None:
        images = make_digits(n, size)[0]
        _keep(path, images)
    return images, np.arange(n, dtype=np.int64) % 10
