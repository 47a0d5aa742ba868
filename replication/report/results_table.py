"""Every reproduced claim, published beside ours, read from `results/<chapter>/summary.json`.

README and the book show this table; nothing in it is typed by hand: a test regenerates it from
the committed summaries and compares. Each chapter's rows come from one small function that reads
its summary (and the run's config, for thresholds the chapter used); a chapter with no results yet
gets a `pending` row.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from replication.chapters.registry import CHAPTERS
from replication.report.published import ADVERSARIAL_MNIST, ADVERSARIAL_TFD, Published

REPRODUCED, NOT_REPRODUCED, PARTLY = "reproduced", "not reproduced", "partly reproduced"
NOT_COMPARABLE, PENDING = "not comparable", "pending"
# the loss-saturation row: the measured gradient ratio against the closed form (1 - D)/D at the
# batch's mean D; per-sample D varies, so the two agree only to a few per cent
RATIO_TOLERANCE = 0.05

Row = dict[str, str]


def _fmt(x: float, digits: int = 1) -> str:
    return f"{x:.{digits}f}"


def _nats(p: Published) -> str:
    return f"{p.published:g} ± {p.published_se:g} nats"


def _loss_saturation(s: dict[str, Any], cfg: dict[str, Any], run_dir: Path) -> list[Row]:
    d = s["mean_d_of_g"]
    ratio, closed = s["grad_ratio_nonsaturating_to_minimax"], (1 - d) / d
    line = cfg.get("d_pretrain_target", 0.01)
    mm, ns = s["minimax_final_mean_d_of_g"], s["nonsaturating_final_mean_d_of_g"]
    return [
        {
            "claim": "minimax G cost saturates where D rejects samples; non-saturating does not",
            "published": "Fig. 16: gradient ratio (1 − D)/D",
            "ours": f"ratio {ratio:.0f} at D(G(z)) = {d:.2g} (closed form {closed:.0f}; "
            f"agreement within {RATIO_TOLERANCE:.0%} counts)",
            "verdict": REPRODUCED if abs(ratio / closed - 1) < RATIO_TOLERANCE else NOT_REPRODUCED,
        },
        {
            "claim": "trained from there, minimax stays stuck, non-saturating learns",
            "published": "Fig. 16 (no number)",
            "ours": f"D(G(z)) after {s['epochs']} epochs: minimax {mm:.2g}, "
            f"non-saturating {ns:.2g}",
            "verdict": REPRODUCED if mm < line <= ns else NOT_REPRODUCED,
        },
    ]


def _parzen_mnist(s: dict[str, Any], cfg: dict[str, Any], run_dir: Path) -> list[Row]:
    diff = s["difference_in_combined_se"]
    return [
        {
            "claim": "Parzen log-likelihood of the adversarial net, MNIST (Table 1)",
            "published": _nats(ADVERSARIAL_MNIST),
            "ours": f"{_fmt(s['mnist_parzen_ll_mean'])} ± {_fmt(s['mnist_parzen_ll_se'])} nats "
            f"(epoch {s['epoch_selected']} of {s['epochs_trained']}; "
            f"{s['difference_to_published']:+.1f}, {diff:.1f} combined SE)",
            "verdict": REPRODUCED if s["reproduced_within_2_se"] else NOT_REPRODUCED,
        }
    ]


def _parzen_tfd(s: dict[str, Any], cfg: dict[str, Any], run_dir: Path) -> list[Row]:
    comparable = bool(s["comparable_to_published"])
    verdict = NOT_COMPARABLE
    if comparable:
        pub = ADVERSARIAL_TFD
        close = abs(s["parzen_ll_mean"] - pub.published) <= 2 * math.hypot(
            s["parzen_ll_se_across_folds"], pub.published_se
        )
        verdict = REPRODUCED if close else NOT_REPRODUCED
    return [
        {
            "claim": "Parzen log-likelihood of the adversarial net, TFD (Table 1)",
            "published": _nats(ADVERSARIAL_TFD),
            "ours": f"{_fmt(s['parzen_ll_mean'])} ± {_fmt(s['parzen_ll_se_across_folds'])} nats "
            f"on {s['dataset']}",
            "verdict": verdict,
        }
    ]


def _wgan_vs_js(s: dict[str, Any], cfg: dict[str, Any], run_dir: Path) -> list[Row]:
    """The chapter's own claims table (`claims.csv`: the paper's claim, what was measured, and
    its verdict from the chapter's thresholds), row for row: nothing is judged again here."""
    path = run_dir / "claims.csv"
    if not path.is_file():
        return [
            {"claim": "the WGAN paper's claims", "published": "", "ours": "", "verdict": PENDING}
        ]
    with open(path, newline="") as f:
        claims = list(csv.DictReader(f))
    return [
        {
            "claim": f"{c['claim (published)']} ({c['paper']})",
            "published": "figure (no number)",
            "ours": c["measured here"],
            "verdict": _verdict_of(c["agrees?"]),
        }
        for c in claims
    ]


def _verdict_of(agrees: str) -> str:
    """The chapter's yes / partly / no (and its 'early' caveat) in the table's words."""
    word = agrees.split()[0] if agrees else ""
    verdict = {"yes": REPRODUCED, "no": NOT_REPRODUCED, "partly": PARTLY}.get(word, PENDING)
    return verdict + (" (early run)" if "early" in agrees else "")


READERS: dict[str, Callable[[dict[str, Any], dict[str, Any], Path], list[Row]]] = {
    "loss_saturation": _loss_saturation,
    "parzen_mnist": _parzen_mnist,
    "parzen_tfd": _parzen_tfd,
    "wgan_vs_js": _wgan_vs_js,
}


def rows(results_dir: Path) -> list[Row]:
    """One row per claim, chapters in registry order; the chapter's headline run is shown."""
    out = []
    for ch in CHAPTERS:
        path = results_dir / ch.name / "summary.json"
        if not path.is_file():
            out.append(
                {
                    "chapter": ch.name,
                    "claim": ch.reproduces,
                    "published": "",
                    "ours": "",
                    "verdict": PENDING,
                    "run": "not run",
                }
            )
            continue
        summary = json.loads(path.read_text())
        run = summary.get("run_name", summary.get("profile", "?"))
        prov = results_dir / ch.name / run / "provenance.json"
        cfg = json.loads(prov.read_text()).get("config", {}) if prov.is_file() else {}
        for r in READERS[ch.name](summary, cfg, results_dir / ch.name / run):
            commit = str(summary.get("git_commit", "?"))[:7]
            out.append({"chapter": ch.name, **r, "run": f"{run} ({commit})"})
    return out


COLUMNS = ("chapter", "claim", "published", "ours", "verdict", "run")


def markdown(table: list[Row], link: Callable[[str], str] | None = None) -> str:
    """A Markdown table; `link(chapter)` turns the chapter name into a link when given."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in table:
        cells = [link(r["chapter"]) if link else r["chapter"]]
        cells += [r[c].replace("|", "\\|") for c in COLUMNS[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


START, END = "<!-- results-table:start -->", "<!-- results-table:end -->"


def replace_block(text: str, table_md: str) -> str:
    """`text` with the block between the README markers replaced by `table_md`."""
    if START not in text or END not in text:
        raise ValueError(f"markers {START} ... {END} not found")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table_md}{END}{tail}"
