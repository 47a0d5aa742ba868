"""The lead of a chapter page: what the paper claims, in its words, and what our run found.

A reader opening a chapter sees first the claim as the paper states it, the published value, ours
with its uncertainty (and the seed ensemble when one exists), the verdict and the key figure; the
sections follow. Everything here is read from the run's files (`summary.json`, `provenance.json`,
the chapter's own claims) through the results table's readers, so the lead and README's table say
the same. A chapter without a reader, a quotation, a figure or an ensemble gets a visible
*pending* in that place, never a crash: new chapters appear in the book before their lead is
complete.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from replication.chapters.registry import CHAPTERS
from replication.report import results_table
from replication.report.dashboard import rows_of

PAPER_2014 = "Goodfellow et al. 2014, *Generative Adversarial Nets*"
PAPER_WGAN = "Arjovsky, Chintala & Bottou 2017, *Wasserstein GAN*"


@dataclass(frozen=True)
class LeadSpec:
    """What a chapter's lead needs beyond its summary: the paper's words (quoted verbatim, checked
    against copies of the paper's text), where they are, the key figure of the run, the equations
    the chapter turns on, and the summary keys its seed ensemble is read at."""

    quote: str
    source: str
    figure: str  # file name under <run>/figures/
    figure_caption: str
    equations: tuple[str, ...] = ()  # display LaTeX, one block each
    headline: str | None = None  # numeric summary key: mean ± sd over seeds
    headline_label: str = ""
    agreement: str | None = None  # boolean summary key: k of n seeds agree
    agreement_label: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    # summary keys counting seeds a run trains side by side (batched): its own tables are then
    # already over seeds, and the page must not call it a one-seed result
    in_run_seeds: tuple[str, ...] = ()


GENERATOR_COSTS = (
    r"\begin{aligned}"
    r"J^{(G)}_{\text{minimax}} &= \tfrac12\,\mathbb{E}_z \log\bigl(1 - D(G(z))\bigr) \\"
    r"J^{(G)}_{\text{non-saturating}} &= -\tfrac12\,\mathbb{E}_z \log D(G(z)) \\"
    r"J^{(G)}_{\text{maximum likelihood}} &= -\tfrac12\,\mathbb{E}_z\, e^{\sigma^{-1}(D(G(z)))}"
    r"\end{aligned}"
)
VALUE_FUNCTION = (
    r"\min_G \max_D V(D, G) = \mathbb{E}_{x \sim p_{\text{data}}}\bigl[\log D(x)\bigr]"
    r" + \mathbb{E}_{z \sim p_z}\bigl[\log\bigl(1 - D(G(z))\bigr)\bigr]"
)
OPTIMAL_D = r"D^*_G(x) = \frac{p_{\text{data}}(x)}{p_{\text{data}}(x) + p_g(x)}"
VIRTUAL_CRITERION = (
    r"C(G) = \max_D V(D, G) = -\log 4 + 2 \cdot \mathrm{JSD}(p_{\text{data}} \,\|\, p_g)"
)
PARZEN = (
    r"\log \hat p(x) = \log \frac{1}{N} \sum_{i=1}^{N} \mathcal{N}\bigl(x;\, G(z_i),\, "
    r"\sigma^2 I\bigr), \quad \sigma \text{ chosen on validation images}"
)
W1_DUAL = (
    r"W_1(P_r, P_\theta) = \sup_{\lVert f \rVert_L \le 1} "
    r"\mathbb{E}_{x \sim P_r}\bigl[f(x)\bigr] - \mathbb{E}_{x \sim P_\theta}\bigl[f(x)\bigr]"
)
PARALLEL_LINES = (
    r"W_1(P_0, P_\theta) = |\theta|, \qquad "
    r"\mathrm{JSD}(P_0 \,\|\, P_\theta) = \begin{cases} \log 2 & \theta \ne 0 \\ 0 & \theta = 0"
    r"\end{cases}"
)

TABLE1_CAPTION = (
    "Parzen window-based log-likelihood estimates. The reported numbers on MNIST are the mean "
    "log-likelihood of samples on test set, with the standard error of the mean computed across "
    "examples. On TFD, we computed the standard error across folds of the dataset, with a "
    "different σ chosen using the validation set of each fold."
)

# Quotations checked against several independent copies of each paper's text.
LEADS: dict[str, LeadSpec] = {
    "loss_saturation": LeadSpec(
        quote="In practice, equation 1 may not provide sufficient gradient for G to learn well. "
        "Early in learning, when G is poor, D can reject samples with high confidence because "
        "they are clearly different from the training data. In this case, log(1 − D(G(z))) "
        "saturates.",
        source=f"{PAPER_2014}, Section 3 (the costs as Goodfellow's NIPS 2016 tutorial, "
        "Figure 16, plots them)",
        figure="closed_forms_with_measurement.png",
        figure_caption="The three generator costs and their gradients in closed form, with the "
        "gradients measured on the 2014 MNIST networks (dots).",
        equations=(GENERATOR_COSTS,),
        headline="grad_ratio_nonsaturating_to_minimax",
        headline_label="gradient ratio non-saturating / minimax",
    ),
    "parzen_mnist": LeadSpec(
        quote=TABLE1_CAPTION,
        source=f"{PAPER_2014}, Table 1 (adversarial nets, MNIST: 225 ± 2)",
        figure="loglik_curves.png",
        figure_caption="Parzen log-likelihood over training (validation and test), the selected "
        "epoch marked.",
        equations=(VALUE_FUNCTION, PARZEN),
        headline="mnist_parzen_ll_mean",
        headline_label="Parzen log-likelihood (nats)",
        agreement="reproduced_within_2_se",
        agreement_label="within 2 combined standard errors of 225",
    ),
    "parzen_tfd": LeadSpec(
        quote=TABLE1_CAPTION,
        source=f"{PAPER_2014}, Table 1 (adversarial nets, TFD: 2057 ± 26)",
        figure="sigma_per_fold.png",
        figure_caption="Validation log-likelihood against the Parzen width σ, fold by fold.",
        equations=(PARZEN,),
        headline="parzen_ll_mean",
        headline_label="Parzen log-likelihood (nats)",
    ),
    "game_dynamics": LeadSpec(
        quote="The global minimum of the virtual training criterion C(G) is achieved if and only "
        "if p_g = p_data. At that point, C(G) achieves the value − log 4.",
        source=f"{PAPER_2014}, Theorem 1",
        figure="theorem1.png",
        figure_caption="V(D, G) at trained discriminators against C(G) by integration, and D "
        "against D*, for fixed one-dimensional generators.",
        equations=(VALUE_FUNCTION, OPTIMAL_D, VIRTUAL_CRITERION),
        headline="c_of_g_max_abs_err",
        headline_label="max |C(G) − V(D, G)| (nats)",
        agreement="theorem1_within_tolerance",
        agreement_label="find V(D, G) within the tolerance of C(G)",
        in_run_seeds=("theorem1_seeds",),
    ),
    "mode_collapse": LeadSpec(
        quote="G must not be trained too much without updating D, in order to avoid “the "
        "Helvetica scenario” in which G collapses too many values of z to the same value of x "
        "to have enough diversity to model p_data",
        source=f"{PAPER_2014}, Section 6 (the problem; each fix's own claim is in the table)",
        figure="snapshots_ring.png",
        figure_caption="Samples of each method over training on the ring of 8 Gaussians.",
        equations=(VALUE_FUNCTION,),
        headline="metrics.gan_nonsaturating.ring_modes",
        headline_label="ring modes (of 8) the non-saturating GAN covers, mean of its toy seeds",
        in_run_seeds=("seeds_toy",),
    ),
    "wgan_vs_js": LeadSpec(
        quote="We claim two main benefits: a meaningful loss metric that correlates with the "
        "generator's convergence and sample quality; improved stability of the optimization "
        "process. [...] In no experiment did we see evidence of mode collapse for the WGAN "
        "algorithm.",
        source=f"{PAPER_WGAN}, Section 4",
        figure="mnist_loss_vs_quality.png",
        figure_caption="Loss curves of GAN, WGAN and WGAN-GP beside an independent "
        "sample-quality score over training.",
        equations=(VIRTUAL_CRITERION, W1_DUAL, PARALLEL_LINES),
        headline="corr_wgan_loss_vs_quality",
        headline_label="Spearman correlation, WGAN loss vs sample quality",
    ),
}


def chapter_rows(name: str, run_dir: Path) -> list[dict[str, str]]:
    """The results table's rows for one run (the run a page shows, which need not be the
    chapter's headline run); a chapter without a reader or a summary gets one pending row."""
    reader = results_table.READERS.get(name)
    summary_path = run_dir / "summary.json"
    if reader is None or not summary_path.is_file():
        why = "no summary.json in this run" if reader else "no reader in report/results_table.py"
        return [{"claim": _reproduces(name), "published": "", "ours": why, "verdict": "pending"}]
    summary = json.loads(summary_path.read_text())
    prov = run_dir / "provenance.json"
    cfg = json.loads(prov.read_text()).get("config", {}) if prov.is_file() else {}
    try:
        return reader(summary, cfg, run_dir)
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as err:
        return [
            {
                "claim": _reproduces(name),
                "published": "",
                "ours": f"summary lacks what the reader needs ({type(err).__name__}: {err})",
                "verdict": "pending",
            }
        ]


def _reproduces(name: str) -> str:
    return next((c.reproduces for c in CHAPTERS if c.name == name), name)


def ensemble_path(results_dir: Path, name: str, profile: str) -> Path:
    return Path(results_dir) / name / f"{profile}-seeds" / "summary.json"


def find_ensemble(results_dir: Path, name: str, profile: str) -> dict[str, Any] | None:
    """The profile's seed ensemble, else one of a named budget of that profile (`sweep --name`,
    e.g. the paper's networks at a shorter budget); None when there is neither."""
    path = ensemble_path(results_dir, name, profile)
    if path.is_file():
        return json.loads(path.read_text())
    for other in sorted((Path(results_dir) / name).glob("*-seeds/summary.json")):
        agg = json.loads(other.read_text())
        if agg.get("profile") == profile and agg.get("name") not in (None, profile):
            return agg
    return None


def _sig(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1000 else f"{x:.0f}"


def ensemble_line(
    spec: LeadSpec | None, agg: dict[str, Any] | None, run_summary: dict[str, Any] | None = None
) -> str:
    """The seed ensemble in one sentence: mean ± sd over n seeds, k of n agreeing; for a run
    that trains its seeds side by side, how many (its tables are over them already)."""
    inside = [
        run_summary[k] for k in (spec.in_run_seeds if spec else ()) if (run_summary or {}).get(k)
    ]
    if agg is None and inside:
        n = max(len(v) if isinstance(v, list) else int(v) for v in inside)
        return (
            f"**Seeds:** this run trains {n} seeds side by side (batched); its tables give "
            "mean ± sd or standard error over them, with n, and its verdicts as k of n seeds."
        )
    if agg is None:
        return (
            "**Seeds:** one seed shown; the seed ensemble (`<profile>-seeds/summary.json`, "
            "`python -m replication sweep`) is *pending*, so this is not yet a claim over seeds."
        )
    metrics = agg.get("metrics", {})
    parts = []
    if spec and spec.headline and spec.headline in metrics and "mean" in metrics[spec.headline]:
        m = metrics[spec.headline]
        sd = f" ± {_sig(m['sd'])} (sd)" if m.get("sd") is not None else ""
        parts.append(f"{spec.headline_label} {_sig(m['mean'])}{sd} over n = {m['n']} seeds")
    if spec and spec.agreement and spec.agreement in metrics:
        a = metrics[spec.agreement]
        if "agreement" in a:
            parts.append(f"{a['agreement']} seeds {spec.agreement_label}")
    if not parts:
        parts.append(f"{len(agg.get('seeds_aggregated', []))} seeds aggregated; headline *pending*")
    done = "" if agg.get("complete") else " (incomplete: some seeds missing or failed)"
    budget = ""
    if agg.get("name") not in (None, agg.get("profile")):
        changed = ", ".join(f"{k} {v}" for k, v in sorted(agg.get("parameters", {}).items()))
        budget = (
            f" These seeds are the named budget `{agg['name']}-seeds` ({agg.get('profile')} "
            f"profile{', with ' + changed if changed else ''}), not this run's budget."
        )
    return "**Seeds:** " + "; ".join(parts) + done + "." + budget


def _headline_lines(name: str, results_dir: Path, shown: list[dict[str, str]]) -> list[str]:
    """The chapter's headline (`results/<chapter>/summary.json`, the dashboard's rows) when it
    says something else than the run this page shows, e.g. a ledger over seed runs."""
    chapter = next((c for c in CHAPTERS if c.name == name), None)
    if chapter is None or not (Path(results_dir) / name / "summary.json").is_file():
        return []
    headline = rows_of(Path(results_dir), chapter)
    if [r["ours"] for r in headline] == [r["ours"] for r in shown]:
        return []
    lines = [
        f"**The chapter's headline** (`results/{name}/summary.json`, as on the intro page's "
        "dashboard):",
        "",
    ]
    lines += [f"* {r['ours']}: **{r['verdict']}**" for r in headline]
    return [*lines, ""]


def _blockquote(text: str) -> str:
    return "\n".join(f"> {line}" for line in text.splitlines())


def lead_markdown(name: str, run_dir: Path, results_dir: Path, figure_src: str | None) -> str:
    """The lead cell's Markdown (MyST, with `$$` math). `figure_src` is the key figure's path
    as the page links it, or None when the run has no such figure."""
    spec = LEADS.get(name)
    out = []
    if spec:
        out += ["**The claim, in the paper's words:**", "", _blockquote(f"“{spec.quote}”"), ">"]
        out += [f"> — {spec.source}", ""]
    else:
        out += [
            f"**The claim:** {_reproduces(name)}. *The paper's own words: pending* (no entry in "
            "`replication/report/lead.py`).",
            "",
        ]
    out += ["| claim | published | ours | verdict |", "|---|---|---|---|"]
    for r in chapter_rows(name, run_dir):
        cells = [r["claim"], r["published"] or "–", r["ours"] or "–", f"**{r['verdict']}**"]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    out.append("")
    out += _headline_lines(name, results_dir, chapter_rows(name, run_dir))
    prov_path = run_dir / "provenance.json"
    profile = run_dir.name
    if prov_path.is_file():
        profile = json.loads(prov_path.read_text()).get("profile", profile)
    agg = find_ensemble(results_dir, name, profile)
    run_summary_path = run_dir / "summary.json"
    run_summary = json.loads(run_summary_path.read_text()) if run_summary_path.is_file() else None
    out += [ensemble_line(spec, agg, run_summary), ""]
    out += [
        f"Run shown: `{run_dir.name}` ({profile} profile); its parameters and provenance "
        "are at the end of the page, and every code cell can be shown with its toggle.",
        "",
    ]
    if spec and spec.equations:
        for eq in spec.equations:
            out += ["$$", eq, "$$", ""]
    if figure_src and spec:
        out += [
            f"```{{figure}} {figure_src}",
            f":name: lead-{name}",
            "",
            spec.figure_caption,
            "```",
            "",
        ]
    else:
        out += ["*Key figure: pending* (no key figure of this run on record).", ""]
    return "\n".join(out)
