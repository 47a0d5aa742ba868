"""The mode-collapse chapter's tables, verdicts and figures, from the per-seed scores.

Every number is a mean ± standard error over seeds (n given); a claim's verdict counts the seeds
that agree with it. Seed s of every method starts from the same generator and sees the same
data, so two methods are compared seed by seed.
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from replication.datasets.toy import MIXTURES
from replication.report.published import MODE_COLLAPSE

METRICS = ("modes", "hq", "rkl")
STACKED_MODES = 1000  # Stacked MNIST: digit triples (its claims compare with real images, `claims`)
BASELINE = "gan_nonsaturating"  # Salimans et al.'s and PacGAN's baseline: the usual GAN


def mean_se(values: pd.Series) -> tuple[float, float, int]:
    """Mean, standard error and n over the finite values (the reverse KL is undefined for a
    seed with no high-quality sample)."""
    v = values.astype(float)
    v = v[np.isfinite(v)]
    n = len(v)
    if n == 0:
        return math.nan, math.nan, 0
    se = float(v.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    return float(v.mean()), se, n


def aggregate(final: pd.DataFrame) -> pd.DataFrame:
    """One row per method and benchmark: each metric's mean, SE and n over seeds."""
    rows = []
    for (method, bench), g in final.groupby(["method", "benchmark"], sort=False):
        row: dict[str, Any] = {"method": method, "benchmark": bench, "seeds": len(g)}
        for m in METRICS:
            row[m], row[f"{m}_se"], row[f"{m}_n"] = mean_se(g[m])
        rows.append(row)
    return pd.DataFrame(rows)


def _pm(mean: float, se: float, digits: int) -> str:
    if not math.isfinite(mean):
        return "–"
    return f"{mean:.{digits}f}" + (f" ± {se:.{digits}f}" if math.isfinite(se) else "")


def results_table(agg: pd.DataFrame) -> pd.DataFrame:
    """Methods × benchmarks: modes / % high quality / reverse KL, mean ± SE."""
    out = {}
    for _, r in agg.iterrows():
        k = MIXTURES[r.benchmark].n_modes
        cell = {
            f"{r.benchmark}: modes (of {k})": _pm(r.modes, r.modes_se, 1),
            f"{r.benchmark}: % HQ": _pm(r.hq, r.hq_se, 1),
            f"{r.benchmark}: reverse KL": _pm(r.rkl, r.rkl_se, 2)
            + (f" (n={r.rkl_n})" if r.rkl_n < r.seeds else ""),
        }
        out.setdefault(r.method, {}).update(cell)
    table = pd.DataFrame.from_dict(out, orient="index")
    table.index.name = "method (ours)"
    return table


def published_table() -> pd.DataFrame:
    """The published rows, labelled as such, in the results table's columns."""
    rows = []
    for p in MODE_COLLAPSE:
        rows.append(
            {
                "model (published)": p.model,
                "benchmark": p.benchmark,
                "modes": _pm(p.modes, p.modes_se if p.modes_se is not None else math.nan, 1),
                "% HQ": "–" if p.hq is None else _pm(p.hq, p.hq_se or math.nan, 1),
                "(reverse) KL": "–" if p.kl is None else _pm(p.kl, p.kl_se or math.nan, 2),
                "source": p.source,
            }
        )
    return pd.DataFrame(rows)


# -- claims --------------------------------------------------------------------------------------
def n_modes(bench: str) -> int:
    """Modes of a benchmark: the toys' mixtures, or Stacked MNIST's 1,000 digit triples."""
    return STACKED_MODES if bench == "stacked" else MIXTURES[bench].n_modes


TOYS_ONLY = {"historical_averaging"}  # its claim is about low-dimensional games


def _per_seed(final: pd.DataFrame, method: str, bench: str) -> pd.Series:
    g = final[(final.method == method) & (final.benchmark == bench)]
    return g.set_index("seed").modes


def _diverged_note(final: pd.DataFrame, bench: str, methods: tuple[str, ...]) -> str:
    """Which seeds diverged (scored as 0 modes, so a diverging method never escapes a claim)."""
    if "diverged" not in final:
        return ""
    g = final[(final.benchmark == bench) & final.method.isin(methods)]
    g = g[g.diverged.astype("boolean").fillna(False)]
    if g.empty:
        return ""
    seeds = "; ".join(f"{m} seeds {sorted(x.seed.tolist())}" for m, x in g.groupby("method"))
    return f" (diverged, counted as 0 modes: {seeds})"


def _versus(final: pd.DataFrame, method: str, bench: str) -> tuple[int, int, str]:
    """Seeds where `method` covers more modes than the baseline with the same seed."""
    a, b = _per_seed(final, method, bench), _per_seed(final, BASELINE, bench)
    common = a.index.intersection(b.index)
    k = int((a[common] > b[common]).sum())
    text = f"{bench}: modes {a.mean():.1f} vs {b.mean():.1f} for the GAN"
    return k, len(common), text + _diverged_note(final, bench, (method, BASELINE))


def claims(
    final: pd.DataFrame, profile: str, stacked_reference: float | None = None
) -> pd.DataFrame:
    """Each quoted claim, what was measured, and the verdict as 'k of n seeds'. A method or
    benchmark that did not run gives no row. A diverged seed (`diverged` true, as
    `mode_collapse_images.stacked_modes_per_seed` gives them) covers 0 modes. On Stacked MNIST,
    'not all modes' means fewer than as many real stacked images cover (`stacked_reference`:
    at the same sample count even real images miss some of the 1,000); without it that claim
    is not judged there. Historical averaging's claim is about low-dimensional games: toys only."""
    rows: list[dict[str, str]] = []
    benches = list(dict.fromkeys(final.benchmark))
    methods = set(final.method)
    caveat = " (quick profile: a pipeline check, too short to judge)" if profile == "quick" else ""

    def add(claim: str, source: str, bench: str, k: int, n: int, measured: str) -> None:
        agree = "yes" if 2 * k > n else "no"
        rows.append(
            {
                "claim": claim,
                "source": source,
                "benchmark": bench,
                "measured": measured,
                "verdict": f"{agree}: {k} of {n} seeds agree{caveat}",
            }
        )

    for bench in benches:
        stacked = bench == "stacked"
        if BASELINE in methods and not (stacked and stacked_reference is None):
            k_all = stacked_reference if stacked else n_modes(bench)
            of = (
                f"{k_all:g}, the modes as many real stacked images cover" if stacked else f"{k_all}"
            )
            m = _per_seed(final, BASELINE, bench)
            k = int(((m >= 1) & (m < k_all)).sum())
            add(
                "partial mode collapse always occurs (the GAN covers some modes, not all)",
                "as quoted in the chapter's brief; cf. Goodfellow 2016 tutorial, Sec. 5.1.1",
                bench,
                k,
                len(m),
                f"GAN modes per seed {m.tolist()} of {of}"
                + _diverged_note(final, bench, (BASELINE,)),
            )
        for method, claim, source in (
            (
                "minibatch_discrimination",
                "minibatch discrimination greatly reduces mode collapse",
                "Salimans et al. 2016, Sec. 3.2",
            ),
            (
                "feature_matching",
                "feature matching helps when training becomes unstable",
                "Salimans et al. 2016, Sec. 3.1",
            ),
            (
                "historical_averaging",
                "historical averaging helps in low-dimensional games where other methods fail",
                "Salimans et al. 2016, Sec. 3.3",
            ),
            (
                "unrolled_gan",
                "unrolling the discriminator prevents mode collapse",
                "Metz et al. 2017, Sec. 3.1 and Figure 1",
            ),
        ):
            if stacked and method in TOYS_ONLY:
                continue
            if method in methods and BASELINE in methods:
                k, n, text = _versus(final, method, bench)
                add(claim, source, bench, k, n, f"{text}; seeds where it covers more")
    return pd.DataFrame(rows)


# -- the Metz et al. figure ------------------------------------------------------------------------
def ring_snapshots_figure(
    samples: pd.DataFrame,
    methods: tuple[str, ...] = ("gan_minimax", "unrolled_gan"),
    seed: int = 0,
    bench: str = "ring",
) -> plt.Figure:
    """Rows: methods; columns: snapshots over training; the true centres in red, as Metz et
    al.'s Figure 1 (which shows a density; here the samples themselves)."""
    mix = MIXTURES[bench]
    s = samples[(samples.benchmark == bench) & (samples.seed == seed)]
    s = s[s.method.isin(methods)]
    missing = [m for m in methods if m not in set(s.method)]
    steps = sorted(s.g_step.unique())
    if missing or not steps:  # e.g. a run with `methods` that leaves them out
        fig, ax = plt.subplots(figsize=(6, 1.2))
        ax.axis("off")
        ax.text(
            0.5, 0.5,
            f"no {bench} snapshots of {', '.join(missing or methods)} (seed {seed}) in this run: "
            "add them to `methods` to see Metz et al.'s comparison",
            ha="center", va="center", fontsize=8, wrap=True,
        )  # fmt: skip
        return fig
    fig, axes = plt.subplots(
        len(methods), len(steps), figsize=(1.6 * len(steps), 1.7 * len(methods)), squeeze=False
    )
    c = mix.centre_tensor().numpy()
    lim = 1.1 * float(np.abs(c).max()) + 0.3
    for i, method in enumerate(methods):
        for j, step in enumerate(steps):
            ax = axes[i, j]
            pts = s[(s.method == method) & (s.g_step == step)]
            ax.scatter(pts.x, pts.y, s=2, alpha=0.4, color="tab:blue")
            ax.scatter(c[:, 0], c[:, 1], s=8, color="tab:red", marker="x")
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"step {step}", fontsize=8)
            if j == 0:
                ax.set_ylabel(method, fontsize=8)
    fig.suptitle(f"{bench}, seed {seed}: samples over training (red: the {mix.n_modes} centres)")
    fig.tight_layout()
    return fig


def modes_over_training_figure(scores: pd.DataFrame, bench: str = "ring") -> plt.Figure:
    """Mean modes covered (± SE over seeds) against generator updates, one line per method."""
    fig, ax = plt.subplots(figsize=(7, 4))
    s = scores[scores.benchmark == bench]
    for method, g in s.groupby("method", sort=False):
        stats = g.groupby("g_step").modes.agg(["mean", "sem"])
        ax.errorbar(stats.index, stats["mean"], yerr=stats["sem"], label=method, capsize=2)
    ax.set_xlabel("generator updates")
    ax.set_ylabel(f"modes covered (of {MIXTURES[bench].n_modes})")
    ax.set_title(f"{bench}: modes covered over training, mean ± SE over seeds")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return fig


# -- summary ---------------------------------------------------------------------------------------
IMAGE_KEYS = ("stacked_modes", "stacked_kl", "mnist_fid", "mnist_parzen", "cgan_accuracy")


def summary_metrics(
    agg: pd.DataFrame, image: dict[str, dict[str, float | None]] | None = None
) -> dict[str, dict[str, float | None]]:
    """Per method: `<bench>_<metric>` means and `_se` standard errors; the image benchmarks'
    (`report.mode_collapse_images.image_summary`) merged in, None where not run."""
    out: dict[str, dict[str, float | None]] = {}
    for _, r in agg.iterrows():
        d = out.setdefault(r.method, {k: None for k in IMAGE_KEYS})
        for m in METRICS:
            d[f"{r.benchmark}_{m}"] = _finite(r[m])
            d[f"{r.benchmark}_{m}_se"] = _finite(r[f"{m}_se"])
    for method, values in (image or {}).items():
        out.setdefault(method, {k: None for k in IMAGE_KEYS}).update(values)
    return out


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def seed_benchmark(path: str | None = None) -> pd.DataFrame | None:
    """The committed result of `python -m replication.bench_seeds` as a table (None if absent):
    seconds for the same updates batched and as a per-seed loop, their ratio, and (when the
    benchmark measured it) the ratio no number of seeds could pass: the loop's time per seed
    over the batched step's part that grows with each seed (arithmetic and random draws)."""
    import json
    from pathlib import Path

    from replication.runs.paths import project_root

    p = Path(path) if path else project_root() / "results" / "bench" / "bench_seeds_cpu.json"
    if not p.is_file():
        return None
    r = json.loads(p.read_text())
    rows = []
    for key in ("quick_networks", "paper_networks"):
        if key in r:
            b = r[key]
            rows.append(
                {
                    "networks": key.replace("_networks", " profile's"),
                    "seeds": b["seeds"],
                    "steps": b["steps"],
                    "batched (s)": round(b["batched_s"], 2),
                    "per-seed loop (s)": round(b["per_seed_loop_s"], 2),
                    "ratio": round(b["ratio"], 1),
                    "ceiling (any seeds)": _round_or_dash(b.get("ratio_ceiling")),
                    "load (1 min)": _round_or_dash(r.get("load_average_1min", {}).get("before")),
                    "device": r.get("device", "?"),
                    "commit": str(r.get("git_commit", "?"))[:7],
                }
            )
    return pd.DataFrame(rows)


def _round_or_dash(x: float | None) -> float | str:
    return "–" if x is None else round(float(x), 1)
