"""The parts of a session, each on its own and without training: run control, the dispatcher, the
checkpoint policy, the evaluation schedule and the command intake. Milliseconds each."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from core.base.errors import UserError
from core.config import Config, TrainConfig, EvalConfig
from core.protocol import commands as C
from core.protocol.states import RunState
from core.protocol.telemetry import STAT_NAMES, Settings
from core.session.checkpointing import CheckpointPolicy
from core.session.control import RunControl
from core.session.dispatch import Dispatcher
from core.session.evaluation import EvaluationSchedule
from core.session.intake import CommandIntake
from core.session.metrics_log import MetricsLog
from core.session.parts import TrainingTime
from core.session.record import RunRecord
from core.storage.inbox import append_command
from core.storage.rundir import RunDir
from core.training.checkpoint import load_checkpoint

SETTINGS = Settings(1.0, 1.0, True, 2e-4, 2e-4, 1, 1)


# --- run control -------------------------------------------------------------------------------

def test_pause_resume_and_step_n():
    control = RunControl(max_steps=100)
    assert control.state == RunState.RUNNING and control.should_step()
    control.pause()
    assert control.state == RunState.PAUSED and not control.should_step()
    assert control.step(3) is None  # paused already: nothing to say
    assert control.should_step()  # three steps to take, paused
    assert [control.took(1) for _ in range(3)] == [False, False, True]  # the budget runs out at the third step
    assert not control.should_step() and control.state == RunState.PAUSED
    control.resume()
    assert control.step(2) == {"paused": True} and control.state == RunState.PAUSED  # Step N pauses a running run


def test_a_step_count_must_be_a_positive_integer():
    control = RunControl()
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(UserError, match="positive integer"):
            control.step(bad)
    assert control.step_budget == 0


def test_reaching_max_steps_finishes_and_headless_ends_while_a_window_waits():
    headless, window = RunControl(max_steps=10), RunControl(max_steps=10, wait_when_done=True)
    for control in (headless, window):
        assert not control.reached(9) and control.reached(10)
        control.finish()
        assert control.state == RunState.DONE and not control.reached(10)
    assert headless.stopping and not window.stopping and not window.should_step()
    window.step(5)  # a done run can step on
    assert window.should_step()
    window.resume()  # and resumed it trains without a limit
    assert window.state == RunState.RUNNING and window.max_steps is None


def test_a_diverged_run_refuses_to_go_on_until_it_is_rewound():
    control = RunControl()
    control.diverge(42)
    assert control.state == RunState.DIVERGED and "step 42" in control.message and not control.should_step()
    for command in (control.resume, lambda: control.step(1)):
        with pytest.raises(UserError, match="diverged at step 42"):
            command()
    control.rewound()
    assert control.state == RunState.PAUSED and control.message == ""
    control.resume()
    assert control.should_step()


def test_a_failed_write_pauses_a_window_and_stops_headless():
    window, headless = RunControl(wait_when_done=True), RunControl()
    window.write_failed("disk full")
    headless.write_failed("disk full")
    assert window.state == RunState.PAUSED and not window.stopping and window.message == "disk full"
    assert headless.stopping and headless.close() == RunState.STOPPED


def test_closing_keeps_done_and_diverged_and_calls_the_rest_stopped():
    done, diverged, running = RunControl(max_steps=1), RunControl(), RunControl()
    done.finish()
    diverged.diverge(3)
    assert (done.close(), diverged.close(), running.close()) == (RunState.DONE, RunState.DIVERGED, RunState.STOPPED)


# --- the dispatcher ------------------------------------------------------------------------------

@pytest.fixture
def record(tmp_path):
    return RunRecord(RunDir(tmp_path), RunControl(), lambda: 7)


def written(record):
    return [json.loads(line) for line in record.run_dir.events_path.read_text().splitlines()]


def test_a_handled_command_is_echoed_with_what_its_handler_says(record):
    dispatcher = Dispatcher(record)
    dispatcher.register(C.SetNDis, lambda command: {"n_dis": command.n_dis * 1})
    assert dispatcher.handle(C.SetNDis(3), source="commands.jsonl:4")
    (event,) = written(record)
    assert {k: event[k] for k in ("step", "kind", "n_dis", "source")} == {
        "step": 7, "kind": "set_n_dis", "n_dis": 3, "source": "commands.jsonl:4"}


def test_a_refused_command_is_recorded_with_its_reason_and_a_bug_is_not_caught(record):
    dispatcher = Dispatcher(record)

    def refuse(command):
        raise UserError("n_dis must be an integer from 1 to 100, got 0")

    def bug(command):
        raise KeyError("a programming error")

    dispatcher.register(C.SetNDis, refuse)
    dispatcher.register(C.Pause, bug)
    assert not dispatcher.handle(C.SetNDis(0))
    assert written(record)[-1] | {"wall_time": 0} == {"step": 7, "wall_time": 0, "kind": "rejected",
                                                        "command": "set_n_dis",
                                                        "reason": "n_dis must be an integer from 1 to 100, got 0"}
    with pytest.raises(KeyError):
        dispatcher.handle(C.Pause())


def test_queued_commands_and_their_follow_ups_run_in_order_and_only_after_success(record):
    dispatcher, done = Dispatcher(record), []
    dispatcher.register(C.SetNDis, lambda command: done.append(command.n_dis))

    def rewind(command):
        if command.to_step is None:
            raise UserError("no checkpoint")
        dispatcher.enqueue(C.SetNDis(2), "kept", first=True)  # what the handler queues runs right after it
        done.append("rewind")

    dispatcher.register(C.Rewind, rewind)
    dispatcher.enqueue(C.Rewind(to_step=1), "auto", then=[(C.SetNDis(3), "suggested")])
    dispatcher.enqueue(C.Rewind(to="last_healthy"), "auto", then=[(C.SetNDis(9), "never")])
    dispatcher.run_queued()
    assert done == ["rewind", 2, 3]
    assert [(e["kind"], e.get("source")) for e in written(record)] == [
        ("rewind", "auto"), ("set_n_dis", "kept"), ("set_n_dis", "suggested"), ("rejected", "auto")]


# --- the checkpoint policy -------------------------------------------------------------------------

class FakeTrainer:
    """What the parts read of a trainer: its step, recipe, settings and state (no models here)."""

    def __init__(self, cfg):
        self.cfg, self.step, self.settings = cfg, 0, SETTINGS
        self.pending = 0

    def state_dict(self):
        return {"step": self.step, "config": self.cfg.to_dict(), "G": {}, "D": {}, "opt_g": {}, "opt_d": {},
                "sn_layers": [], "rng": {}, "fixed_z": torch.zeros(1)}

    def drain_statistics(self):
        n, self.pending = self.pending, 0
        steps = np.arange(self.step - n + 1, self.step + 1)
        return steps, np.full(n, 1.0), {name: np.full(n, 0.5, np.float32) for name in STAT_NAMES}


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def fake_session(tmp_path, **train):
    cfg = Config(train=TrainConfig(checkpoint_every=10, autosave_minutes=1.0, **train), eval=EvalConfig(every=5, early=0))
    trainer = FakeTrainer(cfg)
    control = RunControl()
    record = RunRecord(RunDir(tmp_path), control, lambda: trainer.step)
    session = SimpleNamespace(trainer=trainer, control=control, record=record, run_dir=record.run_dir,
                              time=TrainingTime(0.0))
    session.metrics = MetricsLog(trainer, record)
    return session


def checkpoint_policy(session, clock) -> CheckpointPolicy:
    return CheckpointPolicy(session.trainer, session.run_dir, session.record, session.control, session.metrics,
                            session.time, clock)


def evaluation_schedule(session, evaluator) -> EvaluationSchedule:
    return EvaluationSchedule(session.trainer, session.control, session.record, session.run_dir, session.time,
                              lambda trainer: evaluator)


def saved_steps(tmp_path):
    return sorted(int(p.stem.split("-")[1]) for p in (tmp_path / "checkpoints").glob("step-*.pt"))


def test_step_checkpoints_come_every_n_steps_and_last_pt_at_least_every_autosave_interval(tmp_path):
    session, clock = fake_session(tmp_path), Clock()
    policy = checkpoint_policy(session, clock)
    for step in range(1, 26):
        session.trainer.step = step
        clock.now = step * 10.0  # ten seconds a step: last.pt is due six steps after the last save
        policy.after_steps()
        if step == 17:
            assert load_checkpoint(tmp_path / "checkpoints" / "last.pt")["step"] == 16
    assert saved_steps(tmp_path) == [10, 20]
    assert load_checkpoint(tmp_path / "checkpoints" / "last.pt")["step"] == 20
    policy.on_close()  # step 25, not saved yet: last.pt and step-25.pt
    assert saved_steps(tmp_path) == [10, 20, 25]


def test_a_step_already_saved_is_not_saved_again(tmp_path):
    session = fake_session(tmp_path)
    policy = checkpoint_policy(session, Clock())
    session.trainer.step = 10
    policy.after_steps()
    mtime = (tmp_path / "checkpoints" / "step-10.pt").stat().st_mtime_ns
    policy.on_close()
    assert (tmp_path / "checkpoints" / "step-10.pt").stat().st_mtime_ns == mtime


def test_a_diverged_run_is_never_saved_and_the_saves_carry_the_events_and_seconds(tmp_path):
    session = fake_session(tmp_path)
    policy = checkpoint_policy(session, Clock())
    session.record.record({"kind": "pause"})
    session.time.seconds = 12.5
    state = load_checkpoint(policy.save())
    assert [e["kind"] for e in state["events"]] == ["pause"] and state["train_seconds"] == 12.5
    session.control.diverge(1)
    with pytest.raises(UserError, match="diverged"):
        policy.save()
    session.trainer.step = 10
    policy.after_steps()  # routine saves of a diverged run are skipped, not errors
    assert saved_steps(tmp_path) == [0]


def test_a_checkpoint_that_cannot_be_written_is_a_user_error(tmp_path):
    session = fake_session(tmp_path)
    (tmp_path / "blocker").write_text("a file, not a folder")
    with pytest.raises(UserError, match="could not save a checkpoint"):
        checkpoint_policy(session, Clock()).save(str(tmp_path / "blocker" / "x.pt"))


# --- the evaluation schedule -----------------------------------------------------------------------

class FakeEvaluator:
    """Scores instantly: each submitted step comes back as a result; while busy, the last one submitted
    waits and only a replacement takes its place."""

    def __init__(self, busy=False):
        self.submitted, self.busy, self.closed, self.quick = [], busy, False, []

    def submit(self, G, step, quick=False, replace=False):
        if self.busy and not replace:
            return None
        replaced = self.busy and bool(self.submitted)
        if replaced:
            self.submitted.pop()
        self.submitted.append(step)
        self.quick += [step] if quick else []
        return "replaced" if replaced else "queued"

    def results(self):
        out, self.submitted = [{"step": s, "score": s / 10} for s in self.submitted], []
        return out

    def wait(self):
        pass

    def close(self):
        self.closed = True


def test_evaluations_come_every_n_steps_at_the_end_and_on_request(tmp_path):
    session = fake_session(tmp_path)
    session.trainer.sampler = None
    evaluator = FakeEvaluator()
    schedule = evaluation_schedule(session, evaluator)
    for step in range(1, 13):
        session.trainer.step, session.time.seconds = step, step * 2.0
        schedule.after_steps()
    assert [r["step"] for r in schedule.take_results()] == [5, 10]
    schedule.on_finish()
    with pytest.raises(UserError, match="already done"):
        schedule.on_request(C.Evaluate())  # step 12 was just scored
    rows = schedule.take_results()
    assert rows == [{"step": 12, "score": 1.2, "train_seconds": 24.0}]
    assert [json.loads(line)["step"] for line in (tmp_path / "quality.jsonl").read_text().splitlines()] == [5, 10, 12]
    schedule.on_close()
    assert evaluator.closed


def test_a_runs_final_score_takes_the_place_of_one_still_waiting(tmp_path):
    session = fake_session(tmp_path)
    session.trainer.sampler = None
    evaluator = FakeEvaluator()
    schedule = evaluation_schedule(session, evaluator)
    session.trainer.step, session.time.seconds = 5, 5.0
    schedule.after_steps()
    evaluator.busy = True  # step 5 still waits for its turn
    session.trainer.step, session.time.seconds = 10, 10.0
    schedule.after_steps()  # refused: one waits already
    session.trainer.step, session.time.seconds = 12, 12.0
    schedule.on_finish()
    assert schedule.take_results() == [{"step": 12, "score": 1.2, "train_seconds": 12.0}]


def test_scores_of_a_branch_a_rewind_abandoned_are_dropped(tmp_path):
    session = fake_session(tmp_path)
    session.trainer.sampler = None
    evaluator = FakeEvaluator()
    schedule = evaluation_schedule(session, evaluator)
    for step in (5, 10, 15):
        session.trainer.step, session.time.seconds = step, float(step)
        schedule.after_steps()
    schedule.on_rewind(7)  # 10 and 15 were on the branch abandoned, and are still being scored
    session.trainer.step, session.time.seconds = 10, 99.0
    schedule.after_steps()  # the new branch's step 10
    assert schedule.take_results() == [{"step": 5, "score": 0.5, "train_seconds": 5.0},
                                       {"step": 10, "score": 1.0, "train_seconds": 99.0}]


def test_a_new_run_is_scored_early_and_then_every_n_steps(tmp_path):
    session = fake_session(tmp_path)
    session.trainer.cfg.eval.every, session.trainer.cfg.eval.early = 1000, 3
    evaluator = FakeEvaluator()
    schedule = evaluation_schedule(session, evaluator)
    assert [s for s in range(1, 3001) if schedule.due(s)] == [125, 250, 500, 1000, 2000, 3000]
    assert schedule.next_due == 125
    session.trainer.sampler = None
    for step in range(1, 1001):
        session.trainer.step = step
        schedule.after_steps()
        evaluator.results()
    assert evaluator.quick == [125, 250, 500]  # the early scores are the quick ones
    session.trainer.step = 600
    assert schedule.next_due == 1000
    session.trainer.cfg.eval.every = 0
    assert schedule.next_due is None and not schedule.due(1000)


# --- the command intake ----------------------------------------------------------------------------

def test_commands_come_from_the_queue_then_the_file_then_the_inbox_then_the_replay(tmp_path):
    session = fake_session(tmp_path, publish_every_s=0.0)
    session.dispatcher = Dispatcher(session.record)
    order = []
    for kind in (C.SetNDis, C.Pause, C.Resume, C.SetMargins):
        session.dispatcher.register(kind, lambda command, kind=kind: order.append(kind.kind))
    replay = [{"step": 3, "kind": "set_margins", "margin_real": 1, "margin_fake": 1},
              {"step": 0, "kind": "pause"}]  # a pause is not replayed
    intake = CommandIntake(session.trainer, session.run_dir, session.record, session.control, session.dispatcher,
                           replay)
    session.dispatcher.enqueue(C.SetNDis(2), "queued")
    append_command(tmp_path, C.Pause())
    inbox = iter([C.Resume(), None])
    intake.take(lambda wait: next(inbox), wait=0.0)
    assert order == ["set_n_dis", "pause", "resume"]
    session.trainer.step = 3
    intake.take(None, wait=0.0)
    assert order[-1] == "set_margins" and intake.next_replayed_step is None
