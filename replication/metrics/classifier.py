"""Sample-quality scores in the eyes of an MNIST digit classifier that the project trains itself.

Parzen log-likelihood (Table 1's measure) is known to rank samples poorly (Theis et al. 2016),
so the WGAN chapter checks its correlations against a second, independent yardstick:

- Fréchet distance (FID-style, Heusel et al. 2017) between Gaussians fitted to the classifier's
  penultimate features of generated and of held-out real images: lower is better. It is biased
  upwards for small sample counts, so values are comparable only at the same count.
- classifier score (Inception-score style, Salimans et al. 2016): exp(E_x KL(p(y|x) || p(y))),
  from 1 to 10: high when each sample is one clear digit and all digits appear.
- effective classes: exp(H(p(y))), the number of digits the samples spread over (10 = uniform,
  1 = collapsed onto one digit). A direct reading of mode collapse.

Layered like pytorch-fid: a pure numeric core (`frechet_distance`, `class_scores`), then
statistics of a network's features, then the classifier and its cached training.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import linalg
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from replication.runs.store import atomic_path


# -- numeric core --------------------------------------------------------------------------------
def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + Tr(C1 + C2 - 2 (C1 C2)^(1/2)) between two Gaussians.

    Tr (C1 C2)^(1/2) is computed as Tr (S C2 S)^(1/2) with S = C1^(1/2): the same eigenvalues,
    but of a symmetric matrix, so singular covariances (dead features, fewer samples than
    features) need neither an epsilon nor a complex square root.
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    cov1, cov2 = np.atleast_2d(cov1).astype(np.float64), np.atleast_2d(cov2).astype(np.float64)
    if mu1.shape != mu2.shape or cov1.shape != cov2.shape or cov1.shape != mu1.shape * 2:
        raise ValueError(
            f"shapes do not match: means {mu1.shape}, {mu2.shape}; covariances "
            f"{cov1.shape}, {cov2.shape}"
        )
    w, v = linalg.eigh(cov1)
    s = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = s @ cov2 @ s
    tr_covmean = np.sqrt(np.clip(linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * tr_covmean)


def class_scores(probs: torch.Tensor) -> dict[str, float]:
    """Classifier score and effective number of classes from rows of p(y|x)."""
    p = probs.double().clamp_min(1e-12)
    marginal = p.mean(0)
    h_marginal = -(marginal * marginal.log()).sum()
    h_conditional = -(p * p.log()).sum(1).mean()
    return {
        # E KL(p(y|x) || p(y)) = H(p(y)) - E H(p(y|x))
        "classifier_score": float(torch.exp(h_marginal - h_conditional)),
        "effective_classes": float(torch.exp(h_marginal)),
    }


# -- the classifier ------------------------------------------------------------------------------
# The seed of the classifier behind a chapter's FID, fixed rather than the run's base seed: every
# seed of a sweep must score in one feature space, or the FIDs of two base seeds would differ by
# their classifiers as well as by their samples. 0 is what base seed 0 used when the classifier
# took the run's seed, so those runs keep their classifier.
CLASSIFIER_SEED = 0


class DigitClassifier(nn.Module):
    """conv 32 -> pool -> conv 64 -> pool -> 128 features -> 10 logits (dropout while training)."""

    def __init__(self, features: int = 128) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Unflatten(1, (1, 28, 28)),
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 49, features),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(0.5), nn.Linear(features, 10))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


@torch.no_grad()
def _apply(model: DigitClassifier, x: torch.Tensor, batch: int = 2000) -> tuple[torch.Tensor, ...]:
    """(features, probabilities) of the rows of x, in eval mode."""
    was = model.training
    model.eval()
    feats = torch.cat([model.features(x[i : i + batch]) for i in range(0, len(x), batch)])
    probs = torch.softmax(model.head(feats), dim=1)
    model.train(was)
    return feats, probs


def accuracy(model: DigitClassifier, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((_apply(model, x)[1].argmax(1) == y).double().mean())


# The classifier is a measuring instrument, the same network for every run that reads its
# features: trained on the CPU at one thread whatever the run's device and thread count, because
# a float sum's order follows the thread count (and the device), and another order trains it
# along another trajectory. A fresh clone at two threads once scored in another feature space
# (test accuracy 0.9178 against the committed 0.9166), moving FIDs that no GAN seed moves.
TRAINED_ON = "cpu, 1 thread"


@contextmanager
def one_thread() -> Iterator[None]:
    """torch on one intra-op thread inside the block, the caller's count restored after it."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_classifier(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int = 3,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    progress: bool = True,
) -> DigitClassifier:
    """Adam on cross-entropy, trained as `TRAINED_ON` says (shuffled with a private generator)
    and returned on x's device."""
    x_cpu, y_cpu = x.cpu(), y.cpu()
    with one_thread():
        torch.manual_seed(seed)
        model = DigitClassifier()
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        gen = torch.Generator().manual_seed(seed)
        steps = len(x_cpu) // batch_size
        bar = tqdm(
            total=epochs * steps, desc="MNIST classifier", disable=not progress, mininterval=2
        )
        for _ in range(epochs):
            perm = torch.randperm(len(x_cpu), generator=gen)
            for i in range(steps):
                idx = perm[i * batch_size : (i + 1) * batch_size]
                loss = F.cross_entropy(model(x_cpu[idx]), y_cpu[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                bar.update(1)
        bar.close()
    return model.to(x.device).eval()


def load_or_train(
    path: Path, x: torch.Tensor, y: torch.Tensor, settings: dict[str, Any], progress: bool = True
) -> DigitClassifier:
    """The classifier cached at `path` when it was trained with the same `settings`; else train
    it (on x, y) and cache it. Training is short, so a mismatch retrains rather than failing.
    The settings record `TRAINED_ON`, so a classifier cached before it was fixed is retrained."""
    recorded = {**settings, "trained_on": TRAINED_ON}
    if path.exists():
        state = torch.load(path, map_location="cpu", weights_only=False)
        if state.get("settings") == recorded:
            model = DigitClassifier()
            model.load_state_dict(state["model"])
            return model.to(x.device).eval()
    model = train_classifier(x, y, **settings, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save({"model": model.state_dict(), "settings": recorded}, tmp)
    return model


# -- statistics and the scorer -------------------------------------------------------------------
def feature_stats(feats: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    f = feats.double().cpu().numpy()
    return f.mean(0), np.cov(f, rowvar=False)


@dataclass
class ClassifierScorer:
    """Scores of generated images against reference (held-out real) images."""

    model: DigitClassifier
    ref_mu: np.ndarray
    ref_cov: np.ndarray

    @classmethod
    def fit(cls, model: DigitClassifier, reference: torch.Tensor) -> ClassifierScorer:
        return cls(model, *feature_stats(_apply(model, reference)[0]))

    def __call__(self, images: torch.Tensor) -> dict[str, float]:
        feats, probs = _apply(self.model, images)
        mu, cov = feature_stats(feats)
        return {"fid": frechet_distance(mu, cov, self.ref_mu, self.ref_cov), **class_scores(probs)}
