"""A training session: the loop around a Trainer that applies commands at step boundaries, writes the
run directory and publishes telemetry. The same loop serves `hinge-train` and the workbench's worker.
"""
from __future__ import annotations

import collections
import copy
import json
import math
import time
from pathlib import Path
from typing import Callable

import numpy as np

from core import commands as C
from core.checkpoint import load_checkpoint, save_checkpoint
from core.engine import Trainer
from core.evaluate import BackgroundEvaluator, Evaluator
from core.config import check_threads
from core.distributed import StopSignals, broadcast, peer_failure
from core.errors import UserError
from core.health import HealthMonitor
from core.inbox import CommandFile
from core.live import LiveWriter
from core.replica import Plan, agree
from core.rundir import RunDir
from core.spectral import SigmaProbe
from core.states import EventKind, RunState
from core.telemetry import Telemetry
from core.threads import ThreadGovernor
from core.views import export_samples, picture, sample_view

Inbox = Callable[[float], object]  # receive(timeout_s) -> a command, or None when none came


def settings_commands(now, wanted) -> list:
    """The commands that take the settings `now` to `wanted` (both core.telemetry.Settings)."""
    commands = []
    if (now.margin_real, now.margin_fake) != (wanted.margin_real, wanted.margin_fake):
        commands.append(C.SetMargins(wanted.margin_real, wanted.margin_fake))
    if now.spectral_norm != wanted.spectral_norm:
        commands.append(C.SetSpectralNorm(wanted.spectral_norm))
    if (now.lr_g, now.lr_d) != (wanted.lr_g, wanted.lr_d):
        commands.append(C.SetLearningRates(wanted.lr_g, wanted.lr_d))
    if now.n_dis != wanted.n_dis:
        commands.append(C.SetNDis(wanted.n_dis))
    return commands


class Session:
    """The loop around one Trainer. In a run of several processes it is rank 0's: each pass of the loop is
    a control point where the statistics are summed over the ranks and the others receive a Plan (the
    changes rank 0 applied, and how many steps to train before the next control point)."""

    def __init__(self, trainer: Trainer, run_dir: RunDir, max_steps: int | None = None,
                 publish: Callable[[Telemetry], None] | None = None, paused: bool = False,
                 wait_when_done: bool = False, replay: list[dict] = (), events: list[dict] = (),
                 parent: dict | None = None, elapsed_s: float = 0.0):
        self.trainer = trainer
        self.parent = parent
        self.run_dir = run_dir
        self.max_steps = max_steps
        self._live = LiveWriter(run_dir.path, lambda view: picture(trainer, view))
        self.publishers = [f for f in (publish, self._live) if f is not None]
        self._command_file = CommandFile(run_dir.path)
        self._next_command_read = 0.0
        self.wait_when_done = wait_when_done
        self.state = RunState.PAUSED if paused else RunState.RUNNING
        self.step_budget = 0
        self.stopping = False
        self.fresh_view = False
        self.events = list(events)  # every event of the run, carried in checkpoints
        self._unpublished_events: list[dict] = []
        self._replay = collections.deque(sorted((e for e in replay if C.BY_KIND.get(e["kind"]) in C.STATE_CHANGING),
                                                key=lambda e: e["step"]))
        self._active_s = elapsed_s  # seconds spent training (not paused) over the whole run, resumes included
        self._rate_window = collections.deque(maxlen=30)
        self._next_publish = 0.0
        self._next_samples = 0.0
        self._next_autosave = time.monotonic() + 60 * trainer.cfg.train.autosave_minutes
        self._message = ""
        self._disk_problem = ""
        self._saved = (-1, False)  # the step last.pt holds, and whether step-N.pt was written too
        self._pending_scalars: list[tuple[np.ndarray, dict]] = []  # flushed to CSV, not yet published
        self._evaluator: BackgroundEvaluator | None = None  # started at the first evaluation
        self._evaluated_step = -1
        self._evaluated_at: dict[int, float] = {}  # step -> training seconds when its snapshot was taken
        self._sigma_probe = SigmaProbe()
        self._hist_since_frame = np.zeros((2, len(trainer.hist_edges) - 1))
        self._governor = self._new_governor() if not trainer.cfg.train.threads else None
        self.health = HealthMonitor(trainer.cfg)
        self._auto_rewinds = 0
        self._auto_rewind_due: dict | None = None  # the alert an automatic rewind answers, at the next boundary
        self._discarded_evaluations: set[int] = set()  # steps of a branch a rewind abandoned
        self.world = trainer.world
        self._changes: list[tuple[str, object]] = []  # applied since the last plan, for the other ranks
        self._signals = StopSignals() if self.world.distributed else None
        self._fallback: dict | None = None  # the state at the last control point, while the ranks train on
        self._steps_per_s = 0.0

    # --- the loop -----------------------------------------------------------------------------

    @property
    def info(self) -> dict:
        t = self.trainer
        device = f"{t.device.type}, {self.world.size} processes" if self.world.distributed else str(t.device)
        return {"preset": t.cfg.preset, "dataset": t.data.describe(), "device": device,
                "run_dir": str(self.run_dir.path), "max_steps": self.max_steps, "is_2d": t.data.kind == "points",
                "loss": t.cfg.loss.kind, "eval_every": t.cfg.eval.every, "speedups": t.speedups}

    def run(self, inbox: Inbox | None = None) -> str:
        """Train until done or stopped; returns the final state."""
        self.run_dir.write_config(self.trainer.cfg, self.parent)
        if self._governor is not None:
            self.record({"kind": C.SetThreads.kind, "threads": self.trainer.threads, "auto": True})
        self.publish(samples=True)
        try:
            self._loop(inbox)
            if self.world.distributed:
                self.record({"kind": EventKind.RANKS_COMPARED, "world_size": self.world.size,
                             "identical": agree(self.trainer)})
        except RuntimeError as exc:
            if not self.world.distributed:
                raise
            self._lost_a_rank(exc)
        return self.close()

    def _loop(self, inbox: Inbox | None) -> None:
        last, stepped = time.monotonic(), 0
        while True:
            self.trainer.sync_statistics()
            if stepped:
                self._after_steps()
            self._take_commands(inbox, timeout=0.0)
            self._replay_due()
            if self._signals is not None and self._signals.received:
                self.handle(C.Stop(), source=f"signal {self._signals.received}")
            reached = self.max_steps is not None and self.trainer.step >= self.max_steps
            if reached and self.state in (RunState.RUNNING, RunState.PAUSED):
                self._finish()
                self.stopping = self.stopping or not self.wait_when_done
            stepped = 0 if self.stopping else self._steps_to_take()
            if not stepped and not self.stopping:
                self._publish_if_due()
                self._take_commands(inbox, timeout=0.05)
                last = time.monotonic()
            self._send_plan(stepped)
            if self.stopping:
                self._fallback = None  # every rank finished every step: nothing to fall back to
                return
            for _ in range(stepped):
                self.trainer.train_step()
            now = time.monotonic()
            self._active_s += now - last
            last = now
            if self.step_budget:
                self.step_budget -= stepped
                if not self.step_budget:
                    self._next_publish = 0.0  # show the exact step reached

    def _after_steps(self) -> None:
        step, cfg = self.trainer.step, self.trainer.cfg
        if cfg.eval.every and step % cfg.eval.every == 0:
            self.evaluate()
        if step % cfg.train.checkpoint_every == 0:
            self._autosave()
        elif time.monotonic() >= self._next_autosave:
            self._autosave(keep_step=False)
        self._publish_if_due()
        if self._auto_rewind_due is not None:
            self._rewind_automatically()
        if self._governor is not None and self._governor.due():
            self._adapt_threads()

    def _steps_to_take(self) -> int:
        """Steps until the next control point: one in one process; in several, about a publishing
        interval's worth, ending where something is due (a checkpoint, an evaluation, a replayed command,
        the end of a step budget)."""
        if not self._should_step():
            return 0
        if not self.world.distributed:
            return 1
        step, cfg = self.trainer.step, self.trainer.cfg
        limits = [max(1, int(self._steps_per_s * cfg.train.publish_every_s))]
        if self.step_budget:
            limits.append(self.step_budget)
        if self.max_steps is not None and step < self.max_steps:
            limits.append(self.max_steps - step)
        limits += [every - step % every for every in (cfg.train.checkpoint_every, cfg.eval.every) if every]
        if self._replay:
            limits.append(self._replay[0]["step"] - step)
        return min(limits)

    def _send_plan(self, steps: int) -> None:
        if self.world.distributed:
            broadcast(Plan(steps, self.stopping, self._changes))
            if steps:
                self._fallback = self._snapshot()
        self._changes = []

    def _snapshot(self) -> dict:
        return {**copy.deepcopy(self.trainer.state_dict()), "events": list(self.events), "train_seconds": self._active_s}

    def _lost_a_rank(self, exc: RuntimeError) -> None:
        """A collective failed (another process ended, mostly; gloo does not say which). Back to the last
        control point every rank finished, which close() saves as last.pt; what the ranks did after it is
        dropped."""
        reason = peer_failure(exc)
        if self._fallback is not None:
            state, self._fallback = self._fallback, None
            self.trainer.load_state_dict(state)
            self.trainer.forget_unsynced()
            self.events, self._active_s = state["events"], state["train_seconds"]
        self.stopping = True
        self._message = (f"Training in {self.world.size} processes failed ({reason}); stopped at step "
                         f"{self.trainer.step}, the last step every process finished. Resume from checkpoints/last.pt.")
        self.record({"kind": EventKind.ERROR, "reason": self._message})

    def _should_step(self) -> bool:
        stepping = self.step_budget > 0 and self.state in (RunState.PAUSED, RunState.DONE)
        return self.state == RunState.RUNNING or stepping

    def _finish(self) -> None:
        self.state = RunState.DONE
        self.step_budget = 0
        self._autosave()
        if self.trainer.cfg.eval.every:
            self.evaluate()
        self._next_publish = 0.0
        self._publish_if_due()

    def close(self) -> str:
        self._autosave()
        if self._evaluator is not None:
            if self.state == RunState.DONE and not self.wait_when_done:
                self._evaluator.wait()  # headless: the final score belongs in quality.jsonl
            self._evaluator.close()
        if self.state not in (RunState.DIVERGED, RunState.DONE):
            self.state = RunState.STOPPED
        self.publish(samples=True)
        self._live.flush()
        self.run_dir.close()
        return self.state

    def evaluate(self) -> bool:
        """Score a snapshot of G in the background; False when one is already waiting or this step was scored."""
        if self._evaluated_step == self.trainer.step or self.state == RunState.DIVERGED:
            return False
        if self._evaluator is None:
            t = self.trainer
            self._evaluator = BackgroundEvaluator(Evaluator(t.cfg, t.data, t.device))
        queued = self._evaluator.submit(self.trainer.sampler, self.trainer.step)
        if queued:
            self._evaluated_step = self.trainer.step
            self._evaluated_at[self.trainer.step] = round(self._active_s, 3)
        return queued

    # --- commands ------------------------------------------------------------------------------

    def _take_commands(self, inbox: Inbox | None, timeout: float) -> None:
        self._read_command_file()
        if inbox is None:
            if timeout:
                time.sleep(timeout)
            return
        command = inbox(timeout)
        while command is not None:
            self.handle(command)
            command = None if self.stopping else inbox(0.0)

    def _read_command_file(self) -> None:
        """Apply the lines appended to commands.jsonl, at most once per publishing interval."""
        now = time.monotonic()
        if now < self._next_command_read or self.stopping:
            return
        self._next_command_read = now + self.trainer.cfg.train.publish_every_s
        for line, command in self._command_file.read():
            if isinstance(command, UserError):
                self.record({"kind": EventKind.REJECTED, "command": "commands.jsonl", "line": line, "reason": str(command)})
            else:
                self.handle(command, source=f"commands.jsonl:{line}")
            if self.stopping:
                return

    def _replay_due(self) -> None:
        while self._replay and self._replay[0]["step"] <= self.trainer.step:
            self.handle(C.from_event(self._replay.popleft()))

    def handle(self, command, source: str | None = None) -> bool:
        """Apply one command at this step boundary and record what happened (and, for a command from
        the inbox file, which line asked for it). False when it was refused."""
        origin = {"source": source} if source else {}
        try:
            result = self._apply(command)
        except Exception as exc:  # noqa: BLE001 - a failed command is refused; the run goes on
            reason = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
            self.record({"kind": EventKind.REJECTED, "command": getattr(command, "kind", type(command).__name__),
                         "reason": reason, **origin})
            return False
        kept = result.pop("_keep", []) if isinstance(result, dict) else []
        self.record({**C.to_event(command), **(result or {}), **origin})
        for setting in kept:  # after a rewind, the settings in force before it stay: recorded as their commands
            self.handle(setting, source="rewind: kept the settings in force before it")
        return True

    def _new_governor(self) -> ThreadGovernor | None:
        """On the CPU of one process; several processes keep their share of the cores."""
        cpu = self.trainer.device.type == "cpu"
        return ThreadGovernor() if cpu and not self.trainer.world.distributed else None

    def _adapt_threads(self) -> None:
        """Follow the cores other processes leave free; each change is an event, so a replay uses it too."""
        change = self._governor.poll()
        if change is not None:
            threads, busy_elsewhere = change
            self._flush_metrics()
            self.trainer.set_threads(threads)
            self.record({"kind": C.SetThreads.kind, "threads": threads, "auto": True,
                          "busy_elsewhere": round(busy_elsewhere, 2)})

    def _set_threads(self, threads: int) -> dict:
        """A number pins the thread count; 0 hands it back to the governor."""
        check_threads(threads, allow_auto=True)
        self._flush_metrics()
        self._governor = self._new_governor() if threads == 0 else None
        if threads:
            self.trainer.set_threads(threads)
        self._change_every_rank("set_threads", self.trainer.threads)
        return {"threads": self.trainer.threads, "auto": self._governor is not None}

    def _change_every_rank(self, method: str, argument) -> None:
        """A change rank 0 made to its Trainer, for the other ranks to make at the same step."""
        if self.world.distributed:
            self._changes.append((method, argument))

    def _apply(self, command):
        if isinstance(command, C.SetThreads):
            return self._set_threads(command.threads)
        if isinstance(command, C.STATE_CHANGING):
            self._flush_metrics()  # rows so far keep the settings they were trained with
            result = self.trainer.apply(command)
            self._change_every_rank("apply", command)
            return result
        if isinstance(command, C.Stop):
            self.stopping = True
        elif isinstance(command, C.Pause):
            if self.state == RunState.RUNNING:
                self.state = RunState.PAUSED
            self.step_budget = 0
        elif isinstance(command, (C.Resume, C.Step)):
            if self.state == RunState.DIVERGED:
                raise UserError(f"the run diverged at step {self.trainer.step}; resume from a checkpoint instead")
            if isinstance(command, C.Resume):
                self.max_steps = None if self.state == RunState.DONE else self.max_steps
                self.state = RunState.RUNNING
            else:
                if not (isinstance(command.n, int) and command.n >= 1):
                    raise UserError(f"step count must be a positive integer, got {command.n!r}")
                was_running = self.state == RunState.RUNNING
                self.state = RunState.PAUSED if was_running else self.state
                self.step_budget += command.n
                return {"paused": True} if was_running else None
        elif isinstance(command, C.SetSampleView):
            self.fresh_view = bool(command.fresh)
            self._next_samples = 0.0
        elif isinstance(command, C.SaveCheckpoint):
            return {"path": str(self.checkpoint(command.path))}
        elif isinstance(command, C.ExportSamples):
            return {"path": str(export_samples(self.trainer, command))}
        elif isinstance(command, C.Rewind):
            return self._rewind(command)
        elif isinstance(command, C.Evaluate):
            if self.state == RunState.DIVERGED:
                raise UserError("the run diverged; resume from a checkpoint, then evaluate")
            if not self.evaluate():
                raise UserError("an evaluation of this step is already done or under way")
        return None

    def _rewind(self, command: C.Rewind) -> dict:
        """Back to a checkpoint of this run: its weights, optimizers and random state. What was written after
        it moves to abandoned/ (metrics.csv keeps one row per step). The settings in force now stay in force,
        recorded after the rewind as the commands that set them, so a replay of the record trains the same."""
        target = self._rewind_target(command)
        candidates = [(s, p) for s, p in self.run_dir.step_checkpoints().items() if s <= target]
        if not candidates:
            raise UserError(f"no checkpoint of this run at or before step {target} (checkpoints/step-N.pt)")
        step, path = candidates[-1]
        state = load_checkpoint(path)
        self.publish()  # the abandoned branch's last rows reach the window before the rewind does
        before = self.trainer.settings
        from_step = self.trainer.step
        self.trainer.rewind(state)
        self._change_every_rank("rewind", state)
        self._hist_since_frame[:] = 0
        self.events = list(state["events"])
        abandoned = self.run_dir.rewind(step, self.events)
        self._discarded_evaluations |= {s for s in self._evaluated_at if s > step}
        self._evaluated_step, self._saved = -1, (-1, False)
        for cleared in self.health.reset():
            self.record(cleared)
        if self.state == RunState.DIVERGED:  # back before the NaN: paused, for the user to resume
            self.state, self._message = RunState.PAUSED, ""
        self._next_samples = 0.0
        return {"from_step": from_step, "to_step": step, "checkpoint": str(path.relative_to(self.run_dir.path)),
                "abandoned": str(abandoned.relative_to(self.run_dir.path)) if abandoned.exists() else None,
                "_keep": settings_commands(self.trainer.settings, before)}

    def _rewind_target(self, command: C.Rewind) -> int:
        """The last step a rewind may go back to."""
        if (command.to_step is None) == (command.to is None):
            raise UserError('a rewind needs to_step (a step number) or to = "last_healthy", not both')
        if command.to is not None:
            if command.to != "last_healthy":
                raise UserError(f'rewind to must be "last_healthy", got {command.to!r}')
            alerts = list(self.health.active.values())
            if alerts:
                return min(a.since for a in alerts) - 1
            raised = [e for e in self.events if e.get("kind") == EventKind.ALERT]
            if not raised:
                raise UserError("no health alert in this run to rewind before; give to_step instead")
            return int(raised[-1]["since"]) - 1
        if not (isinstance(command.to_step, int) and 0 <= command.to_step <= self.trainer.step):
            raise UserError(f"to_step must be a step from 0 to {self.trainer.step}, got {command.to_step!r}")
        return command.to_step

    def _rewind_automatically(self) -> None:
        """health.auto_rewind: answer a new alert by rewinding (and, with apply_suggestion, its suggested change)."""
        alert, self._auto_rewind_due = self._auto_rewind_due, None
        self._auto_rewinds += 1
        rewound = self.handle(C.Rewind(to="last_healthy"),
                              source=f"health.auto_rewind ({alert['name']} at step {alert['step']})")
        if rewound and self.trainer.cfg.health.apply_suggestion and alert.get("action"):
            self.handle(C.from_event(alert["action"]), source=f"health.apply_suggestion ({alert['name']})")

    def _observe_health(self, steps, scalars, quality, view) -> None:
        if view is not None:  # G's own samples of a few fixed z (not the average's, which moves on its own)
            data_range = 2.0 if view.grid is not None else 2 * view.extent
            fixed = self.trainer.generate(self.trainer.fixed_z[:16], average=False).float().cpu().numpy()
            self.health.observe_view(view.step, fixed / data_range)
        for event in self.health.update(self.trainer.step, steps, scalars, quality):
            self.record(event)
            auto = self.trainer.cfg.health.auto_rewind
            if event["kind"] == EventKind.ALERT and self._auto_rewinds < auto and self._auto_rewind_due is None:
                self._auto_rewind_due = event

    def record(self, event: dict) -> None:
        # as events.jsonl will hold it: plain JSON values (a StrEnum becomes its string), so checkpoints
        # carry no objects that weights_only loading refuses, and replays compare equal
        event = json.loads(json.dumps({"step": self.trainer.step, "wall_time": round(time.time(), 3), **event}))
        self.events.append(event)
        self._unpublished_events.append(event)
        self._next_publish = 0.0
        self._write(self.run_dir.append_event, event)

    def _write(self, write, *args) -> None:
        """Write to the run directory; if that fails (a full disk), pause (or stop, headless) and say so."""
        try:
            write(*args)
        except UserError as exc:
            if self._disk_problem:
                return
            self._disk_problem = str(exc)
            self._message = f"{exc}. Free some space, then resume."
            if self.wait_when_done:
                self.state = RunState.PAUSED if self.state == RunState.RUNNING else self.state
            else:
                self.stopping = True
            self.record({"kind": EventKind.ERROR, "reason": str(exc)})
            return
        if self._disk_problem:
            self._disk_problem = self._message = ""

    # --- files -----------------------------------------------------------------------------

    def _autosave(self, keep_step: bool = True) -> None:
        """A routine checkpoint: skipped for a diverged run, a failure recorded rather than raised."""
        self._next_autosave = time.monotonic() + 60 * self.trainer.cfg.train.autosave_minutes
        saved_step, with_step_file = self._saved
        if saved_step == self.trainer.step and (with_step_file or not keep_step):
            return
        try:
            self.checkpoint(keep_step=keep_step)
        except UserError as exc:
            if self.state != RunState.DIVERGED:
                self.record({"kind": EventKind.ERROR, "reason": str(exc)})

    def checkpoint(self, path: str | None = None, keep_step: bool = True) -> Path:
        """Save last.pt and step-N.pt (or only last.pt, or the given path). Never from a diverged state."""
        self._flush_metrics()
        if self.state == RunState.DIVERGED:
            raise UserError("not saving a checkpoint of a diverged run")
        state = {**self.trainer.state_dict(), "events": self.events, "train_seconds": self._active_s}
        if path:
            return save_checkpoint(state, path)
        saved = self.run_dir.save_checkpoint(state, self.trainer.step, keep_step)
        self._saved = (self.trainer.step, keep_step)
        return saved

    def _flush_metrics(self) -> None:
        steps, times, scalars = self.trainer.drain_statistics()
        if not len(steps):
            return
        self._write(self.run_dir.append_metrics, steps, times, scalars, self.trainer.settings)
        self._pending_scalars.append((steps, scalars))
        if self.state != RunState.DIVERGED and not all(np.isfinite(scalars[k]).all() for k in ("d_loss", "g_loss")):
            bad = int(steps[~(np.isfinite(scalars["d_loss"]) & np.isfinite(scalars["g_loss"]))][0])
            self.state = RunState.DIVERGED
            self.step_budget = 0
            self._message = f"Diverged: the loss became NaN or Inf at step {bad}. Paused; resume from a checkpoint."
            self.record({"kind": EventKind.DIVERGED, "at_step": bad})

    # --- publishing ------------------------------------------------------------------------------

    def _was_abandoned(self, step: int) -> bool:
        """An evaluation submitted before a rewind, of a step on the branch it abandoned: dropped once."""
        if step in self._discarded_evaluations:
            self._discarded_evaluations.discard(step)
            self._evaluated_at.pop(step, None)
            return True
        return False

    def _publish_if_due(self) -> None:
        now = time.monotonic()
        if now >= self._next_publish:
            self.publish(samples=now >= self._next_samples)

    def publish(self, samples: bool = False) -> Telemetry:
        now = time.monotonic()
        cfg = self.trainer.cfg.train
        self._next_publish = now + cfg.publish_every_s
        self._flush_metrics()
        hist_real, hist_fake = self.trainer.drain_histograms()
        self._hist_since_frame += np.stack([hist_real, hist_fake])
        view = None
        if samples:
            self._next_samples = now + cfg.samples_every_s
            view = sample_view(self.trainer, fresh=self.fresh_view)
            if not self.fresh_view:
                self._write(self.run_dir.append_frame, picture(self.trainer, view), view.step)
            if self._hist_since_frame.any():
                self._write(self.run_dir.append_histograms, self.trainer.step, self.trainer.hist_edges,
                            *self._hist_since_frame)
                self._hist_since_frame[:] = 0
        steps = np.concatenate([s for s, _ in self._pending_scalars]) if self._pending_scalars else np.zeros(0, int)
        scalars = {k: np.concatenate([sc[k] for _, sc in self._pending_scalars]) for k in
                   (self._pending_scalars[0][1] if self._pending_scalars else {})}
        self._pending_scalars = []
        self._rate_window.append((self._active_s, self.trainer.step))
        (t0, s0), (t1, s1) = self._rate_window[0], self._rate_window[-1]
        rate = (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0
        self._steps_per_s = rate if math.isfinite(rate) else 0.0
        quality = [{**r, "train_seconds": self._evaluated_at.pop(r["step"], None)}
                   for r in (self._evaluator.results() if self._evaluator else [])
                   if not self._was_abandoned(r["step"])]
        for result in quality:
            self._write(self.run_dir.append_quality, result)
        self._observe_health(steps, scalars, quality, view)
        telemetry = Telemetry(
            step=self.trainer.step, state=self.state, elapsed_s=self._active_s,
            steps_per_s=self._steps_per_s, settings=self.trainer.settings,
            steps=steps, scalars=scalars, hist_edges=self.trainer.hist_edges,
            hist_real=hist_real, hist_fake=hist_fake, samples=view,
            sigmas=self._sigma_probe(self.trainer.D) if samples else {}, events=tuple(self._unpublished_events),
            quality=tuple(quality),
            message=self._message, health=self.health.states(), info=self.info,
        )
        self._unpublished_events = []
        for publisher in self.publishers:
            publisher(telemetry)
        return telemetry

