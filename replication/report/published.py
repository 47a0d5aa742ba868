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
