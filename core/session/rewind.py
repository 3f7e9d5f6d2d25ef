"""Going back to a checkpoint of this run: its weights, optimizers and random state. What was written after
it moves to abandoned/ (metrics.csv keeps one row per step). The settings in force before the rewind stay in
force, recorded after it as the commands that set them, so a replay of the record trains the same."""
from __future__ import annotations

from core.base.errors import UserError
from core.protocol import commands as C
from core.protocol.telemetry import Settings
from core.session.changes import Rewound
from core.training.checkpoint import load_checkpoint

KEPT = "rewind: kept the settings in force before it"


def settings_commands(now: Settings, wanted: Settings) -> list:
    """The commands that take the settings `now` to `wanted`."""
    commands = []
    if (now.margin_real, now.margin_fake) != (wanted.margin_real, wanted.margin_fake):
        commands.append(C.SetMargins(wanted.margin_real, wanted.margin_fake))
    if now.spectral_norm != wanted.spectral_norm:
        commands.append(C.SetSpectralNorm(wanted.spectral_norm))
    if (now.lr_g, now.lr_d) != (wanted.lr_g, wanted.lr_d):
        commands.append(C.SetLearningRates(wanted.lr_g, wanted.lr_d))
    if now.n_dis != wanted.n_dis:
        commands.append(C.SetNDis(wanted.n_dis))
    if now.loss != wanted.loss:
        commands.append(C.SetLoss(wanted.loss))
    if now.augment != wanted.augment:
        commands.append(C.SetAugment(wanted.augment))
    return commands


def kept_note(run_dir, train) -> str:
    """What checkpoints/ holds, and the retention (train.keep_*) that decided it."""
    steps = list(run_dir.step_checkpoints())
    held = f"steps {', '.join(f'{x:,}' for x in steps)}" if steps else "no step-N.pt"
    return (f": checkpoints/ holds {held} (train.keep_checkpoints = {train.keep_checkpoints} keeps the newest, "
            f"train.keep_every = {train.keep_every} every multiple of it)")


class Rewinder:
    def __init__(self, trainer, run_dir, record, control, changes, dispatcher, publisher, health, parts):
        """parts: the session's parts, told where the run went back to."""
        self.trainer, self.run_dir, self.record, self.control = trainer, run_dir, record, control
        self.changes, self.dispatcher, self.publisher, self.health, self.parts = changes, dispatcher, publisher, \
            health, parts

    def rewind(self, command: C.Rewind) -> dict:
        target = self._target(command)
        candidates = [(step, path) for step, path in self.run_dir.step_checkpoints().items() if step <= target]
        if not candidates:
            raise UserError(f"no checkpoint of this run at or before step {target} is kept"
                            f"{kept_note(self.run_dir, self.trainer.cfg.train)}")
        step, path = candidates[-1]
        state = load_checkpoint(path)
        self.publisher.publish(observed=False)  # the abandoned branch's last rows reach metrics.csv and the window
        before, from_step = self.trainer.settings, self.trainer.step
        self.changes.apply(Rewound(state))
        self.record.replace(state["events"])
        abandoned = self.run_dir.rewind(step, self.record.events)
        self.control.rewound()
        for part in self.parts:
            part.on_rewind(step)
        for kept in reversed(settings_commands(self.trainer.settings, before)):
            self.dispatcher.enqueue(kept, KEPT, first=True)
        return {"from_step": from_step, "to_step": step, "checkpoint": str(path.relative_to(self.run_dir.path)),
                "abandoned": str(abandoned.relative_to(self.run_dir.path)) if abandoned.exists() else None}

    def _target(self, command: C.Rewind) -> int:
        """The last step a rewind may go back to."""
        if (command.to_step is None) == (command.to is None):
            raise UserError('a rewind needs to_step (a step number) or to = "last_healthy", not both')
        if command.to is not None:
            if command.to != "last_healthy":
                raise UserError(f'rewind to must be "last_healthy", got {command.to!r}')
            return self.health.last_healthy_step()
        step = self.trainer.step
        if not (isinstance(command.to_step, int) and 0 <= command.to_step <= step):
            raise UserError(f"to_step must be a step from 0 to {step}, got {command.to_step!r}")
        return command.to_step
