"""The claims of Arjovsky, Chintala & Bottou (2017) and Gulrajani et al. (2017), quoted once,
beside what a run of the WGAN vs JS chapter measured.

The papers report figures, not numbers, so each claim is a sentence with the figure it rests
on; the verdicts use the thresholds of `wgan_findings`, so the table and the text agree.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from replication.chapters.wgan_vs_js_config import LOSS_LABELS, WganVsJsConfig
from replication.metrics.curves import spearman_of
from replication.report.wgan_findings import (
    claim_holds,
    interval_text,
    makes_no_digits,
    robust_pair,
    robustness_status,
    run_state,
)

# (where in the paper, the claim in words): the published claims, quoted in one place
PARALLEL_LINES = (
    "Example 1, Fig. 1",
    "On the parallel lines W1 = |θ| is continuous with a useful gradient; the JSD is "
    "log 2 for every θ ≠ 0, so it gives none",
)
SATURATION = (
    "Fig. 2",
    "The optimal discriminator saturates on far-away fake data (vanishing gradient); "
    "the critic stays close to linear there",
)
# (label, loss, where, claim): does the loss track sample quality during training?
LOSS_TRACKS_QUALITY = (
    ("clipped WGAN", "wgan", "Fig. 3", "The critic's W estimate falls as samples improve"),
    ("WGAN-GP", "wgan_gp", "Gulrajani et al. 2017", "Same for WGAN-GP's critic"),
    ("GAN", "gan", "Fig. 4", "The GAN's JSD estimate does not: flat or rising"),
)
ROBUSTNESS = "With an {generator} generator the GAN fails or collapses while WGAN still learns"
ROBUSTNESS_FIGURE = {"mlp": "Fig. 7", "dcgan_nobn": "Fig. 6"}  # any other: "Figs. 6-7"
COLUMNS = ["paper", "claim (published)", "measured here", "agrees?"]


def _agrees(scores: list[float]) -> str:
    """1 = supports the claim, 0.5 = borderline, 0 = against (bools count as 1 and 0)."""
    return "yes" if all(v == 1 for v in scores) else "no" if not any(scores) else "partly"


def _toy_rows(errors: dict[str, Any], gauss_grads: pd.DataFrame) -> list[tuple[str, ...]]:
    """The parallel lines and the two Gaussians: rows that do not depend on MNIST training."""
    e = errors
    grad = gauss_grads.set_index("model")["mean |d output / dx| at fake samples"]
    d_grad, gp_grad = grad[LOSS_LABELS["gan"]], grad[LOSS_LABELS["wgan_gp"]]
    ns = grad.get(f"{LOSS_LABELS['gan']}, non-saturating", math.nan)
    return [
        (
            *PARALLEL_LINES,
            f"WGAN-GP estimate within {e['parallel_lines_max_abs_err_w1']:.2g} of |θ|, "
            f"|gradient| ≥ {e['parallel_lines_min_abs_w1_gp_grad_off0']:.2f}; JSD estimate within "
            f"{e['parallel_lines_max_abs_err_js']:.2g} of the closed form (log 2 for θ ≠ 0, 0 at "
            "θ = 0), |gradient| ≤ "
            f"{e['parallel_lines_max_abs_js_grad']:.2g}",
            _agrees(
                [
                    e["parallel_lines_max_abs_err_w1"] < 0.1,
                    e["parallel_lines_min_abs_w1_gp_grad_off0"] > 0.5,
                    e["parallel_lines_max_abs_err_js"] < 0.05,
                    e["parallel_lines_max_abs_js_grad"] < 0.1,
                ]
            ),
        ),
        (
            *SATURATION,
            f"mean |dD/dx| at the fakes {d_grad:.2g}, WGAN-GP critic's |df/dx| {gp_grad:.2f} "
            f"(the non-saturating cost's |d(−log D)/dx|, which the MNIST GAN follows: {ns:.2g})",
            _agrees([d_grad < 0.01 * gp_grad]),
        ),
    ]


def _loss_rows(
    corr: pd.DataFrame, late: pd.DataFrame, tables: dict[str, pd.DataFrame], generator: str
) -> list[tuple[str, ...]]:
    """Each main run's loss against the FID, over the whole run and its second half."""

    def rho(table: pd.DataFrame, run: str) -> float:
        v = spearman_of(table, run, "fid")
        return math.nan if v is None else v

    rows = []
    for label, loss, where, claim in LOSS_TRACKS_QUALITY:
        run = f"{loss}-{generator}"
        whole, half = rho(corr, run), rho(late, run)
        if math.isnan(whole):
            said, ok = "not trained yet, or too few checkpoints", "cannot be judged"
        else:
            reach = int(tables[run].g_step.iloc[-1])
            said = (
                f"Spearman ρ(loss, FID) {whole:+.2f}{interval_text(corr, run)} over the run (to "
                f"{reach} G iterations), "
                + ("n/a" if math.isnan(half) else f"{half:+.2f}")
                + " over its second half"
            )
            held = [claim_holds(v, jsd=label == "GAN") for v in (whole, half)]
            ok = _agrees([v for v in held if not math.isnan(v)])
        rows.append((where, f"{claim} ({label})", said, ok))
    return rows


def _robustness_row(tables: dict[str, pd.DataFrame], cfg: WganVsJsConfig) -> tuple[str, ...]:
    """The robust generator's GAN and WGAN, compared where both have been."""
    r = cfg.robust_generator
    claim = ROBUSTNESS.format(generator=r)
    fig = ROBUSTNESS_FIGURE.get(r, "Figs. 6-7")
    pair = robust_pair(tables, r)
    if pair is None:
        return (fig, claim, "runs not both trained yet", "cannot be judged")
    common, gr, wr = pair
    said = f"at {int(common)} G iterations the GAN {run_state(gr)}, WGAN {run_state(wr)}"
    ok = robustness_status(gr, wr)
    if ok != "yes" and common < cfg.g_iters:
        ok = "not yet (time budget)"
    return (fig, claim, said, ok)


def claims_table(
    errors: dict[str, Any],
    gauss_grads: pd.DataFrame,
    corr: pd.DataFrame,
    late: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    cfg: WganVsJsConfig,
) -> pd.DataFrame:
    """The paper's claims (it gives figures, not numbers) beside what this run measured, with
    the thresholds of the findings (TRACKS and BORDERLINE for the correlations with the FID,
    over the whole run and its second half; `robustness_status`)."""
    rows = _toy_rows(errors, gauss_grads)
    toys = len(rows)  # the rows above do not depend on the MNIST training
    rows += _loss_rows(corr, late, tables, cfg.generator)
    if cfg.robust_generator != cfg.generator:
        rows.append(_robustness_row(tables, cfg))
    out = pd.DataFrame(rows, columns=COLUMNS)
    if makes_no_digits(tables):
        out.loc[out.index[toys:], "agrees?"] += " (early: no run makes digits yet)"
    return out
