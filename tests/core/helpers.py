"""Small helpers shared by the engine tests."""
import csv
import queue
import time

import torch

from core.base.files import read_json, read_jsonl
from core.protocol.commands import queue_inbox
from core.quality import features
from core.session import Session
from core.storage.rundir import RunDir
from core.training.trainer import Trainer


def run_session(cfg, run_dir, steps, commands=(), state=None, **kwargs):
    """Train `steps` steps in a Session, with `commands` already waiting in its inbox."""
    trainer = Trainer(cfg, "cpu")
    if state:
        trainer.load_state_dict(state)
    inbox = queue.Queue()
    for command in commands:
        inbox.put(command)

    session = Session(trainer, RunDir(run_dir), max_steps=trainer.step + steps,
                      events=state["events"] if state else (), **kwargs)
    session.run(queue_inbox(inbox))
    return session


def weights(trainer):
    modules = {"G": trainer.G, "D": trainer.D, "G_ema": trainer.G_ema}
    return {f"{name}.{k}": v.clone() for name, module in modules.items() if module is not None
            for k, v in module.state_dict().items()}


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def metrics_rows(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return list(csv.DictReader(f))


def wait_until(condition, timeout=60.0):
    """Poll `condition` until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def heartbeat(run) -> dict:
    return read_json(run / "live" / "heartbeat.json") or {}


def events(run) -> list[dict]:
    return read_jsonl(run / "events.jsonl")


def cache_a_quick_classifier(images, labels):
    """A classifier for this labeled set, trained in a second and cached where the evaluator finds it: for tests
    of what surrounds the scores, not of the classifier (a real one takes minutes on a laptop CPU)."""
    classifier = features.train_classifier(images, labels, epochs=1, min_steps=5)
    features.save_classifier(classifier, features.cached_classifier(images, labels))
    return classifier
