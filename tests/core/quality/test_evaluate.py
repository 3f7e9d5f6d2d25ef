"""Scoring generators: the pipeline from a generator module to metrics, with the classifier it trains."""
import copy
import json

import pytest
import torch
from torch import nn

from core.quality import features
from core.training.checkpoint import load_checkpoint
from core.config import Config, DataConfig, EvalConfig, validate
from core.training.data import load_dataset
from core.quality.evaluator import BackgroundEvaluator, Evaluator
from tests.core.helpers import cache_a_quick_classifier, run_session


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
    """The embedded digits, whose classifier ships with the package: nothing here trains one."""
    cfg = validate(Config(data=DataConfig(source="digits"), eval=EvalConfig(n=500)))
    return cfg, load_dataset(cfg.data, 64)


def test_ring_samples_from_the_data_score_as_perfect():
    cfg = validate(Config(data=DataConfig(source="ring8"), eval=EvalConfig(n=2000)))
    data = load_dataset(cfg.data, 64)
    score = Evaluator(cfg, data, "cpu")(Replay(data), step=5)
    assert score["step"] == 5 and score["modes_covered"] == 8
    assert score["high_quality_rate"] > 0.98 and score["reverse_kl"] < 0.01


@pytest.mark.slow
def test_real_digits_cover_every_class_and_one_digit_covers_one(digits):
    cfg, data = digits
    log = []
    evaluator = Evaluator(cfg, data, "cpu", log=log.append)
    real = evaluator(Replay(data), step=0)
    assert real["features"] == "classifier" and real["classifier_accuracy"] > 0.9 and "fid" not in real
    assert real["classes_present"] == 10 and real["class_kl"] < 0.05
    assert real["fid_cnn"] < 5 and real["precision_cnn"] > 0.8 and real["recall_cnn"] > 0.8
    ones = evaluator(Replay(data, keep=lambda labels: labels == 1), step=1)
    assert ones["classes_present"] <= 2 and ones["class_kl"] > 1.5  # a few of its ones pass for sevens
    assert ones["fid_cnn"] > 10 * real["fid_cnn"] and ones["recall_cnn"] < 0.3
    assert 0 < real["fid_cnn_floor"] == ones["fid_cnn_floor"] < ones["fid_cnn"] / 10  # real vs real: the scale
    assert real["confident_share"] > 0.9
    assert not any("training a classifier" in line for line in log)  # the shipped one


def test_a_corrupt_cached_classifier_is_not_trusted(digits):
    cfg, data = digits
    images, labels = data.images[:300], data.labels[:300]
    cached = cache_a_quick_classifier(images, labels)
    found = features.load_or_train_classifier(images, labels, should_stop=lambda: True)  # nothing trains
    assert found.path == cached.path
    cached.path.write_bytes(b"not a checkpoint")
    log = []
    with pytest.raises(InterruptedError):  # stopped as soon as it starts training again
        features.load_or_train_classifier(images, labels, should_stop=lambda: True, log=log.append)
    assert any("training a classifier" in line for line in log)


class ConditionalReplay(nn.Module):
    """A class-conditional 'generator' returning a real image of the class its latent asks for, plus shift."""

    def __init__(self, data, z_dim, shift=0):
        super().__init__()
        self.data, self.z_dim, self.shift = data, z_dim, shift

    def forward(self, latents):
        wanted = (latents[:, self.z_dim:].argmax(1) + self.shift) % 10
        pools = [self.data.images[self.data.labels == k] for k in range(10)]
        return torch.stack([pools[k][i % len(pools[k])] for i, k in enumerate(wanted.tolist())]).float() / 127.5 - 1


@pytest.mark.slow
def test_a_class_conditional_generator_is_scored_on_drawing_the_class_asked(digits):
    cfg, data = digits
    conditional = copy.deepcopy(cfg)
    conditional.model.classes = 10
    evaluator = Evaluator(conditional, data, "cpu")
    obeys = evaluator(ConditionalReplay(data, cfg.model.z_dim), step=0)
    swaps = evaluator(ConditionalReplay(data, cfg.model.z_dim, shift=1), step=0)
    assert obeys["asked_class_share"] > 0.9 and swaps["asked_class_share"] < 0.1
    assert obeys["class_kl"] < 0.05 and swaps["class_kl"] < 0.05  # balanced either way: only the new score tells
    assert "asked_class_share" not in Evaluator(cfg, data, "cpu")(Replay(data), step=0)


def test_unlabeled_images_say_why_there_are_no_feature_metrics(digits):
    cfg, data = digits
    unlabeled = type(data)(data.name, data.images, None)
    score = Evaluator(cfg, unlabeled, "cpu")(Replay(data), step=0)
    assert score["features"] is None and "no labels" in score["note"] and not any(k.startswith("fid") for k in score)


def test_background_evaluation_scores_a_snapshot_and_closes(digits):
    cfg, data = digits
    background = BackgroundEvaluator(Evaluator(cfg, data, "cpu"))
    generator = Replay(data)
    assert background.submit(generator, 7)
    generator.pool = generator.pool[:0]  # the live model changes; the snapshot does not
    background.wait()
    (result,) = background.results()
    assert result["step"] == 7 and result["classes_present"] == 10
    assert not background.running and background._thread is None  # no idle thread left between scores
    assert background.submit(generator, 8)
    background.close()
    assert background._thread is None or not background._thread.is_alive()


def test_a_quick_score_reads_the_classes_of_fewer_samples(digits):
    cfg, data = digits
    evaluator = Evaluator(cfg, data, "cpu")
    generator = Replay(data, keep=lambda labels: labels < 7)
    quick, full = evaluator(generator, 1, quick=True), evaluator(generator, 1)
    assert quick["quick"] and quick["n"] == 500 and "quick" not in full
    assert not any(key.startswith(("fid", "kid", "precision", "recall", "diversity")) for key in quick)
    assert quick["classes_present"] == full["classes_present"] == 7
    assert quick["confident_share"] == pytest.approx(full["confident_share"], abs=0.02)


def test_training_writes_quality_every_n_steps(tmp_path, tiny_ring_config):
    cfg = tiny_ring_config()
    cfg.eval.every, cfg.eval.n, cfg.eval.early = 20, 200, 1
    published = []
    session = run_session(cfg, tmp_path, 50, publish=published.append)
    lines = [json.loads(line) for line in (tmp_path / "quality.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in lines]
    # every/2 first, then every 20 and the last step; a step is skipped if the one before is still being scored
    assert steps[0] == 10 and steps[-1] == 50 and set(steps) <= {10, 20, 40, 50}
    final = Evaluator(cfg, session.trainer.data, "cpu")(session.trainer.sampler, 50)
    timeless = lambda result: {k: v for k, v in result.items() if k not in ("eval_seconds", "train_seconds")}  # noqa: E731
    assert timeless(lines[-1]) == timeless(final)  # the record holds the final generator's own scores
    assert [r["step"] for t in published for r in t.quality] == steps


@pytest.mark.slow
def test_training_a_classifier_leaves_the_global_rng_alone(digits):
    cfg, data = digits
    before = torch.get_rng_state()
    classifier = features.train_classifier(data.images[:300], data.labels[:300], epochs=1, min_steps=5)
    assert torch.equal(before, torch.get_rng_state())
    again = features.train_classifier(data.images[:300], data.labels[:300], epochs=1, min_steps=5)
    for a, b in zip(classifier.net.state_dict().values(), again.net.state_dict().values()):
        assert torch.equal(a, b)  # its own generator still makes it reproducible


@pytest.mark.slow
def test_an_evaluation_during_training_changes_nothing_a_replay_or_resume_reproduces(tmp_path, tiny_digits_config):
    """Spectral norm switched on after an evaluation draws its vectors from the global RNG: a live run
    with evaluations, its replay without them, and a resume from its checkpoint must agree bit for bit."""
    from core.config import from_dict
    from core.storage.rundir import RunDir
    from core.session import Session
    from tests.core.helpers import assert_same_weights, weights

    def config(evaluate_every):
        cfg = tiny_digits_config()
        cfg.model.spectral_norm = False
        cfg.eval.every, cfg.eval.n = evaluate_every, 100
        return cfg

    switch = [{"step": 5, "kind": "set_spectral_norm", "enabled": True}]
    tiny = load_dataset(config(5).data, 64)
    cache_a_quick_classifier(tiny.images, tiny.labels)  # what is scored does not matter here, only when
    first = run_session(config(5), tmp_path / "live", 5)  # headless: its end waits for the evaluation of step 5
    scores = [json.loads(line) for line in (tmp_path / "live" / "quality.jsonl").read_text().splitlines()]
    assert scores[-1]["step"] == 5 and {r["step"] for r in scores} <= {1, 2, 5}  # 1, 2: early scores
    assert scores[-1]["classes_present"] >= 0 and "fid_cnn" in scores[-1]
    checkpoint = load_checkpoint(tmp_path / "live" / "checkpoints" / "last.pt")
    live = Session(first.trainer, RunDir(tmp_path / "live"), max_steps=15, replay=switch)
    live.run()

    replayed = run_session(config(0), tmp_path / "replay", 15,
                           replay=[json.loads(x) for x in (tmp_path / "live" / "events.jsonl").read_text().splitlines()])
    assert_same_weights(weights(live.trainer), weights(replayed.trainer))
    resumed = run_session(from_dict(checkpoint["config"]), tmp_path / "resumed", 10, state=checkpoint, replay=switch)
    assert resumed.trainer.step == 15
    assert_same_weights(weights(live.trainer), weights(resumed.trainer))


def test_a_stopped_evaluation_gives_up_at_its_next_stage(digits):
    """A session that ends mid-evaluation must not leave torch work running in a thread at exit (the
    process aborted with 'terminate called without an active exception')."""
    cfg, data = digits
    evaluator = Evaluator(cfg, data, "cpu", n=1500)
    calls = []

    class StopsAfterOneChunk(Replay):
        def forward(self, z):
            calls.append(len(z))
            evaluator.stop()  # as BackgroundEvaluator.close does, from another thread
            return super().forward(z)

    with pytest.raises(InterruptedError):
        evaluator(StopsAfterOneChunk(data), step=3)
    assert calls == [1000]


def test_the_embedded_digits_classifier_is_shipped_so_a_new_run_is_scored_at_once():
    """tests/benchmarks/ship_classifier.py writes it; this fails when the digits or the classifier changed
    and it was not run again."""
    from core.config import resolve
    from core.training.data import load_dataset

    bank = load_dataset(resolve("digits").data, 64)
    shipped = features.shipped_classifier(features._fingerprint(bank.images, bank.labels))
    assert shipped.is_file(), "no shipped classifier for today's embedded digits: run tests/benchmarks/ship_classifier.py"
    classifier = features.load_or_train_classifier(bank.images, bank.labels, should_stop=lambda: True)  # no training
    assert classifier.path == shipped and classifier.accuracy > 0.99
    sample = bank.images[:500]
    assert (classifier.predict(sample) == bank.labels[:500].numpy()).mean() > 0.99
