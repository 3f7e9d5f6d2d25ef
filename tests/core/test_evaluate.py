"""Scoring generators: the pipeline from a generator module to metrics, with the classifier it trains."""
import json

import numpy as np
import pytest
import torch
from torch import nn

from core import features
from core.config import Config, DataConfig, EvalConfig, validate
from core.data import load_dataset
from core.errors import CheckpointError, DataError
from core.evaluate import BackgroundEvaluator, Evaluator
from tests.core.helpers import run_session


class Replay(nn.Module):
    """A 'generator' that returns dataset samples: the best a GAN could do."""

    def __init__(self, data, keep=lambda labels: slice(None)):
        super().__init__()
        images = data.images if hasattr(data, "images") else None
        self.data = data
        self.pool = None if images is None else images[keep(data.labels)]
        self.scale = nn.Parameter(torch.ones(()))  # something to copy, like a real G

    def forward(self, z):
        if self.pool is None:
            return self.data.sample(len(z), torch.Generator().manual_seed(0)) * self.scale
        idx = torch.arange(len(z)) % len(self.pool)
        return self.pool[idx].float() / 127.5 - 1


@pytest.fixture(scope="module")
def digits():
    cfg = validate(Config(data=DataConfig(source="digits", n_samples=2000), eval=EvalConfig(n=500)))
    return cfg, load_dataset(cfg.data, 64)


def test_ring_samples_from_the_data_score_as_perfect():
    cfg = validate(Config(data=DataConfig(source="ring8"), eval=EvalConfig(n=2000)))
    data = load_dataset(cfg.data, 64)
    score = Evaluator(cfg, data, "cpu")(Replay(data), step=5)
    assert score["step"] == 5 and score["modes_covered"] == 8
    assert score["high_quality_rate"] > 0.98 and score["reverse_kl"] < 0.01


def test_real_digits_cover_every_class_and_one_digit_covers_one(digits):
    cfg, data = digits
    log = []
    evaluator = Evaluator(cfg, data, "cpu", log=log.append)
    real = evaluator(Replay(data), step=0)
    assert real["features"] == "classifier" and real["classifier_accuracy"] > 0.9
    assert real["classes_present"] == 10 and real["class_kl"] < 0.05
    assert real["fid"] < 5 and real["precision"] > 0.8 and real["recall"] > 0.8
    ones = evaluator(Replay(data, keep=lambda labels: labels == 1), step=1)
    assert ones["classes_present"] <= 2 and ones["class_kl"] > 1.5  # a few of its ones pass for sevens
    assert ones["fid"] > 10 * real["fid"] and ones["recall"] < 0.3
    assert len(log) == 2  # trained once (and said so), then reused
    again = Evaluator(cfg, data, "cpu", log=log.append)(Replay(data), step=0)
    assert len(log) == 2 and again["fid"] == pytest.approx(real["fid"])  # read from the cache


def test_a_corrupt_cached_classifier_is_not_trusted(digits):
    cfg, data = digits
    classifier = features.load_or_train_classifier(data.images, data.labels)
    good = classifier.path.read_bytes()
    classifier.path.write_bytes(b"not a checkpoint")
    log = []
    try:
        with pytest.raises(InterruptedError):  # stopped as soon as it starts retraining
            features.load_or_train_classifier(data.images, data.labels, should_stop=lambda: True, log=log.append)
    finally:
        classifier.path.write_bytes(good)
    assert any("training a classifier" in line for line in log)


def test_unlabeled_images_say_why_there_are_no_feature_metrics(digits):
    cfg, data = digits
    unlabeled = type(data)(data.name, data.images, None)
    score = Evaluator(cfg, unlabeled, "cpu")(Replay(data), step=0)
    assert score["features"] is None and "no labels" in score["note"] and "fid" not in score


def test_inception_features_from_a_local_file(tmp_path, digits):
    from torchvision.models import inception_v3

    path = tmp_path / "inception.pth"
    torch.save(inception_v3(weights=None, aux_logits=True, init_weights=False).state_dict(), path)
    extractor = features.InceptionFeatures(str(path), "cpu")
    out = extractor.features(digits[1].images[:3])
    assert out.shape == (3, 2048) and np.isfinite(out).all()


def test_inception_weights_that_are_missing_or_wrong_are_named(tmp_path):
    with pytest.raises(DataError, match="no weights file"):
        features.InceptionFeatures(str(tmp_path / "absent.pth"), "cpu")
    wrong = tmp_path / "wrong.pth"
    torch.save({"conv.weight": torch.zeros(3)}, wrong)
    with pytest.raises(CheckpointError, match="Inception-v3"):
        features.InceptionFeatures(str(wrong), "cpu")


def test_background_evaluation_scores_a_snapshot_and_closes(digits):
    cfg, data = digits
    background = BackgroundEvaluator(Evaluator(cfg, data, "cpu"))
    generator = Replay(data)
    assert background.submit(generator, 7)
    generator.pool = generator.pool[:0]  # the live model changes; the snapshot does not
    background.wait()
    (result,) = background.results()
    assert result["step"] == 7 and result["classes_present"] == 10
    background.close()
    assert not background._thread.is_alive()


def test_training_writes_quality_every_n_steps(tmp_path, tiny_ring_config):
    cfg = tiny_ring_config()
    cfg.eval.every, cfg.eval.n = 20, 200
    published = []
    run_session(cfg, tmp_path, 50, publish=published.append)
    lines = [json.loads(line) for line in (tmp_path / "quality.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in lines]
    assert steps in ([20, 40, 50], [20, 50])  # and the last step, once done; 40 is skipped if 20 is still busy
    assert all(0 <= r["modes_covered"] <= 8 for r in lines)
    assert [r["step"] for t in published for r in t.quality] == steps
