"""What the engine publishes: frozen, picklable, numpy payloads only."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STAT_NAMES = (
    "d_loss", "g_loss", "real_loss", "fake_loss",
    "d_real_mean", "d_fake_mean", "real_violation_rate", "fake_violation_rate",
)


@dataclass(frozen=True)
class Settings:
    """The live values of everything a user can steer, as the engine applied them."""

    margin_real: float
    margin_fake: float
    spectral_norm: bool
    lr_g: float
    lr_d: float
    n_dis: int
    threads: int  # CPU threads of the training step
    loss: str = "hinge"  # hinge, bce (non-saturating for G) or wasserstein


@dataclass(frozen=True)
class Samples:
    """A generated view. Images: grid (H, W, C) uint8 of the fixed z, and cell size. 2D: points and D's score field."""

    step: int
    grid: np.ndarray | None = None
    cell: int = 0
    fake_points: np.ndarray | None = None
    real_points: np.ndarray | None = None
    score_field: np.ndarray | None = None  # (R, R) D scores over [-extent, extent]^2, row = y
    extent: float = 0.0
    centers: np.ndarray | None = None
    fresh: bool = False  # drawn from a fresh random z rather than the run's fixed z
    count: int = 0  # images in the grid (its last row may have empty cells); 0: every cell holds one


@dataclass(frozen=True)
class Telemetry:
    step: int
    state: str  # "running", "paused", "done", "diverged", "stopped"
    elapsed_s: float
    steps_per_s: float
    settings: Settings
    steps: np.ndarray  # (n,) step numbers of the rows below
    scalars: dict[str, np.ndarray]  # each (n,), named as core.losses.STAT_NAMES
    hist_edges: np.ndarray
    hist_real: np.ndarray  # counts since the last publish
    hist_fake: np.ndarray
    samples: Samples | None = None
    sigmas: dict[str, float] = field(default_factory=dict)
    events: tuple = ()  # events applied since the last publish, as written to events.jsonl
    quality: tuple = ()  # evaluations finished since the last publish, as written to quality.jsonl
    message: str = ""
    health: dict = field(default_factory=dict)  # detector -> {state, signal, threshold, since} (core/health)
    info: dict = field(default_factory=dict)  # preset, dataset, device, run_dir, max_steps, eval_due (next score)
    hist_beyond: np.ndarray = field(default_factory=lambda: np.zeros((2, 2)))  # [[real below, above], [fake ...]]
