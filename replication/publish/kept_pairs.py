"""The status page's account of toy runs built pair by pair over sessions (`runs.pairs`): how
many of the paper profile's pairs are kept, what they cost, and whether today's code would load
them, read from the committed files, so the book says how far a long run is without a number
typed by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from replication.runs import pairs

CHAPTER = "mode_collapse"  # the one chapter whose pieces are kept
COLUMNS = {
    "run": "run",
    "kept": "pairs kept",
    "loadable": "loaded by today's code",
    "cpu": "CPU time in all",
    "per_pair": "CPU minutes per pair (min–max)",
    "threads": "threads",
    "commits": "made at",
}


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def progress_rows(results_dir: Path) -> list[dict[str, str]]:
    """One row per `results/mode_collapse/_pairs/<run>/`, against the paper profile's toys."""
    from replication.chapters import mode_collapse as ch

    root = Path(results_dir) / CHAPTER / pairs.PAIRS
    cfg = ch.ModeCollapseConfig.for_profile("paper")
    planned = {f"{b}-{m}": (m, b) for b in cfg.benchmark_names() for m in cfg.method_names()}
    rows = []
    for folder in sorted(p for p in root.glob("*") if p.is_dir()):
        kept = {p.stem: r for p in sorted(folder.glob("*.json")) if (r := _read(p)) is not None}
        if not kept:
            continue
        loadable = sum(
            piece in planned
            and rec.get("fingerprint")
            == {"format": pairs.FORMAT, **ch.pair_fingerprint(cfg, *planned[piece])}
            for piece, rec in kept.items()
        )
        cpu = [(rec.get("outputs") or {}).get("train_cpu_seconds") for rec in kept.values()]
        cpu = [c for c in cpu if isinstance(c, (int, float))]
        threads = sorted(
            {str(rec.get("arithmetic", {}).get("torch_threads")) for rec in kept.values()}
        )
        commits = sorted({str(rec.get("git_commit"))[:7] for rec in kept.values()})
        rows.append(
            {
                "run": f"`{CHAPTER}/{pairs.PAIRS}/{folder.name}`",
                "kept": f"{len(kept)} of {len(planned)}",
                "loadable": str(loadable),
                "cpu": f"{sum(cpu) / 3600:.1f} h" if cpu else "–",
                "per_pair": f"{min(cpu) / 60:.0f}–{max(cpu) / 60:.0f}" if cpu else "–",
                "threads": ", ".join(threads),
                "commits": ", ".join(f"`{c}`" for c in commits),
            }
        )
    return rows


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
        "makes its page from them in minutes. *Loaded by today's code*: pairs whose parameters "
        "and code match the paper profile's now (the others would be trained again). CPU time "
        "is the training's own, however long the process waited.",
        "",
        "| " + " | ".join(COLUMNS.values()) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(r[k] for k in COLUMNS) + " |" for r in rows]
    return "\n".join(lines) + "\n"
