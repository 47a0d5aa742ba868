"""The shared MNIST scoring: the classifier cache keyed by training-set size and fixed seed, and
Parzen + FID of samples as the two chapters (game_dynamics, mode_collapse) use them."""

from __future__ import annotations

import pytest
import torch

from replication.datasets.mnist import MnistSplits
from replication.metrics import mnist_scoring, parzen
from replication.metrics.classifier import CLASSIFIER_SEED, TRAINED_ON


@pytest.fixture
def m(random_mnist) -> MnistSplits:
    return random_mnist(96, 60, 40, seed=3)


def test_the_classifier_is_cached_per_training_size_with_the_fixed_seed(m, tmp_path):
    a = mnist_scoring.digit_scorer(m, 64, 1, 50, tmp_path, progress=False)
    cached = tmp_path / "classifier_64.pt"
    assert torch.load(cached, weights_only=False)["settings"] == {
        "epochs": 1,
        "seed": CLASSIFIER_SEED,
        "trained_on": TRAINED_ON,
    }
    b = mnist_scoring.digit_scorer(m, 64, 1, 50, tmp_path, progress=False)  # from the cache
    for p, q in zip(a.classifier.parameters(), b.classifier.parameters(), strict=True):
        assert torch.equal(p, q)
    assert a.scorer.ref_mu.shape == (128,) and 0 <= a.test_accuracy <= 1
    mnist_scoring.digit_scorer(m, 32, 1, 50, tmp_path, progress=False)
    assert (tmp_path / "classifier_32.pt").is_file()  # another size, another classifier


def test_scores_are_parzen_of_the_scored_rows_and_the_classifiers_fid(m, tmp_path):
    d = mnist_scoring.digit_scorer(m, 64, 1, 50, tmp_path, progress=False)
    x = m.test[:30]
    s = mnist_scoring.score_images(x, d.scorer, m.valid[:20], m.valid[20:40])
    p = parzen.evaluate(x, m.valid[:20], m.valid[20:40])
    assert (s["parzen_ll"], s["parzen_se"], s["parzen_sigma"]) == (p.mean, p.se, p.sigma)
    assert s["fid"] == pytest.approx(d.scorer(x)["fid"])
    assert set(s) == {
        "parzen_ll",
        "parzen_se",
        "parzen_sigma",
        "fid",
        "classifier_score",
        "effective_classes",
    }
