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
    augment: str = "off"  # DiffAugment's policies before D (train.augment)


@dataclass(frozen=True)
class Scores:
    """D(real) and D(fake) as histograms: counts per bin since the last ones, and the counts beyond the bins'
    range ([below, above]). What the engine publishes, histograms.jsonl keeps, the Margins dock and the loss
    lab draw."""

    step: int
    edges: np.ndarray
    real: np.ndarray
    fake: np.ndarray
    real_beyond: np.ndarray = field(default_factory=lambda: np.zeros(2))
    fake_beyond: np.ndarray = field(default_factory=lambda: np.zeros(2))

    @classmethod
    def empty(cls, step: int, edges: np.ndarray) -> "Scores":
        return cls(step, edges, np.zeros(len(edges) - 1), np.zeros(len(edges) - 1))

    @classmethod
    def from_record(cls, record: dict) -> "Scores":
        """A histograms.jsonl line (or live/histograms.json)."""
        return cls(int(record["step"]), np.asarray(record["edges"], float), np.asarray(record["real"], float),
                   np.asarray(record["fake"], float), np.asarray(record.get("real_beyond", [0, 0]), float),
                   np.asarray(record.get("fake_beyond", [0, 0]), float))

    def record(self) -> dict:
        """As a line of histograms.jsonl: plain JSON, counts as integers."""
        whole = lambda counts: np.asarray(counts).astype(int).tolist()  # noqa: E731
        return {"step": int(self.step), "edges": np.round(self.edges, 4).tolist(), "real": whole(self.real),
                "fake": whole(self.fake), "real_beyond": whole(self.real_beyond),
                "fake_beyond": whole(self.fake_beyond)}

    def __add__(self, later: "Scores") -> "Scores":
        """These counts and a later publication's together, at its step (the same bins, or the later ones)."""
        if len(later.edges) != len(self.edges):
            return later
        return Scores(later.step, later.edges, self.real + later.real, self.fake + later.fake,
                      self.real_beyond + later.real_beyond, self.fake_beyond + later.fake_beyond)

    @property
    def counted(self) -> bool:
        return bool(self.real.sum() + self.real_beyond.sum())

    def points(self, side: str) -> tuple[np.ndarray, np.ndarray]:
        """(score, count) of one side: the bins' centres, and just past each end for the scores beyond."""
        counts, beyond = (self.real, self.real_beyond) if side == "real" else (self.fake, self.fake_beyond)
        width = self.edges[1] - self.edges[0]
        x = np.concatenate([[self.edges[0] - width / 2], (self.edges[:-1] + self.edges[1:]) / 2,
                            [self.edges[-1] + width / 2]])
        return x, np.concatenate([[beyond[0]], counts, [beyond[1]]])


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
    scalars: dict[str, np.ndarray]  # each (n,), named as STAT_NAMES
    scores: Scores  # D(real) and D(fake) since the last publish
    samples: Samples | None = None
    sigmas: dict[str, float] = field(default_factory=dict)
    events: tuple = ()  # events applied since the last publish, as written to events.jsonl
    quality: tuple = ()  # evaluations finished since the last publish, as written to quality.jsonl
    message: str = ""
    health: dict = field(default_factory=dict)  # detector -> {state, signal, threshold, since} (core/health)
    info: dict = field(default_factory=dict)  # preset, dataset, device, run_dir, max_steps, eval_due (next score)
