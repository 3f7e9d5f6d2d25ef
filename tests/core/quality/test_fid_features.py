"""FID as papers compute it: the FID Inception network through torch-fidelity's own extractor, and this
project's Fréchet distance, KID and precision/recall equal to torch-fidelity's on the same features. The real
FID weights cannot be downloaded here, so the network is torch-fidelity's own architecture at a random init."""
import numpy as np
import pytest
import torch

from core.base.errors import CheckpointError, DataError
from core.config import Config, DataConfig, EvalConfig, validate
from core.quality import features, metrics
from core.quality.evaluator import Evaluator
from core.training.data import load_dataset

fidelity = pytest.importorskip("torch_fidelity")
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3  # noqa: E402
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric  # noqa: E402
from torch_fidelity.metric_kid import kid_features_to_metric  # noqa: E402
from torch_fidelity.metric_prc import prc_features_to_metric  # noqa: E402


class RandomInit(FeatureExtractorInceptionV3):
    """torch-fidelity's FID Inception network as built, before any weights are loaded into it."""

    def load_state_dict(self, state_dict, strict=True, assign=False):
        return None


@pytest.fixture(scope="module")
def fid_weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fid")
    torch.save({}, folder / "empty.pth")
    torch.manual_seed(0)
    net = RandomInit("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(folder / "empty.pth"))
    path = folder / features.FID_WEIGHTS
    torch.save(net.state_dict(), path)
    return path


def test_the_fid_network_scores_samples_under_the_papers_names(fid_weights):
    cfg = validate(Config(data=DataConfig(source="digits"), eval=EvalConfig(n=20, inception=str(fid_weights))))
    data = load_dataset(cfg.data, 64)

    class Real(torch.nn.Module):  # real digits as a generator's output, in [-1, 1]
        def forward(self, z):
            return data.images[:len(z)].float() / 127.5 - 1

    result = Evaluator(cfg, data, "cpu")(Real(), step=3)
    assert result["features"] == "inception-v3-fid"
    assert {"fid", "fid_floor", "kid", "precision", "recall"} <= set(result)
    assert not any(key.endswith("_cnn") for key in result)  # the classifier still reads the classes
    assert result["classes_present"] >= 9


def test_the_extractor_is_torch_fidelitys_own_on_the_same_images(fid_weights):
    ours = features.InceptionFeatures(str(fid_weights), "cpu")
    images = torch.randint(0, 256, (4, 1, 32, 32), dtype=torch.uint8)
    reference = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                            feature_extractor_weights_path=str(fid_weights))
    with torch.no_grad():
        expected = reference(images.expand(-1, 3, -1, -1).contiguous())[0].numpy()
    assert np.array_equal(ours.features(images), expected)


def test_torchvision_weights_and_others_are_refused_naming_what_was_expected(tmp_path):
    from torchvision.models import inception_v3

    torchvision = tmp_path / "inception_v3_google.pth"
    torch.save(inception_v3(weights=None, aux_logits=True, init_weights=False).state_dict(), torchvision)
    with pytest.raises(CheckpointError, match=r"torchvision's ImageNet Inception-v3 .*pt_inception-2015-12-05"):
        features.InceptionFeatures(str(torchvision), "cpu")
    wrong = tmp_path / "wrong.pth"
    torch.save({"conv.weight": torch.zeros(3)}, wrong)
    with pytest.raises(CheckpointError, match="not Inception-v3 weights; expected the FID Inception weights"):
        features.InceptionFeatures(str(wrong), "cpu")
    with pytest.raises(DataError, match="no weights file"):
        features.InceptionFeatures(str(tmp_path / "absent.pth"), "cpu")


def test_our_distances_are_torch_fidelitys_on_identical_features():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(1500, 64))
    fake = rng.normal(0.3, 1.2, size=(1200, 64))
    theirs = fid_statistics_to_metric(fid_features_to_statistics(torch.from_numpy(real)),
                                      fid_features_to_statistics(torch.from_numpy(fake)), verbose=False)
    assert metrics.frechet_distance(real, fake) == pytest.approx(theirs["frechet_inception_distance"], rel=1e-6)
    real = real[:1200]  # one subset of every sample on both sides: the same MMD whatever the order drawn
    kid = kid_features_to_metric(torch.from_numpy(real), torch.from_numpy(fake), kid_subsets=1,
                                 kid_subset_size=1200, kid_degree=3, kid_gamma=None, kid_coef0=1, kid_kernel="poly",
                                 rng_seed=0, verbose=False)
    ours, _ = metrics.kernel_inception_distance(real, fake, subsets=1, subset_size=1200)  # every fake, same MMD
    assert ours == pytest.approx(kid["kernel_inception_distance_mean"], rel=1e-6)
    prc = prc_features_to_metric(torch.from_numpy(fake), torch.from_numpy(real), prc_neighborhood=3,
                                 prc_batch_size=500, save_cpu_ram=True, verbose=False)
    assert metrics.precision_recall(real, fake) == pytest.approx((prc["precision"], prc["recall"]), rel=1e-6)  # theirs in float32


def test_precision_and_recall_in_batches_equal_the_whole_matrix(monkeypatch):
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(700, 16)), rng.normal(0.2, 1.1, size=(650, 16))
    whole = metrics.precision_recall(real, fake)
    monkeypatch.setattr(metrics, "BATCH", 64)  # eleven batches instead of one
    assert metrics.precision_recall(real, fake) == whole
