"""The digit classifier and the scores of MNIST-shaped samples, shared by the chapters that score
generated digits (the game chapter's MNIST part, the mode-collapse chapter's image part).

One classifier per training-set size and epochs, with one fixed seed (`classifier.CLASSIFIER_SEED`),
gives FID and the classifier score their feature space: the committed instrument where there is
one (`instruments`: trained once, the same network on every CPU), else trained in the run on the
CPU at one thread (`classifier.TRAINED_ON`) and cached beside it. The Parzen window (`parzen`)
gives Table 1's log-likelihood. Each chapter chooses which real rows set the window's sigma and
which are scored; the arithmetic is here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from replication.datasets.mnist import MnistSplits
from replication.metrics import instruments, parzen
from replication.metrics.classifier import (
    CLASSIFIER_SEED,
    TRAINED_ON,
    ClassifierScorer,
    DigitClassifier,
    accuracy,
    load_or_train,
)
from replication.runs.locks import exclusive


@dataclass
class DigitScorer:
    """The classifier, its FID reference statistics and its accuracy on the test images."""

    classifier: DigitClassifier
    scorer: ClassifierScorer
    test_accuracy: float


def instrument_settings(images: torch.Tensor, labels: torch.Tensor, epochs: int) -> dict:
    """What a committed instrument must answer to, to stand in for training one here."""
    return {
        "images": len(images),
        "epochs": epochs,
        "seed": CLASSIFIER_SEED,
        "trained_on": TRAINED_ON,
        "data_sha256": instruments.data_digest(images, labels),
    }


def digit_classifier(
    images: torch.Tensor, labels: torch.Tensor, epochs: int, folder: Path, progress: bool = True
) -> DigitClassifier:
    """The committed instrument for these images and epochs (`metrics.instruments`: the same
    network on every machine); where none is committed, the classifier trained on `images`
    (Adam, `epochs`, `CLASSIFIER_SEED`), cached at `folder`/classifier_<n>.pt (a second process
    waits for the first to finish training it). It says which."""
    committed = instruments.load(instrument_settings(images, labels, epochs))
    if committed is not None:
        print(f"digit classifier: the committed instrument {committed[1]}")
        return committed[0].to(images.device)
    print(
        f"digit classifier: trained in this run ({len(images)} images, {epochs} epochs; no "
        "committed instrument for them, so its FIDs follow this CPU's arithmetic)"
    )
    path = folder / f"classifier_{len(images)}.pt"
    settings = {"epochs": epochs, "seed": CLASSIFIER_SEED}
    folder.mkdir(parents=True, exist_ok=True)
    with exclusive(path.with_name(f".{path.name}.lock"), "the digit classifier", wait=True):
        return load_or_train(path, images, labels, settings, progress=progress)


def digit_scorer(
    mnist: MnistSplits,
    train_images: int,
    epochs: int,
    reference_images: int,
    folder: Path,
    progress: bool = True,
) -> DigitScorer:
    """The classifier of the first `train_images` training images, FID's reference on the first
    `reference_images` validation images, and its accuracy on the 10,000 test images."""
    model = digit_classifier(
        mnist.train[:train_images], mnist.train_labels[:train_images], epochs, folder, progress
    )
    scorer = ClassifierScorer.fit(model, mnist.valid[:reference_images])
    return DigitScorer(model, scorer, accuracy(model, mnist.test, mnist.test_labels))


def score_images(
    images: torch.Tensor,
    scorer: ClassifierScorer,
    sigma_rows: torch.Tensor,
    scored_rows: torch.Tensor,
) -> dict[str, float]:
    """Parzen LL of `scored_rows` with `images` as the window's centres (sigma chosen on
    `sigma_rows`, the paper's grid), and the classifier's FID, classifier score and effective
    classes of `images`."""
    p = parzen.evaluate(images, sigma_rows, scored_rows)
    return {"parzen_ll": p.mean, "parzen_se": p.se, "parzen_sigma": p.sigma, **scorer(images)}
