"""The Table 1 ledger on synthetic committed runs whose factors are known by construction."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from replication.report import table1_ledger as L

CFG = {"lr": 0.1, "lr_decay": 1.000004, "min_lr": 1e-6, "train_images": 50000, "batch_size": 100}


def _run(root: Path, name: str, *, seed: int, offset: float, epochs: int, **cfg) -> None:
    """A run whose test LL is 100 + 0.1·epoch + offset at every 5th epoch."""
    d = root / name
    d.mkdir(parents=True)
    ep = np.arange(1, epochs + 1)
    ll = np.where(ep % 5 == 0, 100 + 0.1 * ep + offset, np.nan)
    pd.DataFrame({"epoch": ep, "valid_ll": ll, "test_ll": ll}).to_csv(
        d / "training_history.csv", index=False
    )
    summary = {
        "mnist_parzen_ll_mean": 100 + 0.1 * epochs + offset,
        "mnist_parzen_ll_se": 1.0,
        "epochs_trained": epochs,
        "epoch_selected": epochs,
        "ll_fine_sigma": 100 + 0.1 * epochs + offset + 2.0,
        "sigma_fine": 0.2,
        "sample_draw_sd": 0.5,
    }
    (d / "summary.json").write_text(json.dumps(summary))
    config = {**CFG, "seed": seed, **cfg}
    (d / "provenance.json").write_text(json.dumps({"profile": "paper", "config": config}))


@pytest.fixture
def chapter(tmp_path: Path) -> Path:
    fixed = {"bias_clip": 1e-7, "noise": "uniform"}
    for s, off in ((0, 0.0), (1, 2.0), (2, -2.0)):
        _run(tmp_path, f"paper-seed{s}", seed=s, offset=off, epochs=300, **fixed)
    _run(tmp_path, "paper-gaussian-seed0", seed=0, offset=5.0, epochs=300, bias_clip=1e-7,
         noise="gaussian")  # fmt: skip
    _run(tmp_path, "paper", seed=0, offset=-3.0, epochs=1000)  # legacy: no bias_clip, no noise
    (tmp_path / "_checkpoints").mkdir()
    return tmp_path


def test_factors_known_by_construction(chapter: Path) -> None:
    led = L.build(L.load_runs(chapter))
    rows, k = led.rows["effect (nats)"], led.keys
    assert led.groups["seeds"] == ["paper-seed0", "paper-seed1", "paper-seed2"]
    assert k["seeds"] == [0, 1, 2] and k["n_seeds"] == 3
    assert k["ll_mean_over_seeds"] == pytest.approx(130.0)
    assert k["ll_sd_over_seeds"] == pytest.approx(2.0)
    assert k["equal_epoch"] == 300
    assert k["noise_ablation"]["difference"] == pytest.approx(5.0)
    assert k["bias_ablation"]["difference"] == pytest.approx(-3.0)  # legacy run: clip 1e-3
    assert rows["σ grid (fine σ instead of logspace(-1, 0, 10))"] == pytest.approx(2.0)
    # the longest run rises 0.1 nats per epoch: 700 epochs later, 70 nats
    assert k["length_effect_to_end"] == pytest.approx(70.0)
    assert k["longest_run"] == "paper" and k["longest_run_bias_clip"] == 1e-3
    assert k["extrapolated_gain_epochs_line_to_2000"] == pytest.approx(100.0)
    # against cumulative lr the same data extrapolate to far less: the rate has decayed
    assert 0 < k["extrapolated_gain_to_2000_epochs"] < k["extrapolated_gain_epochs_line_to_2000"]
    assert "130.0 ± 2.0 nats" in led.text


def test_current_run_replaces_its_committed_copy(chapter: Path) -> None:
    runs = L.load_runs(chapter)
    seed1 = runs["paper-seed1"]
    current = L.RunRecord(
        "paper-seed1", {**seed1.summary, "mnist_parzen_ll_mean": 140.0}, seed1.config, seed1.history
    )
    k = L.build(L.load_runs(chapter, current)).keys
    assert k["ll_per_seed"] == pytest.approx([130.0, 140.0, 128.0])


def test_cumulative_lr_is_the_geometric_sum() -> None:
    epochs = np.array([0, 1, 1000])
    got = L.cumulative_lr(CFG, epochs)
    n = epochs * 500
    closed = 0.1 * (1 - 1.000004 ** (-n.astype(float))) / (1 - 1 / 1.000004)
    assert got == pytest.approx(closed, rel=1e-9)
    assert got[2] / (0.1 / (1 - 1 / 1.000004)) == pytest.approx(1 - math.exp(-2), rel=1e-5)


def test_no_seed_runs_is_a_clear_error(tmp_path: Path) -> None:
    _run(tmp_path, "paper", seed=0, offset=0.0, epochs=100)
    with pytest.raises(ValueError, match="paper-seed"):
        L.build(L.load_runs(tmp_path))
