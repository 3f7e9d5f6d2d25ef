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

    def stop(self) -> None:
        """Ask a long first evaluation (a classifier still training) to give up."""
        self.stopped = True

    @torch.no_grad()
    def generate(self, G: torch.nn.Module) -> torch.Tensor:
        was_training = G.training
        G.eval()
        try:
            z_gen = torch.Generator(self.device).manual_seed(self.seed)
            chunks = []
            for z in latent(self.cfg.model, self.n, z_gen, self.device, balanced=True).split(1000):
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

    def __call__(self, G: torch.nn.Module, step: int) -> dict:
        started = time.monotonic()
        fake = self.generate(G)
        if isinstance(self.data, PointMixture):
            result = metrics.mixture_metrics(fake.float().cpu().numpy(), self.data.centers.cpu().numpy(), self.data.std)
        else:
            result = self.score_images(torch.from_numpy(to_uint8_images(fake)).permute(0, 3, 1, 2),
                                       asked_classes(self.cfg.model.classes, len(fake)))
        return strict_json({"step": step, **result, "eval_seconds": round(time.monotonic() - started, 3)})

    def score_images(self, fake: torch.Tensor, asked_classes: np.ndarray | None = None) -> dict:
        """fake: uint8 (N, C, H, W) like the dataset's images; asked_classes: the classes a class-conditional
        G was asked for, scored as the share the classifier reads as asked."""
        self._prepare()
        result = {"features": self._extractor.name if self._extractor else None}
        if self._extractor is not None:
            fake_features = self._features(fake)
            self._check()
            suffix = self._extractor.metric_suffix
            result.update({key + suffix: value for key, value in
                           metrics.image_metrics(self._real_features, fake_features).items()})
            result[f"fid{suffix}_floor"] = self._floor  # real vs real: the best a generator can score
        if self._classifier is not None:
            probabilities = self._classifier.probabilities(fake)
            result.update(metrics.class_coverage(probabilities))
            result["classifier_accuracy"] = self._classifier.accuracy
            if asked_classes is not None:
                result["asked_class_share"] = float((probabilities.argmax(1) == asked_classes).mean())
        if self._extractor is None:
            result["note"] = "no feature extractor: the dataset has no labels and eval.inception is not set"
        return result

    def _prepare(self) -> None:
        if self._real_features is not None or not isinstance(self.data, ImageBank):
            return
        bank: ImageBank = self.data
        if bank.labels is not None:
            self._classifier = load_or_train_classifier(bank.images, bank.labels, lambda: self.stopped, self.log)
        self._extractor = (InceptionFeatures(self.cfg.eval.inception, self.device) if self.cfg.eval.inception
                           else self._classifier)
        if self._extractor is not None:
            order = torch.randperm(len(bank), generator=torch.Generator().manual_seed(EVAL_SEED)).to(bank.images.device)
            self._real_features = self._features(bank.images[order[: self.n]])
            half = min(self.n, len(bank) // 2)
            other_real = self._features(bank.images[order[-half:]])
            self._floor = metrics.frechet_distance(self._real_features[:half], other_real)


class BackgroundEvaluator:
    """Runs an Evaluator in a thread on snapshots of G; at most one evaluation waits while one runs."""

    def __init__(self, evaluator: Evaluator):
        self.evaluator = evaluator
        self._jobs: queue.Queue = queue.Queue(maxsize=1)
        self._results: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="hinge-eval", daemon=True)
        self._thread.start()

    def submit(self, G: torch.nn.Module, step: int) -> bool:
        """Queue a copy of G for evaluation; False (and nothing queued) while the queue is full."""
        if self._jobs.full():  # only the training thread submits, so this holds until put_nowait
            return False
        try:
            self._jobs.put_nowait((copy.deepcopy(G), step))
            return True
        except queue.Full:
            return False

    def _work(self) -> None:
        run_in_background()  # the OpenMP workers this thread starts inherit its priority
        while True:
            job = self._jobs.get()
            if job is None:
                return
            G, step = job
            try:
                self._results.put(self.evaluator(G, step))
            except InterruptedError:
                return
            except Exception as exc:  # a failed evaluation is reported; training goes on
                self._results.put({"step": step, "error": f"{exc.__class__.__name__}: {exc}"})
            finally:
                del job, G
                release_freed_memory()
                self._jobs.task_done()

    def results(self) -> list[dict]:
        out = []
        while True:
            try:
                out.append(self._results.get_nowait())
            except queue.Empty:
                return out

    def wait(self) -> None:
        """Block until every queued evaluation has finished."""
        self._jobs.join()

    def close(self, timeout: float = 30.0) -> None:
        """Stop: the evaluation under way gives up at its next stage (a second or two), then the thread ends."""
        self.evaluator.stop()
        while True:
            try:
                self._jobs.get_nowait()
                self._jobs.task_done()
            except queue.Empty:
                break
        self._jobs.put(None)
        self._thread.join(timeout)


def release_freed_memory() -> None:
    """Give the memory an evaluation freed back to the OS; glibc would keep it in the thread's arena."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to trim


def strict_json(result: dict) -> dict:
    """Non-finite numbers (reverse KL with no sample near any mode) become None: JSON has no Infinity."""
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in result.items()}
