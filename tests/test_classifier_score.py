"""The classifier-based quality scores: numeric core against closed forms, then the classifier."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import linalg

from replication.metrics.classifier import (
    TRAINED_ON,
    ClassifierScorer,
    DigitClassifier,
    accuracy,
    class_scores,
    frechet_distance,
    load_or_train,
    train_classifier,
)


def test_frechet_distance_of_a_gaussian_to_itself_is_zero():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 5))
    cov = a.T @ a / 50
    assert frechet_distance(np.ones(5), cov, np.ones(5), cov) == pytest.approx(0, abs=1e-8)


def test_frechet_distance_diagonal_closed_form():
    # diagonal covariances: |mu1 - mu2|^2 + sum (s1 - s2)^2 with s the standard deviations
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, -1.0, 2.5])
    s1, s2 = np.array([1.0, 2.0, 0.5]), np.array([3.0, 1.0, 0.5])
    want = ((mu1 - mu2) ** 2).sum() + ((s1 - s2) ** 2).sum()
    got = frechet_distance(mu1, np.diag(s1**2), mu2, np.diag(s2**2))
    assert got == pytest.approx(want, rel=1e-10)


def test_frechet_distance_full_covariances_against_eigenvalues():
    # Tr (C1 C2)^(1/2) = sum of the square roots of the (real, non-negative) eigenvalues of C1 C2
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    c1, c2 = a @ a.T + 0.1 * np.eye(4), b @ b.T + 0.1 * np.eye(4)
    mu1, mu2 = rng.normal(size=4), rng.normal(size=4)
    tr_sqrt = np.sqrt(np.clip(linalg.eigvals(c1 @ c2).real, 0, None)).sum()
    want = ((mu1 - mu2) ** 2).sum() + np.trace(c1) + np.trace(c2) - 2 * tr_sqrt
    assert frechet_distance(mu1, c1, mu2, c2) == pytest.approx(want, rel=1e-8)


def test_frechet_distance_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes do not match"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))


def test_class_scores_limits():
    eye = torch.eye(10)
    # every sample one confident digit, all digits equally: both scores are 10
    s = class_scores(eye.repeat(5, 1))
    assert s["classifier_score"] == pytest.approx(10)
    assert s["effective_classes"] == pytest.approx(10)
    # collapsed onto one digit: 1 and 1
    s = class_scores(eye[[3] * 20])
    assert s["classifier_score"] == pytest.approx(1) and s["effective_classes"] == pytest.approx(1)
    # every sample undecided: digits spread, but the score is 1
    s = class_scores(torch.full((20, 10), 0.1))
    assert s["classifier_score"] == pytest.approx(1) and s["effective_classes"] == pytest.approx(10)


def _two_kinds(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Images bright in the top half (label 0) or the bottom half (label 1), with noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = 0.1 * torch.rand(n, 28, 28, generator=g)
    x[y == 0, :14] += 0.8
    x[y == 1, 14:] += 0.8
    return x.flatten(1), y


def test_classifier_learns_caches_and_retrains_on_new_settings(tmp_path):
    x, y = _two_kinds(512, 0)
    xt, yt = _two_kinds(256, 1)
    path = tmp_path / "clf.pt"
    settings = {"epochs": 1, "seed": 0}
    model = load_or_train(path, x, y, settings, progress=False)
    assert isinstance(model, DigitClassifier) and accuracy(model, xt, yt) == 1.0
    stamp = path.stat().st_mtime_ns
    again = load_or_train(path, x, y, settings, progress=False)  # from the cache
    assert path.stat().st_mtime_ns == stamp
    for a, b in zip(model.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)
    load_or_train(path, x, y, {"epochs": 1, "seed": 1}, progress=False)  # other settings: retrain
    assert path.stat().st_mtime_ns != stamp


def test_scorer_sees_real_images_as_close_and_one_kind_as_collapsed(tmp_path):
    x, y = _two_kinds(1024, 0)  # 40 steps: confident enough that unused digits get ~no mass
    model = load_or_train(tmp_path / "clf.pt", x, y, {"epochs": 5, "seed": 0}, progress=False)
    scorer = ClassifierScorer.fit(model, _two_kinds(400, 2)[0])
    same = scorer(_two_kinds(400, 3)[0])
    xs, ys = _two_kinds(400, 4)
    collapsed = scorer(xs[ys == 0])
    assert same["fid"] < 0.1 * collapsed["fid"]
    assert same["effective_classes"] > 1.9 and collapsed["effective_classes"] < 1.1


def test_classifier_is_the_same_network_at_any_thread_count(tmp_path):
    """The instrument behind FID is trained at one thread whatever the caller's count: at two
    threads the float sums of the old training took another order and another trajectory."""
    x, y = _two_kinds(512, 0)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        at_two = train_classifier(x, y, epochs=1, progress=False)
        assert torch.get_num_threads() == 2  # the caller's count is restored
        torch.set_num_threads(1)
        at_one = train_classifier(x, y, epochs=1, progress=False)
    finally:
        torch.set_num_threads(before)
    for a, b in zip(at_two.state_dict().values(), at_one.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_classifier_cached_before_the_one_thread_rule_is_retrained(tmp_path):
    x, y = _two_kinds(256, 0)
    path = tmp_path / "clf.pt"
    old = {"epochs": 1, "seed": 0}  # what a cache written before TRAINED_ON holds
    torch.save({"model": DigitClassifier().state_dict(), "settings": old}, path)
    stamp = path.stat().st_mtime_ns
    load_or_train(path, x, y, old, progress=False)
    assert path.stat().st_mtime_ns != stamp
    assert torch.load(path, weights_only=False)["settings"]["trained_on"] == TRAINED_ON
