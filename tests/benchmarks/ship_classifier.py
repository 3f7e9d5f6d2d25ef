"""Train the embedded digits' classifier (the features of their quality scores) and ship it in
assets/hinge_assets/classifiers/, so that a new run of the default preset is scored from its first minute
instead of after training one (about 3 minutes on a laptop's 2 cores). Run again whenever the embedded digits or the
classifier change: tests/core/quality/test_evaluate.py fails while the shipped one does not match them.

    python tests/benchmarks/ship_classifier.py
"""
from pathlib import Path

from core.config import resolve
from core.quality.features import _fingerprint, save_classifier, train_classifier
from core.training.data import load_dataset

bank = load_dataset(resolve("digits").data, 64)
classifier = train_classifier(bank.images, bank.labels)
target = Path(__file__).resolve().parents[2] / "assets" / "hinge_assets" / "classifiers" / \
    f"{_fingerprint(bank.images, bank.labels)}.pt"
for old in target.parent.glob("*.pt"):
    old.unlink()
save_classifier(classifier, target)
print(f"{target}: held-out accuracy {classifier.accuracy:.2%}, {target.stat().st_size / 1e6:.2f} MB")
