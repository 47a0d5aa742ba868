"""WGAN vs JS in words: verdicts, robustness, findings text and the claims table, computed from a
run's tables, never written in by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from replication.chapters.wgan_vs_js import WganVsJsConfig, final_scores, summary_metrics
from replication.metrics.curves import correlations, second_half
from replication.report.wgan_claims import claims_table
from replication.report.wgan_findings import (
    jsd_verdict,
    robustness_status,
    robustness_verdict,
    run_state,
    training_findings,
)


def _scores(
    fid: float,
    classes: float,
    g_step: int = 3000,
    cs: float | None = None,
    diversity: float = 0.8,
) -> pd.Series:
    """Scores of a run; the classifier score defaults to that of confident samples (it can
    never exceed the effective classes: exp(H(p(y)) - E H(p(y|x))))."""
    cs = 0.95 * classes if cs is None else cs
    assert cs <= classes
    return pd.Series(
        {
            "fid": fid,
            "effective_classes": classes,
            "classifier_score": cs,
            "diversity": diversity,
            "quality": 0.0,
            "g_step": g_step,
        }
    )


def test_run_state_tells_collapse_from_failure():
    assert run_state(_scores(50, 9.5)) == "learns"
    # one clear digit, varied strokes: classifier score ~1, but sure of each sample: collapse
    assert run_state(_scores(900, 1.06, cs=1.0)) == "collapsed"
    # one picture repeated, whatever the classifier says
    assert run_state(_scores(900, 4.0, cs=1.0, diversity=0.05)) == "collapsed"
    # varied noise the classifier cannot read (perplexity 4.4 / 1.01): fails
    assert run_state(_scores(1100, 4.48, cs=1.01)) == "fails"


def test_robustness_verdict_judges_each_run_before_comparing_fids():
    # both make varied noise no classifier reads as digits: no FID race
    gan, wgan = _scores(1212.8, 3.6, cs=1.0), _scores(1000.0, 4.1, cs=1.0)
    text = robustness_verdict(gan, wgan)
    assert "not reproduced" in text and "neither learns" in text
    assert robustness_status(gan, wgan) == "no"
    # the GAN collapsed (one picture repeated), WGAN learns: the paper's claim
    gan, wgan = _scores(300, 1.1, cs=1.05, diversity=0.05), _scores(400, 8)
    assert robustness_status(gan, wgan) == "yes"
    text = robustness_verdict(gan, wgan)
    assert "as the paper reports" in text and "The GAN collapses" in text
    # collapse read from the classes too, when the classifier is sure of each sample
    assert robustness_status(_scores(300, 1.2), _scores(400, 8)) == "yes"
    # both learn: FID decides, by more than a fifth, and WGAN ahead is the claim only in part
    assert robustness_status(_scores(1000, 8), _scores(300, 8)) == "partly"
    assert "in part" in robustness_verdict(_scores(1000, 8), _scores(300, 8))
    assert "the GAN is ahead" in robustness_verdict(_scores(300, 8), _scores(1000, 8))
    assert "within a fifth" in robustness_verdict(_scores(300, 8), _scores(330, 8))
    # WGAN fails where the GAN learns
    assert "opposite" in robustness_verdict(_scores(300, 8), _scores(1000, 8, cs=1.1))
    # early or at the full budget: said which
    assert "not the full one" in robustness_verdict(_scores(300, 8), _scores(330, 8), target=20000)
    full = robustness_verdict(_scores(300, 8, 20000), _scores(330, 8, 20000), target=20000)
    assert "at the full budget" in full


def test_jsd_verdict_follows_the_sign_of_the_papers_claim():
    # signed so that + = falls as samples improve (like a loss)
    assert "does not expect" in jsd_verdict(0.8)
    assert "Fig. 4" in jsd_verdict(-0.8)  # rises as samples improve: what the paper shows
    assert "as the paper claims" in jsd_verdict(0.1)
    assert "cannot be judged" in jsd_verdict(float("nan"))


def _table(fid_start: float, steps: int = 4) -> pd.DataFrame:
    g = [500 * (i + 1) for i in range(steps)]
    return pd.DataFrame(
        {
            "g_step": g,
            "loss_filtered": [3.0 - 0.5 * i for i in range(steps)],
            "quality": [-300.0 + 50 * i for i in range(steps)],
            "fid": [fid_start - 100 * i for i in range(steps)],
            "classifier_score": [4.0] * steps,
            "effective_classes": [8.0] * steps,
        }
    )


def test_findings_and_summary_of_a_partly_trained_paper_run():
    """A time budget can stop the paper profile after some runs: the page and summary.json say
    which runs exist and how far they got, and make no claim about the missing ones."""
    cfg = WganVsJsConfig.for_profile("paper")
    tables = {"gan-dcgan": _table(900, steps=40), "wgan-dcgan": _table(800, steps=3)}
    corr = correlations(tables)
    text = training_findings(corr, tables, cfg)
    assert "wgan-dcgan 1500, gan-dcgan 20000" in text
    assert "*Not yet trained* (time budget): wgan_gp-dcgan." in text
    assert "WGAN-GP" not in text.split("Not yet trained")[1]
    assert "Robustness** (mlp generator): not shown yet" in text
    summary = summary_metrics(cfg, corr, final_scores(tables), 0.99)
    assert summary["corr_wgan_gp_loss_vs_fid"] is None
    assert summary["corr_gan_js_vs_fid"] == pytest.approx(1.0)
    assert summary["final_g_iters"] == {"gan-dcgan": 20000, "wgan-dcgan": 1500}
    assert training_findings(corr.iloc[:0], {}, cfg).startswith("No main run")


def test_robustness_is_judged_where_both_runs_have_been_and_nan_is_not_a_verdict():
    cfg = WganVsJsConfig.for_profile("paper")
    gan_mlp = _table(900, steps=40)  # finished: FID falls to 900 - 3900 < 0 ...
    gan_mlp["fid"] = [300.0] * 40  # ... say a flat 300
    wgan_mlp = _table(1000, steps=2)  # stopped by the budget after 1,000 iterations
    tables = {
        "gan-dcgan": _table(900, steps=2),  # two checkpoints: no correlation yet
        "gan-mlp": gan_mlp,
        "wgan-mlp": wgan_mlp,
    }
    gan_mlp.loc[:1, "fid"] = 2000.0  # up to 1,000 iterations the GAN was far behind
    text = training_findings(correlations(tables), tables, cfg)
    assert "compared at 1000 generator iterations, the furthest both runs have reached" in text
    assert "GAN FID 2000.0" in text and "WGAN clearly ahead by FID" in text
    assert "cannot be judged" in text and "nan" not in text


def test_claims_table_quotes_each_claim_with_a_known_verdict():
    cfg = WganVsJsConfig.for_profile("paper")
    rising = _table(900, steps=40)  # loss falls while FID falls: tracks
    tables = {"wgan-dcgan": rising, "gan-dcgan": _table(900, steps=40)}
    tables["gan-dcgan"]["loss_filtered"] = np.linspace(0.1, 0.5, 40)  # JSD rises: Fig. 4
    errors = {
        "parallel_lines_max_abs_err_w1": 0.07,
        "parallel_lines_min_abs_w1_gp_grad_off0": 0.98,
        "parallel_lines_max_abs_err_js": 1e-4,
        "parallel_lines_max_abs_js_grad": 0.02,
    }
    grads = pd.DataFrame(
        {
            "model": ["GAN (JS)", "WGAN-GP"],
            "mean |d output / dx| at fake samples": [1e-5, 1.2],
        }
    )
    t = claims_table(
        errors, grads, correlations(tables), correlations(second_half(tables)), tables, cfg
    )
    labels = t["claim (published)"].str.extract(r"\((.*)\)$")[0]
    verdict = dict(zip(labels, t["agrees?"], strict=True))
    assert t["agrees?"].iloc[0] == "yes" and t["agrees?"].iloc[1] == "yes"
    assert verdict["clipped WGAN"] == "yes" and verdict["GAN"] == "yes"
    assert verdict["WGAN-GP"] == "cannot be judged"  # not trained
    assert t["agrees?"].iloc[-1] == "cannot be judged"  # robustness runs missing


def test_findings_read_the_jsd_sign_under_both_scores_and_in_the_second_half():
    cfg = WganVsJsConfig.for_profile("paper", robust_generator="dcgan")
    improving = _table(900, steps=40)  # Parzen rises, FID falls throughout
    gan = improving.copy()
    gan["loss_filtered"] = np.linspace(0.05, 0.1, 40)  # the JSD creeps up: the paper's Fig. 4
    tables = {"gan-dcgan": gan, "wgan-dcgan": improving}
    corr, late = correlations(tables), correlations(second_half(tables))
    text = training_findings(corr, tables, cfg, late=late)
    parzen, fid, half = [ln for ln in text.split("\n") if ln.startswith("- ")][:3]
    for line in (parzen, fid, half):
        assert "rises while samples improve" in line, line
        assert "WGAN critic estimate" in line and "tracks it" in line
    assert "Second half" in half and "(20 checkpoints)" in half
    final = pd.DataFrame(
        {"generator iterations": [20000, 20000], "Parzen LL (nats)": [0.0, 0.0]},
        index=["gan-dcgan", "wgan-dcgan"],
    ).assign(**{"FID": 1.0, "effective classes": 9.0, "sample diversity": 1.0})
    s = summary_metrics(cfg, corr, final, 0.99, late)
    assert s["corr_gan_js_vs_fid_second_half"] == pytest.approx(-1.0)
    assert s["corr_wgan_loss_vs_fid_second_half"] == pytest.approx(1.0)
    assert s["corr_wgan_gp_loss_vs_fid_second_half"] is None  # not trained
    assert s["median_window"] == cfg.median_window and "negative" in s["corr_sign_convention"]
