"""The TFD Parzen chapter in words: what data ran, how much training it got, and whether its number
may be read beside the published one (`report/published.py`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from replication.chapters.parzen_tfd import ParzenTfdConfig
from replication.datasets.faces import STANDIN_FILES, FaceFolds
from replication.report.published import ADVERSARIAL_TFD


def data_table(faces: FaceFolds, cfg: ParzenTfdConfig) -> pd.DataFrame:
    """Images per split of each evaluated fold, and the split the generator trains on."""
    sizes = pd.DataFrame(faces.split_sizes()).set_index("fold").iloc[: cfg.n_folds]
    sizes["generator trains on"] = faces.generator_split
    return sizes


def standin_note(faces: FaceFolds) -> str:
    """On a stand-in face set, why its number must not be read beside the published one."""
    if faces.is_tfd:
        return ""
    pub = ADVERSARIAL_TFD
    names = ", ".join(f"`{f}`" for f, _, _ in STANDIN_FILES.values())
    return (
        f"**This run did not use TFD.** It used {faces.name} ({faces.images.shape[0]} images, "
        f"file `{Path(faces.source).name}`, MD5 `{faces.file_md5}`), resized to 48×48 and split "
        "into 5 folds the way TFD is. Its log-likelihoods measure other images, of other people, "
        "with far fewer training images (TFD has about 98,000 unlabeled ones) and **cannot be "
        f"compared with the published {pub.published:.0f} ± {pub.published_se:g}**. "
        f"Stand-in files: {names}."
    )


def training_note(history: pd.DataFrame, faces: FaceFolds) -> str:
    """How much training the generators got, in updates, and whether D separated anything."""
    if history.empty:
        return "No training ran (zero epochs)."
    last = history.groupby(["generator", "stage"], sort=False).last()
    updates = last.groupby("generator").step.sum()
    gap = (last.d_real - last.d_fake).xs("pretrain", level="stage")
    lo, hi = int(updates.min()), int(updates.max())
    text = (
        f"Each generator made {lo:,}" + (f"–{hi:,}" if hi != lo else "") + " updates over both "
        f"stages; in its last stage-1 epoch, mean D(x) − D(G(z)) was between {gap.min():.2g} and "
        f"{gap.max():.2g}."
    )
    if not faces.is_tfd:
        n = faces.generator_rows(0).size
        text += (
            f" With {n} training images a batch of 100 gives {n // 100} updates per epoch, so "
            "the code's 50 + 22 epochs are a few hundred updates at most, where TFD's roughly "
            "98,000 unlabeled images give about 70,000."
        )
    if float(gap.abs().max()) < 0.01:
        text += (
            " **D has hardly begun to tell data from samples**: the generators are still close "
            "to their initialisation (the data's mean face through random sparse output "
            "weights), and the log-likelihood below scores that, not a trained GAN."
        )
    return text
