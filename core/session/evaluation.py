"""When a session scores its generator: every eval.every steps, at the end, and on request; each score in
the background on a snapshot of G, written to quality.jsonl with the training seconds it was taken at."""
from __future__ import annotations

import collections

from core.base.errors import UserError
from core.protocol.states import RunState
from core.quality.evaluator import BackgroundEvaluator, Evaluator
from core.session.parts import Part


def background_evaluator(trainer) -> BackgroundEvaluator:
    return BackgroundEvaluator(Evaluator(trainer.cfg, trainer.data, trainer.device))


class EvaluationSchedule(Part):
    def __init__(self, trainer, control, record, run_dir, time_trained, start_evaluator=background_evaluator):
        self.trainer, self.control, self.record, self.run_dir = trainer, control, record, run_dir
        self.time_trained = time_trained
        self._start_evaluator = start_evaluator  # trainer -> an evaluator with submit, results, wait and close
        self._evaluator: BackgroundEvaluator | None = None  # started at the first evaluation
        self._evaluated_step = -1
        self._submitted: collections.deque = collections.deque()  # [step, training seconds, abandoned], in order

    @property
    def every(self) -> int:
        return self.trainer.cfg.eval.every

    @property
    def early_steps(self) -> list[int]:
        """every/2, every/4, ...: scores before the first regular one, while a new run is changing fastest."""
        early = self.trainer.cfg.eval.early
        return sorted({self.every >> k for k in range(1, early + 1)} - {0}) if self.every else []

    def due(self, step: int) -> bool:
        return bool(self.every) and (step % self.every == 0 or step in self.early_steps)

    @property
    def next_due(self) -> int | None:
        """The next step a score is scheduled at (None: only on request)."""
        if not self.every:
            return None
        step = self.trainer.step
        later = [s for s in self.early_steps if s > step]
        return later[0] if later else (step // self.every + 1) * self.every

    @property
    def note(self) -> str | None:
        """What the next score waits for, when it waits for more than G: the dataset's classifier training."""
        share = self._evaluator.evaluator.training_classifier if self._evaluator is not None else None
        if share is None:
            return None
        return (f"Training the classifier the image scores read with, once for this dataset: {share:.0%} done "
                "(kept when the run stops, and taken up again at the next).")

    def after_steps(self) -> None:
        step = self.trainer.step
        if self.due(step):
            self.evaluate(quick=step in self.early_steps and step % self.every != 0)

    def on_finish(self) -> None:
        if self.every:
            self.evaluate(final=True)

    def on_request(self, command) -> None:
        if self.control.state == RunState.DIVERGED:
            raise UserError("the run diverged; resume from a checkpoint, then evaluate")
        if not self.evaluate():
            raise UserError("an evaluation of this step is already done or under way")

    def evaluate(self, quick: bool = False, final: bool = False) -> bool:
        """Score a snapshot of G in the background (quick: an early score, the classes only); False when one
        is already waiting or this step was scored. A final score takes the place of one still waiting."""
        t = self.trainer
        if self._evaluated_step == t.step or self.control.state == RunState.DIVERGED:
            return False
        if self._evaluator is None:
            self._evaluator = self._start_evaluator(t)
        queued = self._evaluator.submit(t.sampler, t.step, quick, replace=final)
        if queued == "replaced":
            self._submitted.pop()
        if queued:
            self._evaluated_step = t.step
            self._submitted.append([t.step, round(self.time_trained.seconds, 3), False])
        return queued

    def take_results(self) -> list[dict]:
        """The scores finished since the last take (those of an abandoned branch dropped), written to
        quality.jsonl."""
        if self._evaluator is None:
            return []
        out = []
        for result in self._evaluator.results():  # in the order they were submitted
            step, seconds, abandoned = self._submitted.popleft()
            if not abandoned:
                out.append({**result, "train_seconds": seconds})
                self.record.write(self.run_dir.append_quality, out[-1])
        return out

    def on_rewind(self, step: int) -> None:
        for submitted in self._submitted:
            submitted[2] = submitted[2] or submitted[0] > step
        self._evaluated_step = -1

    def on_close(self) -> None:
        if self._evaluator is not None:
            if self.control.state == RunState.DONE and not self.control.wait_when_done:
                self._evaluator.wait()  # headless: the final score belongs in quality.jsonl
            self._evaluator.close()
