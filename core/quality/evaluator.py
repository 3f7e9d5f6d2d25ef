"""Scoring a generator against its dataset, on demand (`hinge-train eval`) or in the background while
training (every `eval.every` steps, on a copy of G so the training step never waits for it).
"""
from __future__ import annotations

import copy
import ctypes
import queue
import threading
import time

import numpy as np
import torch

from core.quality import metrics
from core.quality.features import InceptionFeatures, load_or_train_classifier
from core.training.data import ImageBank, PointMixture
from core.training.views import to_uint8_images
from core.training.models import asked_classes, latent
from core.base.cpu import run_in_background

EVAL_SEED = 1234  # the z of every evaluation, so successive scores differ only by the generator
QUICK_N = 500  # samples an early score reads (class coverage only)


class Evaluator:
    """PacGAN's metrics for 2D mixtures; FID, KID, precision/recall and class coverage for images.

    Image features come from Inception-v3 when eval.inception names a weights file, otherwise from a
    small classifier trained on the dataset's labels (cached); unlabeled data without Inception weights
    gets no feature metrics, and says so.
    """

    def __init__(self, cfg, data, device, n: int | None = None, log=lambda text: None, seed: int = EVAL_SEED):
        self.cfg, self.data, self.device, self.log, self.seed = cfg, data, torch.device(device), log, seed
        self.n = n or cfg.eval.n
        self.stopped = False
        self._extractor = self._classifier = None
        self._real_features = None
        self._floor = None
        self.training_classifier: float | None = None  # the share done while the dataset's classifier trains

    def stop(self) -> None:
        """Ask a long first evaluation (a classifier still training) to give up."""
        self.stopped = True

    @torch.no_grad()
    def generate(self, G: torch.nn.Module, n: int | None = None) -> torch.Tensor:
        was_training = G.training
        G.eval()
        try:
            z_gen = torch.Generator(self.device).manual_seed(self.seed)
            chunks = []
            for z in latent(self.cfg.model, n or self.n, z_gen, self.device, balanced=True).split(1000):
                self._check()
                chunks.append(G(z))
        finally:
            G.train(was_training)
        return torch.cat(chunks)

    def _check(self) -> None:
        """Give up between stages once stopped: a session that ends must not leave torch work running."""
        if self.stopped:
            raise InterruptedError("evaluation stopped")

    def _features(self, images: torch.Tensor) -> np.ndarray:
        out = []
        for chunk in images.split(500):
            self._check()
            out.append(self._extractor.features(chunk))
        return np.concatenate(out)

    def __call__(self, G: torch.nn.Module, step: int, quick: bool = False) -> dict:
        """The scores of G at `step`. quick (a new run's early scores): for labeled images, only how the
        classifier reads QUICK_N samples (classes present, class KL, confident share), a tenth of the work;
        the feature distances wait for the first full evaluation."""
        started = time.monotonic()
        if isinstance(self.data, PointMixture):
            fake = self.generate(G)
            result = metrics.mixture_metrics(fake.float().cpu().numpy(), self.data.centers.cpu().numpy(), self.data.std)
        elif quick and self.data.labels is not None:
            fake = self.generate(G, min(QUICK_N, self.n))
            result = {"quick": True, "n": len(fake), **self.read_classes(self._uint8(fake))}
        else:
            fake = self.generate(G)
            result = self.score_images(self._uint8(fake))
        return strict_json({"step": step, **result, "eval_seconds": round(time.monotonic() - started, 3)})

    @staticmethod
    def _uint8(fake: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(to_uint8_images(fake)).permute(0, 3, 1, 2)

    def read_classes(self, fake: torch.Tensor, probabilities: np.ndarray | None = None) -> dict:
        """How the dataset's classifier reads the samples: class coverage, confidence and, for a
        class-conditional G, the share read as the class asked."""
        probabilities = self._dataset_classifier().probabilities(fake) if probabilities is None else probabilities
        asked = asked_classes(self.cfg.model.classes, len(fake))
        prior = None if asked is not None else np.bincount(self.data.labels.cpu().numpy())  # unconditional: data's mix
        result = {**metrics.class_coverage(probabilities, prior), "classifier_accuracy": self._classifier.accuracy}
        if asked is not None:
            result["asked_class_share"] = float((probabilities.argmax(1) == asked).mean())
        return result

    def score_images(self, fake: torch.Tensor) -> dict:
        """fake: uint8 (N, C, H, W) like the dataset's images, a class-conditional G's in the order of the
        classes it was asked for (core.training.models.asked_classes)."""
        self._prepare()
        result = {"features": self._extractor.name if self._extractor else None}
        probabilities = None
        if self._extractor is not None:
            if self._extractor is self._classifier:
                fake_features, probabilities = self._classifier.features_and_probabilities(fake)
            else:
                fake_features = self._features(fake)
            self._check()
            suffix = self._extractor.metric_suffix
            result.update({key + suffix: value for key, value in
                           metrics.image_metrics(self._real_features, fake_features).items()})
            result[f"fid{suffix}_floor"] = self._floor  # real vs real: the best a generator can score
        if self._classifier is not None:
            result.update(self.read_classes(fake, probabilities))
        if self._extractor is None:
            result["note"] = "no feature extractor: the dataset has no labels and eval.inception is not set"
        return result

    def _dataset_classifier(self):
        """The labelled dataset's classifier: shipped, cached, or trained now (once; `training_classifier` says
        how far it has come meanwhile)."""
        if self._classifier is None:
            self._classifier = load_or_train_classifier(self.data.images, self.data.labels, lambda: self.stopped,
                                                        self.log, self._trained)
            self.training_classifier = None
        return self._classifier

    def _trained(self, share: float) -> None:
        self.training_classifier = share

    def _prepare(self) -> None:
        if self._real_features is not None or not isinstance(self.data, ImageBank):
            return
        bank: ImageBank = self.data
        if bank.labels is not None:
            self._dataset_classifier()
        self._extractor = (InceptionFeatures(self.cfg.eval.inception, self.device) if self.cfg.eval.inception
                           else self._classifier)
        if self._extractor is not None:
            order = torch.randperm(len(bank), generator=torch.Generator().manual_seed(EVAL_SEED)).to(bank.images.device)
            self._real_features = self._features(bank.images[order[: self.n]])
            half = min(self.n, len(bank) // 2)
            other_real = self._features(bank.images[order[-half:]])
            self._floor = metrics.frechet_distance(self._real_features[:half], other_real)


class BackgroundEvaluator:
    """Runs an Evaluator in a thread on snapshots of G; at most one evaluation waits while one runs.

    The thread ends when no evaluation waits, and the next submission starts a new one: an idle thread that
    has run torch ops keeps its OpenMP team alive, and with more OpenMP threads than cores libgomp stops
    letting the training step's threads spin between parallel regions: the step slows for as long as an idle
    evaluation thread lives (docs/experiments.md, round 9)."""

    def __init__(self, evaluator: Evaluator):
        self.evaluator = evaluator
        self._lock = threading.Lock()
        self._waiting = None  # (G, step, quick): the next job
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._results: queue.Queue = queue.Queue()

    def submit(self, G: torch.nn.Module, step: int, quick: bool = False, replace: bool = False) -> str | None:
        """Queue a copy of G for evaluation: "queued", or "replaced" when `replace` put it in the place of the
        one waiting (a run's final score supersedes an older waiting one); None (nothing queued) while one
        already waits, or after close."""
        with self._lock:
            if self.evaluator.stopped or (self._waiting is not None and not replace):
                return None
            outcome = "queued" if self._waiting is None else "replaced"
            self._waiting = (copy.deepcopy(G), step, quick)
            self._idle.clear()
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="hinge-eval", daemon=True)
                self._thread.start()
            return outcome

    def _next_job(self):
        with self._lock:
            job, self._waiting = self._waiting, None
            if job is None:
                self._thread = None
                self._idle.set()
            return job

    def _work(self) -> None:
        run_in_background()  # the OpenMP workers this thread starts inherit its priority
        while (job := self._next_job()) is not None:
            G, step, quick = job
            try:
                self._results.put(self.evaluator(G, step, quick))
            except InterruptedError:
                pass
            except Exception as exc:  # a failed evaluation is reported; training goes on
                self._results.put({"step": step, "error": f"{exc.__class__.__name__}: {exc}"})
            finally:
                del job, G
                release_freed_memory()

    def results(self) -> list[dict]:
        out = []
        while True:
            try:
                out.append(self._results.get_nowait())
            except queue.Empty:
                return out

    @property
    def running(self) -> bool:
        return not self._idle.is_set()

    def wait(self) -> None:
        """Block until every queued evaluation has finished."""
        self._idle.wait()

    def close(self, timeout: float = 30.0) -> None:
        """Stop: the evaluation under way gives up at its next stage (a second or two), then the thread ends."""
        self.evaluator.stop()
        with self._lock:
            self._waiting = None
            thread = self._thread
        if thread is not None:
            thread.join(timeout)


def release_freed_memory() -> None:
    """Give the memory an evaluation freed back to the OS; glibc would keep it in the thread's arena."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to trim


def strict_json(result: dict) -> dict:
    """Non-finite numbers (reverse KL with no sample near any mode) become None: JSON has no Infinity."""
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in result.items()}
