import hashlib

import numpy as np

from core.training.digits import make_digits

# The sha1 of the default set's bytes (10,000 digits, 32 px), the same on every CPU: a drawing that rounds
# differently on another machine (torch's vectorized float kernels did) makes the shipped classifier miss.
DEFAULT_FINGERPRINT = "2e3232d36074ce7e"


def fingerprint(images: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(images).tobytes()).hexdigest()[:16]


def test_the_embedded_digits_are_the_same_bytes_on_every_machine():
    images, labels = make_digits()
    assert fingerprint(images) == DEFAULT_FINGERPRINT, "the drawing changed: bump DIGITS_RECIPE and ship a classifier"
    assert np.array_equal(labels, np.arange(10000) % 10)


def test_embedded_digits_are_labelled_balanced_and_drawn_at_either_size():
    small, labels = make_digits(300, 32)
    assert small.dtype == np.uint8 and small.shape == (300, 1, 32, 32)
    assert np.array_equal(small, make_digits(300, 32)[0])
    assert np.bincount(labels).tolist() == [30] * 10
    assert small.mean() > 10  # strokes are drawn
    ink = (small > 127).reshape(300, -1).mean(1)
    assert ink.min() > 0.02 and ink.max() < 0.5  # every digit drawn, none a blot
    big, _ = make_digits(20, 64)
    assert big.shape == (20, 1, 64, 64)
