"""The status page's account of toy runs built pair by pair over sessions (`runs.pairs`): how
many of the paper profile's pairs are kept, what they cost, and whether today's code would load
them, read from the committed files, so the book says how far a long run is without a number
typed by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from replication.runs import pairs

CHAPTER = "mode_collapse"  # the one chapter whose pieces are kept
COLUMNS = {
    "run": "run",
    "kept": "pairs kept",
    "loadable": "made by today's code",
    "cpu": "CPU time in all",
    "per_pair": "CPU minutes per pair (min–max)",
    "threads": "threads",
    "cpus": "CPUs",
    "commits": "made at",
}


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _kept_runs(root: Path) -> list[tuple[Path, dict[str, dict[str, Any]]]]:
    """Each `_pairs/<run>/` folder with its readable pair files, read once."""
    runs = []
    for folder in sorted(p for p in root.glob("*") if p.is_dir()):
        kept = {p.stem: r for p in sorted(folder.glob("*.json")) if (r := _read(p)) is not None}
        if kept:
            runs.append((folder, kept))
    return runs


def progress_rows(results_dir: Path) -> list[dict[str, str]]:
    """One row per `results/mode_collapse/_pairs/<run>/`, against the paper profile's toys; a
    run with other parameters (an ablation) says which, instead of counting against its pairs."""
    from replication.chapters import mode_collapse as ch

    root = Path(results_dir) / CHAPTER / pairs.PAIRS
    cfg = ch.ModeCollapseConfig.for_profile("paper")
    planned = {f"{b}-{m}": (m, b) for b in cfg.benchmark_names() for m in cfg.method_names()}
    paper = ch.pair_fingerprint(cfg, *next(iter(planned.values())))
    rows = []
    for folder, kept in _kept_runs(root):
        fingerprints = [rec.get("fingerprint") or {} for rec in kept.values()]
        loadable = sum(
            fp.get("format") == pairs.FORMAT and fp.get("code") == paper["code"]
            for fp in fingerprints
        )
        off = {
            f"{k} = {v}"
            for fp in fingerprints
            for k, v in (fp.get("config") or {}).items()
            if paper["config"].get(k) != v
        }
        count = f"{len(kept)} of {len(planned)}"
        if off:
            count = f"{len(kept)} (off the paper profile: {', '.join(sorted(off))})"
        cpu = [(rec.get("outputs") or {}).get("train_cpu_seconds") for rec in kept.values()]
        cpu = [c for c in cpu if isinstance(c, (int, float))]
        threads = sorted(
            {str(rec.get("arithmetic", {}).get("torch_threads")) for rec in kept.values()}
        )
        commits = sorted({str(rec.get("git_commit"))[:7] for rec in kept.values()})
        models = {rec.get("arithmetic", {}).get("cpu_model") for rec in kept.values()}
        cpus = sorted(m or "not recorded" for m in models)
        rows.append(
            {
                "folder": folder.name,
                "records": kept,
                "off": ", ".join(sorted(off)),
                "run": f"`{CHAPTER}/{pairs.PAIRS}/{folder.name}`",
                "kept": count,
                "loadable": str(loadable),
                "cpu": f"{sum(cpu) / 3600:.1f} h" if cpu else "–",
                "per_pair": f"{min(cpu) / 60:.0f}–{max(cpu) / 60:.0f}" if cpu else "–",
                "threads": ", ".join(threads),
                "cpus": ", ".join(cpus),
                "commits": ", ".join(f"`{c}`" for c in commits),
            }
        )
    return rows


def measured_so_far(records: dict[str, dict[str, Any]]) -> pd.DataFrame | None:
    """The kept pairs' last snapshot as the chapter's table (methods x benchmarks, mean ± SE over
    seeds), from the scores each pair record holds; None when none holds scores."""
    from replication.chapters import mode_collapse as ch
    from replication.report import mode_collapse as report

    frames = []
    for rec in records.values():
        scores = (rec.get("outputs") or {}).get("scores")
        if scores:
            frames.append(pairs.decode_frame(scores))
    if not frames:
        return None
    final = ch.final_scores(pd.concat(frames, ignore_index=True))
    table = report.results_table(report.aggregate(final))
    steps = final.groupby("method").g_step.max()
    seeds = final.groupby("method").seed.nunique()
    table.insert(0, "seeds", [str(seeds[m]) for m in table.index])
    table.insert(1, "G updates", [f"{steps[m]:,}" for m in table.index])
    return table.fillna("not yet")


def _markdown(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def _frame_markdown(table: pd.DataFrame) -> list[str]:
    head = [table.index.name or "", *map(str, table.columns)]
    return _markdown(head, [[str(i), *map(str, r)] for i, r in table.iterrows()])


def section(results_dir: Path) -> str:
    """Markdown for the status page; empty when no run is being built pair by pair."""
    rows = progress_rows(results_dir)
    if not rows:
        return ""
    lines = [
        "## Runs built pair by pair",
        "",
        "A paper-budget toy run of the mode-collapse chapter is about a day of CPU, so it is "
        "built over sessions: each finished pair (one method on one benchmark, every seed) is "
        "committed as it ends; once every pair is kept, the notebook run of the same name "
        "makes its page from them in minutes. *Made by today's code*: pairs whose code is "
        "today's toy code (the others would be trained again). CPU time "
        "is the training's own, however long the process waited.",
        "",
        *_markdown(list(COLUMNS.values()), [[r[k] for k in COLUMNS] for r in rows]),
    ]
    for r in rows:
        table = measured_so_far(r["records"])
        if table is None:
            continue
        if r["off"]:
            where = (
                f"Its parameters are off the paper profile ({r['off']}): an ablation, whose "
                "own page is under *Other runs* once its notebook has run."
            )
        else:
            where = (
                "The chapter page shows them beside the published rows, with the claims' "
                "verdicts, once every pair is kept. The configuration is the chapter's paper "
                "profile (the unrolled-GAN demo's networks and budget), not PacGAN's: its page "
                "says how they differ."
            )
        lines += [
            "",
            f"### What the kept pairs of `{r['folder']}` measured so far",
            "",
            "Each pair's last snapshot, as the chapter's results table gives it: mean ± standard "
            "error over its seeds of the modes covered, the % of high-quality samples and the "
            "reverse KL (PacGAN's metrics); *not yet*: a benchmark whose pair is still to be "
            f"trained. {where}",
            "",
            *_frame_markdown(table),
        ]
    return "\n".join(lines) + "\n"
