"""Curve statistics of the WGAN chapter: trailing median, correlations with their block-bootstrap
intervals, windows of a run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from replication.metrics.curves import correlations, loss_curve, recent, spearman_interval


def test_recent_scores_average_the_last_checkpoints_up_to_a_step():
    t = pd.DataFrame({"g_step": [500, 1000, 1500, 2000], "fid": [900.0, 1200.0, 600.0, 30.0]})
    r = recent(t, 1500)
    assert r.fid == pytest.approx(900.0) and r.g_step == 1500 and r.checkpoints == 3


def test_loss_curve_median_is_trailing():
    trace = pd.DataFrame({"g_step": [1, 2, 3, 4, 5], "d_loss": [-1.0, -2.0, -3.0, -100.0, -5.0]})
    c = loss_curve(trace, "wgan", 3)
    # the value at step 3 does not see the spike at step 4
    assert c.filtered.tolist()[:3] == [1.0, 1.5, 2.0]
    assert c.filtered.iloc[3] == 3.0


def test_correlations_report_whether_parzen_and_fid_agree():
    t = pd.DataFrame(
        {
            "loss_filtered": [3.0, 2.0, 1.0, 0.5],
            "quality": [-300.0, -200.0, -100.0, -50.0],  # improving
            "fid": [900.0, 600.0, 300.0, 100.0],  # improving
        }
    )
    corr = correlations({"run": t}).loc["run"]
    assert corr.spearman_parzen == pytest.approx(-1) and corr.spearman_fid == pytest.approx(1)
    assert corr.spearman_parzen_vs_fid == pytest.approx(-1)


def test_spearman_interval_covers_the_value_and_excludes_zero_only_for_a_real_trend():
    rng = np.random.default_rng(0)
    x = np.arange(40.0)
    y = x + rng.normal(0, 5, 40)
    lo, hi = spearman_interval(x, y)
    assert 0.5 < lo <= spearmanr(x, y).statistic <= hi <= 1.0
    lo, hi = spearman_interval(x, rng.normal(size=40))
    assert lo < 0 < hi
    assert all(np.isnan(spearman_interval(x[:19], x[:19])))  # fewer than four blocks
    # circular blocks: the first and last pairs are drawn like the others, so a run whose
    # relation lives in its first checkpoints keeps it in the interval
    y = np.r_[np.linspace(10, 1, 8), rng.normal(1, 0.01, 32)]
    lo, hi = spearman_interval(x, y)
    assert lo <= spearmanr(x, y).statistic <= hi
