"""Changes to the training in force, typed, through one funnel: the rows trained so far are written with the
settings they were trained with, the trainer changes, and the control points hear of it (in a run of several
processes every rank applies the same change at the same step boundary). A change is a command
(core.protocol.commands) or Rewound; SETTERS says which of the trainer's setters each one calls."""
from __future__ import annotations

from dataclasses import dataclass

from core.protocol import commands as C


@dataclass(frozen=True)
class Rewound:
    """The run went back to a checkpoint of its own: its weights, optimizers, random state and settings."""

    state: dict


SETTERS = {
    C.SetMargins: lambda trainer, c: trainer.set_margins(c.margin_real, c.margin_fake),
    C.SetSpectralNorm: lambda trainer, c: trainer.set_spectral_norm(c.enabled),
    C.SetLearningRates: lambda trainer, c: trainer.set_learning_rates(c.lr_g, c.lr_d),
    C.SetLoss: lambda trainer, c: trainer.set_loss(c.loss),
    C.SetNDis: lambda trainer, c: trainer.set_n_dis(c.n_dis),
    C.SetAugment: lambda trainer, c: trainer.set_augment(c.policies),
    C.SetThreads: lambda trainer, c: trainer.set_threads(c.threads),
    Rewound: lambda trainer, c: trainer.rewind(c.state),
}
STEERED = C.STEERED  # a user's changes of what is trained, applied at a step boundary


def apply_change(trainer, change) -> dict | None:
    """Make the change on this trainer; the values now in force, as the record echoes them."""
    return SETTERS[type(change)](trainer, change)


class Changes:
    def __init__(self, trainer, metrics, control_points):
        self.trainer, self.metrics, self.control_points = trainer, metrics, control_points

    def apply(self, change) -> dict | None:
        self.metrics.flush()  # the rows so far keep the settings they were trained with
        echoed = apply_change(self.trainer, change)
        self.control_points.changed(change)
        return echoed
