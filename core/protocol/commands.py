"""Commands that steer a run. Plain frozen dataclasses: picklable, so any transport can carry them.

They are applied at step boundaries in the training thread; each applied command is echoed back
and written to events.jsonl as {"step", "wall_time", "kind", ...fields}.
"""
from __future__ import annotations

import dataclasses
import queue
from dataclasses import dataclass


@dataclass(frozen=True)
class SetMargins:
    margin_real: float
    margin_fake: float
    kind = "set_margins"


@dataclass(frozen=True)
class SetSpectralNorm:
    enabled: bool
    kind = "set_spectral_norm"


@dataclass(frozen=True)
class SetLearningRates:
    lr_g: float | None = None
    lr_d: float | None = None
    kind = "set_learning_rates"


@dataclass(frozen=True)
class SetNDis:
    n_dis: int
    kind = "set_n_dis"


@dataclass(frozen=True)
class SetLoss:
    loss: str  # hinge, bce or wasserstein: the losses of D and G from the next step on
    kind = "set_loss"


@dataclass(frozen=True)
class SetAugment:
    policies: str  # "off" or DiffAugment's policies joined by commas (color,translation,cutout), as train.augment
    kind = "set_augment"


@dataclass(frozen=True)
class SetThreads:
    threads: int  # CPU threads for the training step; 0: follow the cores other processes leave free
    kind = "set_threads"


@dataclass(frozen=True)
class SetSampleView:
    fresh: bool  # True: a new random z at each refresh; False: the run's fixed z
    kind = "set_sample_view"


@dataclass(frozen=True)
class Pause:
    kind = "pause"


@dataclass(frozen=True)
class Resume:
    kind = "resume"


@dataclass(frozen=True)
class Step:
    n: int = 1
    kind = "step"


@dataclass(frozen=True)
class SaveCheckpoint:
    path: str | None = None  # None: checkpoints/last.pt and step-N.pt in the run directory
    kind = "save_checkpoint"


@dataclass(frozen=True)
class ExportSamples:
    path: str
    n: int = 64
    fresh: bool = False  # True: random z; False: the run's fixed z (first n of it, then more from the seed)
    kind = "export_samples"


@dataclass(frozen=True)
class Evaluate:
    kind = "evaluate"  # score the generator now (FID/KID/coverage, or PacGAN's metrics for 2D)


@dataclass(frozen=True)
class Rewind:
    """Go back to a checkpoint of this run: the latest at or before to_step, or with to="last_healthy" the
    latest written before the first active (or, with none active, the latest) health alert began."""

    to_step: int | None = None
    to: str | None = None
    kind = "rewind"


@dataclass(frozen=True)
class Stop:
    kind = "stop"


ALL = (SetMargins, SetSpectralNorm, SetLearningRates, SetNDis, SetLoss, SetAugment, SetThreads, SetSampleView, Pause,
       Resume, Step, SaveCheckpoint, ExportSamples, Evaluate, Rewind, Stop)
BY_KIND = {cls.kind: cls for cls in ALL}
STEERED = (SetMargins, SetSpectralNorm, SetLearningRates, SetLoss, SetNDis, SetAugment)  # change what is trained
# Commands that change what is trained; replaying these at their steps reproduces a run. The thread count
# is among them: on a CPU it changes how sums are split, so the last bits of the weights.
STATE_CHANGING = (SetMargins, SetSpectralNorm, SetLearningRates, SetNDis, SetLoss, SetAugment, SetThreads)


def to_event(command) -> dict:
    return {"kind": command.kind, **dataclasses.asdict(command)}


def from_event(event: dict):
    """The command an events.jsonl line records (extra keys such as step and wall_time are ignored)."""
    cls = BY_KIND.get(event.get("kind"))
    if cls is None:
        raise ValueError(f"unknown command kind {event.get('kind')!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in event.items() if k in names})


def queue_inbox(commands):
    """receive(timeout_s) -> the next command from a queue.Queue or multiprocessing Queue, or None."""
    def receive(timeout: float):
        try:
            return commands.get(timeout=timeout) if timeout else commands.get_nowait()
        except queue.Empty:
            return None
    return receive
