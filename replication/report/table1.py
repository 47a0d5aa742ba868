"""Table 1 of Goodfellow et al. 2014 as the book prints it: the published rows, then ours.

One `table1` serves both Parzen chapters; each chapter's own rows (and the columns they bring)
come from `mnist_rows` and `tfd_rows`, so the two tables differ only where their data do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from replication.chapters.parzen_tfd import across_folds
from replication.datasets.faces import FaceFolds
from replication.metrics.parzen import ParzenResult
from replication.report.published import ADVERSARIAL_MNIST, Published


def table1(
    published: Sequence[Published],
    ours: Sequence[Mapping[str, str]],
    published_cells: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Published rows ("value ± se") above ours, every cell a string, indexed by model.

    The columns are those of our first row, in its order; a published row fills `model`,
    `published`, `source` and `published_cells` (e.g. the data it was measured on) and leaves
    the rest blank, so that no published row can be read as ours."""
    columns = list(ours[0])
    blank = dict.fromkeys(columns, "")
    rows = [
        {
            **blank,
            **(published_cells or {}),
            "model": r.model,
            "published": f"{r.published:.0f} ± {r.published_se:g}",
            "source": r.source,
        }
        for r in published
    ]
    rows += [{**blank, **r} for r in ours]
    return pd.DataFrame(rows, columns=columns).set_index("model")


def mnist_rows(ours: ParzenResult, refs: pd.DataFrame, label: str) -> list[dict[str, str]]:
    """Our MNIST rows: the reproduced net (`difference` is ours minus the published value), then
    the reference rows that show how far the estimator can be trusted."""
    pub = ADVERSARIAL_MNIST.published
    rows = [
        {
            "model": f"Adversarial nets, reproduced ({label})",
            "published": "",
            "ours": f"{ours.mean:.1f} ± {ours.se:.1f}",
            "difference": f"{ours.mean - pub:+.1f}",
            "source": "this run",
        }
    ]
    for r in refs.itertuples():
        rows.append(
            {
                "model": f"Reference: {r.model}",
                "published": "",
                "ours": f"{r.ours:.1f} ± {r.ours_se:.1f}",
                "difference": "",
                "source": f"this run ({r.note})",
            }
        )
    return rows


def tfd_rows(per_fold: pd.DataFrame, faces: FaceFolds, label: str) -> list[dict[str, str]]:
    """Our TFD row (mean ± standard error across folds), flagged as comparable with the
    published rows only on the real TFD."""
    mean, se = across_folds(per_fold)
    return [
        {
            "model": f"Adversarial nets, this code ({label})",
            "data": faces.name,
            "published": "",
            "ours": f"{mean:.0f} ± {se:.0f}" if math.isfinite(se) else f"{mean:.0f}",
            "comparable to the published rows": (
                "yes (same data and protocol)"
                if faces.is_tfd
                else "NO: other images, other people, far fewer of them"
            ),
            "source": f"this run, {len(per_fold)} fold(s)",
        }
    ]
