"""The health detectors attached to a session: they judge what each publication drained, their alerts go
to the record, and with health.auto_rewind an alert queues a rewind to before it (and, with
health.apply_suggestion, its suggested change after), applied at the next boundary like any command."""
from __future__ import annotations

import numpy as np
import torch

from core.base.errors import UserError
from core.health import HealthMonitor, RunFacts
from core.protocol import commands as C
from core.protocol.states import EventKind
from core.session.parts import Part
from core.training.models import latent_labels
from core.training.views import score


class WeightSample:
    """The same few thousand of G's weights at every look, chosen once (numpy's own generator: the training
    RNGs are never drawn from), to tell a G that still moves from one that stands still."""

    SIZE = 4096

    def __init__(self, G):
        total = sum(p.numel() for p in G.parameters())
        self.index = np.sort(np.random.default_rng(0).choice(total, min(self.SIZE, total), replace=False))

    def __call__(self, G) -> np.ndarray:
        flat = torch.cat([p.detach().reshape(-1) for p in G.parameters()])
        return flat[torch.from_numpy(self.index).to(flat.device)].double().cpu().numpy()


class MemoriseProbe:
    """D's mean score, in eval mode and without gradients, on the same few hundred training reals, held-out reals
    (data.holdout) and fixed-z fakes of G at every look: what d_memorises compares. Draws no random numbers."""

    SIZE = 256

    def __init__(self, trainer):
        self.trained = trainer.data.probe_set(self.SIZE, held=False)
        self.held = trainer.data.probe_set(self.SIZE, held=True)

    def __call__(self, t) -> dict:
        fake = t.generate(t.fixed_z, average=False), latent_labels(t.cfg.model, t.fixed_z)
        scores = [score(t, images, labels).float() for images, labels in (self.trained, self.held, fake)]
        means = torch.stack([s.mean() for s in scores] + [scores[0].sign().mean()]).tolist()  # one sync a probe
        return {"step": t.step, **dict(zip(("d_train", "d_held", "d_fake", "r_t"), means))}


class HealthWatch(Part):
    def __init__(self, trainer, record, dispatcher, run_dir):
        self.trainer, self.record, self.dispatcher, self.run_dir = trainer, record, dispatcher, run_dir
        held_out = getattr(trainer.data, "held_index", None) is not None and trainer.cfg.health.enabled
        self.monitor = HealthMonitor(trainer.cfg.health, evaluated=bool(trainer.cfg.eval.every), held_out=held_out)
        self.auto_rewinds = 0
        self._weight_sample = WeightSample(trainer.G)
        self._probe = MemoriseProbe(trainer) if held_out else None
        self._probe_at = trainer.step + trainer.cfg.health.memorise_every  # D is probed once it has trained

    def on_publish(self, published) -> None:
        t = self.trainer
        if published.view is not None:  # G's own samples of a few fixed z (not the average's, which moves on its own)
            view = published.view
            data_range = 2.0 if view.grid is not None else 2 * view.extent
            fixed = t.generate(t.fixed_z[:16], average=False).float().cpu().numpy()
            self.monitor.observe_view(view.step, fixed / data_range, self._weight_sample(t.G))
        facts = RunFacts(t.settings, t.cfg.is_2d)
        queued = False
        probe = None
        if self._probe is not None and t.step >= self._probe_at:
            probe, self._probe_at = self._probe(t), t.step + t.cfg.health.memorise_every
        for event in self.monitor.update(facts, t.step, published.steps, published.scalars, published.quality, probe):
            self.record.record(event)
            if event["kind"] == EventKind.ALERT and not queued and self.auto_rewinds < t.cfg.health.auto_rewind:
                queued = True
                self._rewind_before(event)

    def _rewind_before(self, alert: dict) -> None:
        self.auto_rewinds += 1
        then = []
        if self.trainer.cfg.health.apply_suggestion and alert.get("action"):
            then.append((C.from_event(alert["action"]), f"health.apply_suggestion ({alert['name']})"))
        self.dispatcher.enqueue(C.Rewind(to="last_healthy"),
                                f"health.auto_rewind ({alert['name']} at step {alert['step']})", then)

    def healthy_step(self) -> int | None:
        """The last step before the first active alert began (with none active, before the latest one); None
        in a run without an alert."""
        alerts = list(self.monitor.active.values())
        if alerts:
            return min(a.since for a in alerts) - 1
        raised = [e for e in self.record.events if e.get("kind") == EventKind.ALERT]
        return int(raised[-1]["since"]) - 1 if raised else None

    def last_healthy_step(self) -> int:
        """healthy_step, for a rewind: a run without an alert has nothing to rewind before."""
        healthy = self.healthy_step()
        if healthy is None:
            raise UserError("no health alert in this run to rewind before; give to_step instead")
        return healthy

    def rewind_target(self) -> dict | None:
        """Where a rewind to before the alert would go, for the window to offer: {"step": N} (checkpoints/
        step-N.pt, the last kept at or before the last healthy step), {"why_not": text}, or None with no alert."""
        healthy = self.healthy_step()
        if healthy is None:
            return None
        kept = [step for step in self.run_dir.step_checkpoints() if step <= healthy]
        if kept:
            return {"step": kept[-1]}
        every = self.trainer.cfg.train.checkpoint_every
        if every and healthy < every:
            return {"why_not": f"No checkpoint was saved before the alert (one every {every:,} steps, "
                               "train.checkpoint_every; Ctrl+S saves one by hand)"}
        return {"why_not": "No checkpoint from before the alert is kept (train.keep_checkpoints and train.keep_every "
                           "decide)"}

    def on_rewind(self, step: int) -> None:
        self._probe_at = step + self.trainer.cfg.health.memorise_every
        for cleared in self.monitor.reset():
            self.record.record(cleared)

    def states(self) -> dict:
        return self.monitor.states()
