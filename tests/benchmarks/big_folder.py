"""A folder of images as users bring them, launched twice: the first launch decodes it into the cache, the
second finds it there. Each launch is `hinge-train train --preset folder --steps 1` in a process of its own,
measured by /usr/bin/time: wall seconds to the end of its first step, and its peak resident memory.

Not a test (pytest does not collect it). Run from the repository root:

    python tests/benchmarks/big_folder.py --folder ../shared/data/emoji-google-64          # a real folder
    python tests/benchmarks/big_folder.py --make 200000 --folder /tmp/big --size 64         # synthetic JPEGs
    python tests/benchmarks/big_folder.py --folder /tmp/big --size 128 --decode-only        # the cache at 128 px

--decode-only measures the data path alone (decode, cache, map; no model), for sizes the models do not train.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[2]


def make_jpegs(folder: Path, start: int, stop: int) -> None:
    """Photos' stand-ins: 96x80 JPEGs of a few coloured shapes on a coloured ground, 100 a subfolder."""
    rng = np.random.default_rng(start)
    for i in range(start, stop):
        image = Image.new("RGB", (96, 80), tuple(rng.integers(0, 256, 3).tolist()))
        draw = ImageDraw.Draw(image)
        for _ in range(3):
            x, y = rng.integers(0, 80, 2)
            colour = tuple(rng.integers(0, 256, 3).tolist())
            draw.ellipse((x, y, x + rng.integers(8, 40), y + rng.integers(8, 40)), fill=colour)
        sub = folder / f"{i // 100:05d}"
        sub.mkdir(exist_ok=True)
        image.save(sub / f"{i:07d}.jpg", quality=85)


def make_folder(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    bounds = list(range(0, n, 10_000)) + [n]
    with ProcessPoolExecutor() as pool:
        list(pool.map(make_jpegs, [folder] * (len(bounds) - 1), bounds[:-1], bounds[1:]))
    print(f"made {n:,} JPEGs in {folder} in {time.monotonic() - started:.0f} s")


def timed(command: list[str], env: dict) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, the command's last line on stderr)."""
    result = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", *command], env=env, capture_output=True, text=True)
    lines = result.stderr.strip().splitlines()
    wall, rss = next(line for line in reversed(lines) if line.startswith("TIME")).split()[1:]
    said = [line for line in lines if line.startswith("hinge-train:")]
    if result.returncode:
        print(result.stderr[-2000:], file=sys.stderr)
    return float(wall), float(rss) / 1024, said[0] if said else ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", required=True)
    parser.add_argument("--make", type=int, default=0, help="first make this many synthetic JPEGs in --folder")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--decode-only", action="store_true")
    parser.add_argument("--launches", type=int, default=2)
    args = parser.parse_args()
    folder = Path(args.folder).resolve()
    if args.make:
        make_folder(folder, args.make)
    env = {**os.environ, "HINGE_CACHE_DIR": tempfile.mkdtemp(prefix="big-folder-cache-")}  # empty at first
    if args.decode_only:
        code = ("import sys, time; from pathlib import Path; from core.training.image_folder import cached_folder;"
                f"c = cached_folder(Path({str(folder)!r}), {args.size}, 3); images = c.images(2048);"
                "print(f'hinge-train: {c.shape[0]:,} images, {c.seconds:.1f} s decoding, mapped: "
                "{type(images).__name__ == \"memmap\"}', file=sys.stderr)")
        command = [sys.executable, "-c", code]
    else:
        run_dir = tempfile.mkdtemp(prefix="big-folder-run-")
        command = [sys.executable, "-m", "core.cli", "train", "--preset", "folder", "--steps", "1",
                   "--run-dir", run_dir, "--set", f"data.root={folder}", "--set", f"data.image_size={args.size}"]
    print(f"{folder} at {args.size} px ({'data path only' if args.decode_only else 'hinge-train train, one step'})")
    for launch in range(1, args.launches + 1):
        if not args.decode_only:
            command[command.index("--run-dir") + 1] = tempfile.mkdtemp(prefix="big-folder-run-")
        wall, rss, said = timed(command, env)
        print(f"launch {launch}: {wall:6.1f} s, peak RSS {rss:7.0f} MB  {said}")


if __name__ == "__main__":
    main()
