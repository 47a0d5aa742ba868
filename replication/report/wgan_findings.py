"""WGAN vs JS in words: the thresholds, the verdicts and the findings text of the chapter.

The chapter computes the numbers (toys, correlations, scores); this module only reads them, so
the text, the claims table (`wgan_claims`) and summary.json cannot disagree on a threshold.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from replication.metrics.curves import recent

if TYPE_CHECKING:
    from replication.chapters.wgan_vs_js import WganVsJsConfig

# A run fails when the classifier is unsure what its samples are: their mean conditional
# perplexity exp(E H(p(y|x))) = effective classes / classifier score (1 = every sample one
# clear digit, 10 = no idea) is above this. It has collapsed when its grid is nearly one picture
# repeated, or its confidently read samples spread over fewer than 2 digits.
FAILS_ABOVE_PERPLEXITY = 3.0
# below this best classifier score no run makes digits: the MNIST findings are called early
EARLY_BELOW_CLASSIFIER_SCORE = 3.0
COLLAPSED_BELOW_DIVERSITY = 0.3
# |Spearman| above TRACKS: a loss tracks (or runs against) quality; between BORDERLINE and
# TRACKS: borderline; at or below BORDERLINE: no relation. One set for the text and the claims.
TRACKS, BORDERLINE = 0.6, 0.4
CANNOT_JUDGE = "cannot be judged (fewer than 3 quality checkpoints, or a constant curve)"
BORDERLINE_NOTE = f"borderline, |ρ| {BORDERLINE}-{TRACKS}"


# -- 1. parallel lines ---------------------------------------------------------------------------
def parallel_lines_text(df: pd.DataFrame, errors: dict[str, float]) -> str:
    """The section's findings in words, every number from this run."""
    off0 = df[df.theta != 0]
    e = errors
    return (
        f"Over the {len(df)} values of θ, the WGAN-GP estimate is within "
        f"{e['parallel_lines_max_abs_err_w1']:.2g} of W1 = |θ|, and away from θ = 0 its gradient "
        f"has magnitude at least {e['parallel_lines_min_abs_w1_gp_grad_off0']:.2f} (closed form: "
        f"1). The clipped critic's scale is K = {e['parallel_lines_wgan_scale_k']:.4f} (fitted by "
        "least squares on this same grid, so the next error is optimistic); divided "
        f"by K it is within {e['parallel_lines_max_abs_err_w1_clipped_rescaled']:.2g} of W1. The "
        f"discriminator's JSD estimate is within {e['parallel_lines_max_abs_err_js']:.2g} of the "
        f"closed form and its gradient is at most {e['parallel_lines_max_abs_js_grad']:.2g} in "
        f"magnitude (mean |gradient| for θ ≠ 0: {off0.gan_grad.abs().mean():.2g}, against "
        f"{off0.wgan_gp_grad.abs().mean():.2f} for WGAN-GP)."
    )


# -- 3. does a loss track sample quality? --------------------------------------------------------
def interval_text(corr: pd.DataFrame, run: str) -> str:
    """The 90% interval of a run's Spearman with the FID, as a parenthesis ('' where none)."""
    lo, hi = corr.loc[run, "spearman_fid_90%_low"], corr.loc[run, "spearman_fid_90%_high"]
    return "" if math.isnan(lo) else f" (90% interval {lo:+.2f} to {hi:+.2f})"


def band(rho: float) -> str:
    """'+' / '-' beyond TRACKS, '+?' / '-?' borderline, '0' no relation, 'nan'."""
    if math.isnan(rho):
        return "nan"
    if abs(rho) <= BORDERLINE:
        return "0"
    return ("+" if rho > 0 else "-") + ("" if abs(rho) > TRACKS else "?")


def verdict(rho: float) -> str:
    """A correlation already signed so that + means 'the loss falls as samples improve'.
    |rho| between BORDERLINE and TRACKS is called borderline rather than cut at one value: over
    some 40 autocorrelated checkpoints a few tenths is within what another seed could move."""
    return {
        "nan": CANNOT_JUDGE,
        "0": "does not track it",
        "+": "tracks it",
        "+?": f"tracks it weakly ({BORDERLINE_NOTE})",
        "-": "runs against it",
        "-?": f"runs weakly against it ({BORDERLINE_NOTE})",
    }[band(rho)]


def jsd_verdict(rho: float) -> str:
    """The GAN's JSD estimate, signed like `verdict`. The paper's claim (Fig. 4) is that it is
    no measure of quality: flat, or rising while samples improve; only a JSD that falls as
    samples improve contradicts it."""
    return {
        "nan": f"the JSD estimate {CANNOT_JUDGE}",
        "+": "the JSD estimate falls as samples improve, which the paper's claim does not expect",
        "+?": f"the JSD estimate falls weakly as samples improve ({BORDERLINE_NOTE})",
        "0": "the JSD estimate does not move with it, as the paper claims",
        "-?": "the JSD estimate rises weakly while samples improve, as in the paper's Fig. 4",
        "-": "the JSD estimate rises while samples improve, as in the paper's Fig. 4: it is no "
        "measure of quality",
    }[band(rho)]


def claim_holds(rho: float, jsd: bool) -> float:
    """1 where a signed correlation supports the paper's claim about that loss, 0.5 borderline,
    0 against, NaN unknown: the scale of the claims table."""
    b = band(rho)
    if b == "nan":
        return math.nan
    if jsd:
        return {"+": 0.0, "+?": 0.5}.get(b, 1.0)
    return {"+": 1.0, "+?": 0.5}.get(b, 0.0)


# -- 3. robustness -------------------------------------------------------------------------------
def robust_pair(
    tables: dict[str, pd.DataFrame], generator: str
) -> tuple[int, pd.Series, pd.Series] | None:
    """The GAN and WGAN runs of one generator compared where both have been (a budget can stop
    one before the other): that iteration and each run's `recent` scores there; None until
    both have a checkpoint."""
    names = [f"{loss}-{generator}" for loss in ("gan", "wgan")]
    if not all(n in tables for n in names):
        return None
    common = int(min(tables[n].g_step.iloc[-1] for n in names))
    gan, wgan = (recent(tables[n], common) for n in names)
    return common, gan, wgan


def run_state(row: pd.Series) -> str:
    """'collapsed' (one picture repeated, or about one digit), 'fails' (samples the classifier
    cannot read as digits) or 'learns'. Collapse is tested first: one clear digit repeated has
    a classifier score near 1 too, and is a collapse, not a failure to make digits."""
    if row.get("diversity", math.nan) < COLLAPSED_BELOW_DIVERSITY:
        return "collapsed"
    if row.effective_classes / row.classifier_score > FAILS_ABOVE_PERPLEXITY:
        return "fails"
    return "collapsed" if row.effective_classes < 2 else "learns"


def robustness_status(gan: pd.Series, wgan: pd.Series) -> str:
    """Whether the two runs support the paper's claim that WGAN still learns where the GAN
    fails or collapses: 'yes'; 'partly' (both learn, WGAN ahead by more than a fifth of FID);
    'no'. The findings and the claims table both read it."""
    g, w = run_state(gan), run_state(wgan)
    if w != "learns":
        return "no"
    if g != "learns":
        return "yes"
    return "partly" if wgan.fid < 0.8 * gan.fid else "no"


def robustness_verdict(gan: pd.Series, wgan: pd.Series, target: int | None = None) -> str:
    """`robustness_status` in words, each run's state first. `target` is the full budget, so a
    verdict at it is not called early."""
    budget = (
        f"{int(gan.g_step)} generator iterations"
        if gan.g_step == wgan.g_step
        else f"{int(gan.g_step)} and {int(wgan.g_step)} generator iterations"
    )
    at_target = target is not None and min(gan.g_step, wgan.g_step) >= target
    when = "at the full budget" if at_target else f"at this budget ({budget}; not the full one)"
    g, w = run_state(gan), run_state(wgan)
    said = {
        "fails": "fails (the classifier cannot read its samples as digits: conditional "
        f"perplexity above {FAILS_ABOVE_PERPLEXITY:g})",
        "collapsed": f"collapses (sample diversity below {COLLAPSED_BELOW_DIVERSITY} × that of "
        "real digits, or fewer than 2 effective classes)",
        "learns": "learns",
    }
    both = f"The GAN {said[g]}; WGAN {said[w]}."
    status = robustness_status(gan, wgan)
    if status == "yes":
        return f"{both} WGAN still learns where the GAN does not, as the paper reports ({when})."
    if status == "partly":
        return (
            f"{both} Both learn, WGAN clearly ahead by FID {when}: the paper's claim in part (it "
            "reports the GAN failing outright)."
        )
    if g != "learns" and w != "learns":
        return f"{both} The paper's robustness claim is not reproduced {when}: neither learns."
    if w != "learns":
        return f"{both} The opposite of the paper's claim {when}."
    if gan.fid < 0.8 * wgan.fid:
        return f"{both} Both learn; the GAN is ahead by FID {when}: the opposite of the claim."
    return (
        f"{both} Both learn, with FIDs within a fifth of each other: the paper's claim is not "
        f"shown {when}."
    )


def makes_no_digits(tables: dict[str, pd.DataFrame]) -> bool:
    """True while no checkpoint of any run reaches EARLY_BELOW_CLASSIFIER_SCORE: the MNIST
    findings and claims are then about the first moves away from noise, and say so."""
    return max(t.classifier_score.max() for t in tables.values()) < EARLY_BELOW_CLASSIFIER_SCORE


# -- 3. the findings text ------------------------------------------------------------------------
def _loss_vs_quality(corr: pd.DataFrame, runs: dict[str, str]) -> list[str]:
    """One line per score: each main run's Spearman and what it says about the paper's claim."""
    text = []
    for short, sign, label in (("parzen", -1, "Parzen LL"), ("fid", 1, "FID")):
        rho = {k: corr.loc[v, f"spearman_{short}"] for k, v in runs.items()}
        listed = ", ".join(
            f"{k} {'n/a' if math.isnan(v) else f'{v:+.2f}'}"
            + (interval_text(corr, runs[k]) if short == "fid" else "")
            for k, v in rho.items()
        )
        parts = []
        if "WGAN critic estimate" in rho:
            parts.append(
                f"the clipped WGAN's estimate {verdict(sign * rho['WGAN critic estimate'])}"
            )
        if "WGAN-GP" in rho:
            parts.append(f"WGAN-GP's {verdict(sign * rho['WGAN-GP'])}")
        if "GAN JSD" in rho:
            parts.append(jsd_verdict(sign * rho["GAN JSD"]))
        said = "; ".join(parts)
        text.append(f"- With {label}: {listed}. {said[:1].upper()}{said[1:]}.")
    return text


def _second_half(late: pd.DataFrame, runs: dict[str, str]) -> list[str]:
    """The FID correlations over each run's second half, where a run has one."""
    parts = []
    for k, v in runs.items():
        if v not in late.index:
            continue
        rho = float(late.loc[v, "spearman_fid"])
        n = int(late.loc[v, "checkpoints"])
        said = jsd_verdict(rho) if k == "GAN JSD" else verdict(rho)
        value = "n/a" if math.isnan(rho) else f"{rho:+.2f}"
        parts.append(f"{k} {value} ({n} checkpoints): {said}")
    if not parts:
        return []
    return [
        "- Second half of each run only (past half its reach; the first move away from "
        "noise left out), with FID: " + "; ".join(parts) + "."
    ]


def _scores_agree(corr: pd.DataFrame) -> list[str]:
    """Whether the Parzen LL and the FID order each run's checkpoints alike."""
    agree = corr.spearman_parzen_vs_fid.dropna()
    if not len(agree):
        return []
    return [
        f"- The two scores agree on the order of a run's checkpoints (ρ(Parzen, FID) < −0.5) "
        f"in {int((agree < -0.5).sum())} of {len(agree)} runs (ρ from {agree.min():+.2f} to "
        f"{agree.max():+.2f}); where they disagree, Parzen's known weakness at ranking "
        "samples (Theis et al. 2016) is one candidate cause; the sample grids let a reader "
        "judge."
    ]


def _early_caveat(tables: dict[str, pd.DataFrame], real: dict[str, float] | None) -> list[str]:
    """A caveat while no run makes digits: the correlations are about leaving noise behind."""
    if not makes_no_digits(tables):
        return []
    best_cs = max(t.classifier_score.max() for t in tables.values())
    ref = f" (real test images: {real['classifier_score']:.1f})" if real else ""
    return [
        f"*Caveat*: no run's samples are confidently recognised digits yet: the best "
        f"classifier score of any checkpoint is {best_cs:.2f} of 10{ref}. These correlations "
        "describe the first moves away from noise, not the converged regime of the paper's "
        "figures; the `paper` profile is the test of the claim."
    ]


def _scores_in_words(f: pd.Series, averaged: bool = False) -> str:
    """A run's scores at its last checkpoint (or averaged, `recent`) as one phrase."""
    div = f.get("diversity", math.nan)
    when = "over the checkpoints up to" if averaged else "after"
    return (
        f"FID {f.fid:.1f}, classifier score {f.classifier_score:.2f}, "
        f"{f.effective_classes:.1f} effective classes, "
        + ("" if math.isnan(div) else f"diversity {div:.2f}, ")
        + f"Parzen {f.quality:.1f} nats {when} {int(f.g_step)} generator iterations"
    )


def _robustness(tables: dict[str, pd.DataFrame], cfg: WganVsJsConfig) -> str:
    """The robustness paragraph: the GAN and WGAN runs of the robust generator side by side."""
    g, r = cfg.generator, cfg.robust_generator
    final = {n: t.iloc[-1] for n, t in tables.items()}
    pair = robust_pair(tables, r)
    if pair is None:
        return (
            f"**Robustness** ({r} generator): not shown yet, the runs are not both trained "
            "(time budget); a re-run resumes them."
        )
    common, gr, wr = pair
    main = [
        f"{label} {_scores_in_words(final[n])}"
        for label, n in (("GAN", f"gan-{g}"), ("WGAN", f"wgan-{g}"))
        if n in final
    ]
    return (
        f"**Robustness** ({r} generator"
        + (
            f", compared at {int(common)} generator iterations, the furthest both runs have reached"
            if final[f"gan-{r}"].g_step != final[f"wgan-{r}"].g_step
            else ""
        )
        + f"; each score the mean of the run's last {int(gr.checkpoints)} quality "
        f"checkpoints): GAN {_scores_in_words(gr, True)}; WGAN {_scores_in_words(wr, True)}. "
        + (f"(With the {g} generator: {'; '.join(main)}.) " if main else "")
        + robustness_verdict(gr, wr, cfg.g_iters)
    )


def training_findings(
    corr: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    cfg: WganVsJsConfig,
    real: dict[str, float] | None = None,
    late: pd.DataFrame | None = None,
) -> str:
    """What this run's MNIST curves say about the paper's two claims, in words; `real` are the
    scores of real test images (the reference a good generator approaches), `late` the
    correlations over the second half of each run. Runs without a quality checkpoint yet (a
    time budget) are left out and named."""
    g = cfg.generator
    named = {"WGAN critic estimate": f"wgan-{g}", "WGAN-GP": f"wgan_gp-{g}", "GAN JSD": f"gan-{g}"}
    runs = {k: v for k, v in named.items() if v in corr.index}
    if not runs:
        return "No main run has a quality checkpoint yet: nothing to compare."
    reach = ", ".join(f"{v} {int(tables[v].g_step.iloc[-1])}" for v in runs.values())
    text = [
        f"**Loss vs quality** (Spearman over each run's quality checkpoints, up to these "
        f"generator iterations: {reach}; a loss that falls as samples improve correlates "
        "negatively with Parzen LL and positively with FID)."
    ]
    missing = [v for v in named.values() if v not in runs.values()]
    if missing:
        text.append(f"*Not yet trained* (time budget): {', '.join(missing)}.")
    text += _loss_vs_quality(corr, runs)
    if late is not None:
        text += _second_half(late, runs)
    text += _scores_agree(corr)
    text += _early_caveat(tables, real)
    if cfg.robust_generator != g:
        text.append(_robustness(tables, cfg))
    return "\n\n".join(text)
