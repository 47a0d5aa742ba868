"""Every published value the book quotes beside ours, typed once, each with its source.

Chapters, findings and notebooks read these; none of them types a published number itself, so a
correction here reaches every table, verdict and summary.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

PAPER_2014 = "Goodfellow et al. 2014, Table 1"


@dataclass(frozen=True)
class Published:
    """One printed result: mean log-likelihood in nats ± its standard error, and where it is."""

    model: str
    published: float
    published_se: float
    source: str


# Table 1 of Goodfellow et al. 2014, MNIST column: mean log-likelihood of the test images (nats)
# ± standard error. The first three rows are the paper's copies of earlier results.
TABLE1_MNIST: tuple[Published, ...] = (
    Published("DBN", 138.0, 2.0, f"{PAPER_2014} (from Bengio et al. 2013)"),
    Published("Stacked CAE", 121.0, 1.6, f"{PAPER_2014} (from Bengio et al. 2013)"),
    Published("Deep GSN", 214.0, 1.1, f"{PAPER_2014} (from Bengio et al. 2014)"),
    Published("Adversarial nets", 225.0, 2.0, PAPER_2014),
)

# Table 1 of Goodfellow et al. 2014, TFD column: mean log-likelihood in nats ± standard error
# across folds. The first three rows are the paper's copies of earlier results.
TABLE1_TFD: tuple[Published, ...] = (
    Published("DBN", 1909.0, 66.0, f"{PAPER_2014} (from Bengio et al. 2013)"),
    Published("Stacked CAE", 2110.0, 50.0, f"{PAPER_2014} (from Bengio et al. 2013)"),
    Published("Deep GSN", 1890.0, 29.0, f"{PAPER_2014} (from Bengio et al. 2014)"),
    Published("Adversarial nets", 2057.0, 26.0, PAPER_2014),
)


def row(table: Sequence[Published], model: str) -> Published:
    """The row of `table` for `model` (a KeyError names the models there are)."""
    for r in table:
        if r.model == model:
            return r
    raise KeyError(f"no {model!r} in the table; it has {[r.model for r in table]}")


def as_frame(table: Sequence[Published]) -> pd.DataFrame:
    """Columns model, published, published_se, source: the rows as the chapters display them."""
    return pd.DataFrame([dataclasses.asdict(r) for r in table])


# the adversarial net's own numbers, which our runs try to reproduce
ADVERSARIAL_MNIST = row(TABLE1_MNIST, "Adversarial nets")  # 225 ± 2
ADVERSARIAL_TFD = row(TABLE1_TFD, "Adversarial nets")  # 2057 ± 26


# -- mode collapse on mixtures of Gaussians and stacked MNIST ------------------------------------
# Read from the tables as the authors' repositories show them: PacGAN's
# synthetic_data_experiments/results/Table1.png and stacked_MNIST_experiments/results/Table2.png
# (fjxmlzn/PacGAN), VEEGAN's tab.png (akashgit/VEEGAN, the project page's Tables 1-2).
PACGAN_T1 = "Lin et al. 2018 (PacGAN), Table 1, 10 trials, mean ± standard error"
PACGAN_T2 = "Lin et al. 2018 (PacGAN), Table 2"
VEEGAN_T1 = "Srivastava et al. 2017 (VEEGAN), Table 1"
VEEGAN_T2 = "Srivastava et al. 2017 (VEEGAN), Table 2"


@dataclass(frozen=True)
class PublishedModes:
    """One printed row on a mode-collapse benchmark; a value the table does not print is None
    (VEEGAN prints no standard errors and no reverse KL on the toys)."""

    model: str
    benchmark: str  # ring | grid | stacked_mnist
    modes: float
    modes_se: float | None
    hq: float | None  # % high-quality samples
    hq_se: float | None
    kl: float | None  # PacGAN: reverse KL; VEEGAN stacked MNIST: KL
    kl_se: float | None
    source: str


MODE_COLLAPSE: tuple[PublishedModes, ...] = (
    PublishedModes("GAN", "ring", 1, None, 99.3, None, None, None, VEEGAN_T1),
    PublishedModes("Unrolled GAN", "ring", 7.6, None, 35.6, None, None, None, VEEGAN_T1),
    PublishedModes("VEEGAN", "ring", 8, None, 52.9, None, None, None, VEEGAN_T1),
    PublishedModes("GAN", "grid", 3.3, None, 0.5, None, None, None, VEEGAN_T1),
    PublishedModes("Unrolled GAN", "grid", 23.6, None, 16, None, None, None, VEEGAN_T1),
    PublishedModes("VEEGAN", "grid", 24.6, None, 40, None, None, None, VEEGAN_T1),
    PublishedModes("GAN", "ring", 6.3, 0.5, 98.2, 0.2, 0.45, 0.09, PACGAN_T1),
    PublishedModes("PacGAN2", "ring", 7.9, 0.1, 95.6, 2.0, 0.07, 0.03, PACGAN_T1),
    PublishedModes("GAN", "grid", 17.3, 0.8, 94.8, 0.7, 0.70, 0.07, PACGAN_T1),
    PublishedModes("PacGAN4", "grid", 24.8, 0.2, 93.6, 0.6, 0.04, 0.01, PACGAN_T1),
    PublishedModes("DCGAN", "stacked_mnist", 99, None, None, None, 3.4, None, VEEGAN_T2),
    PublishedModes("Unrolled GAN", "stacked_mnist", 48.7, None, None, None, 4.32, None, VEEGAN_T2),
    PublishedModes("VEEGAN", "stacked_mnist", 150, None, None, None, 2.95, None, VEEGAN_T2),
    PublishedModes(
        "DCGAN (PacGAN's implementation)",
        "stacked_mnist",
        78.9,
        6.46,
        None,
        None,
        4.50,
        0.127,
        PACGAN_T2,
    ),
    PublishedModes("PacDCGAN2", "stacked_mnist", 1000, 0.0, None, None, 0.06, 0.003, PACGAN_T2),
)
