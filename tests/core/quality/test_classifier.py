"""The dataset classifier behind the image scores: an interrupted training is taken up where it stopped."""
import pytest
import torch

from core.quality import features


@pytest.fixture
def three_shapes():
    g = torch.Generator().manual_seed(0)
    images = (torch.rand(600, 1, 8, 8, generator=g) * 255).to(torch.uint8)
    labels = torch.arange(600) % 3
    images[labels == 1, :, :4] = 255
    images[labels == 2, :, :, :4] = 0
    return images, labels


def test_a_training_stopped_mid_way_is_taken_up_where_it_stopped_with_the_same_result(three_shapes, tmp_path):
    images, labels = three_shapes
    straight = features.train_classifier(images, labels, epochs=3, min_steps=1)
    partial = tmp_path / "partial.pt"
    with pytest.raises(InterruptedError):  # a window closed during the second epoch
        features.train_classifier(images, labels, epochs=3, min_steps=1, partial=partial, keep_every_s=0,
                                  should_stop=partial.exists)
    shares = []
    resumed = features.train_classifier(images, labels, epochs=3, min_steps=1, partial=partial, progress=shares.append)
    assert shares[0] > 0.34 and shares[-1] == 1.0  # the first epoch was not trained again
    for a, b in zip(straight.net.state_dict().values(), resumed.net.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.slow  # 250 batches: the classifier's least
def test_the_cache_keeps_a_trained_classifier_and_drops_the_partial_one(three_shapes, tmp_path, monkeypatch):
    monkeypatch.setenv("HINGE_CACHE_DIR", str(tmp_path))
    images, labels = three_shapes
    shares = []
    trained = features.load_or_train_classifier(images, labels, progress=shares.append)
    assert trained.path.is_file() and not list(tmp_path.rglob("*.partial.pt")) and shares[-1] == 1.0
    again = features.load_or_train_classifier(images, labels, should_stop=lambda: True)  # found: nothing trains
    assert again.path == trained.path and again.accuracy == trained.accuracy
