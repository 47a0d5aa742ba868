"""The results dashboard of the book's intro page: every claim of every chapter, published beside
ours, its verdict and a link to the page, at a glance.

Generated at build time from `results/<chapter>/summary.json` through the results table's readers
(`results_table.rows`), the same rows README shows; nothing in it is typed. The chapter list under
it comes from the chapter registry, so a new chapter appears in both without an edit here.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from replication.chapters.registry import CHAPTERS
from replication.report import results_table

START, END = "<!-- dashboard:start -->", "<!-- dashboard:end -->"
CHAPTERS_START, CHAPTERS_END = "<!-- chapters:start -->", "<!-- chapters:end -->"

# a mark a reader's eye catches before the word (plain symbols every text font has; colour emoji
# are missing from many machines' fonts); the word stays the verdict
MARKS = {
    results_table.REPRODUCED: "✓",
    results_table.NOT_REPRODUCED: "✗",
    results_table.PARTLY: "◐",
    results_table.NOT_COMPARABLE: "⊘",
    results_table.PENDING: "…",
}
ORDER = tuple(MARKS)


def _base(verdict: str) -> str:
    """The verdict without a caveat such as ' (early run)'."""
    known = (v for v in sorted(MARKS, key=len, reverse=True) if verdict.startswith(v))
    return next(known, verdict.split(" (")[0])


def _cell(text: str) -> str:
    return (text or "–").replace("|", "\\|").replace("\n", " ")


def claim_rows(results_dir: Path) -> list[dict[str, str]]:
    """`results_table.rows`; where a chapter's summary cannot be read (a summary of a newer or
    older shape than its reader), that chapter's claims become one visible *pending* row naming
    the error, and the other chapters are shown as usual."""
    try:
        return results_table.rows(Path(results_dir))
    except Exception:  # noqa: BLE001 - find the chapter at fault below, keep the rest
        pass
    return [r for ch in CHAPTERS for r in rows_of(Path(results_dir), ch)]


def _pending(chapter: str, claim: str, err: Exception) -> dict[str, str]:
    why = f"summary not readable by its reader ({type(err).__name__}: {err})"
    return {
        "chapter": chapter,
        "claim": claim,
        "published": "",
        "ours": why,
        "verdict": results_table.PENDING,
        "run": "?",
    }


def rows_of(results_dir: Path, ch) -> list[dict[str, str]]:
    """One chapter's rows as `results_table.rows` makes them, its error caught."""
    path = results_dir / ch.name / "summary.json"
    if not path.is_file() or ch.name not in results_table.READERS:
        return [
            {
                "chapter": ch.name,
                "claim": ch.reproduces,
                "published": "",
                "ours": "",
                "verdict": results_table.PENDING,
                "run": "not run",
            }
        ]
    try:
        summary = json.loads(path.read_text())
        run = summary.get("run_name", summary.get("profile", "?"))
        prov = results_dir / ch.name / run / "provenance.json"
        cfg = json.loads(prov.read_text()).get("config", {}) if prov.is_file() else {}
        commit = str(summary.get("git_commit", "?"))[:7]
        found = results_table.READERS[ch.name](summary, cfg, results_dir / ch.name / run)
        return [{"chapter": ch.name, **r, "run": f"{run} ({commit})"} for r in found]
    except Exception as err:  # noqa: BLE001
        return [_pending(ch.name, ch.reproduces, err)]


def dashboard_markdown(results_dir: Path) -> str:
    """A count of verdicts, then one table row per claim, linked to its chapter's page."""
    rows = claim_rows(Path(results_dir))
    titles = {c.name: c.title for c in CHAPTERS}
    counts = Counter(_base(r["verdict"]) for r in rows)
    order = [v for v in ORDER if counts[v]] + sorted(v for v in counts if v not in MARKS)
    tally = ", ".join(f"{MARKS.get(v, '')} {counts[v]} {v}".strip() for v in order)
    lines = [
        f"**{len(rows)} claims in {len(CHAPTERS)} chapters:** {tally}.",
        "",
        "| chapter | claim | published | ours | verdict |",
        "|---|---|---|---|---|",
    ]
    previous = None
    for r in rows:  # the chapter named once, on its first claim
        link = f"[{titles.get(r['chapter'], r['chapter'])}](chapters/{r['chapter']})"
        link, previous = ("" if r["chapter"] == previous else link), r["chapter"]
        verdict = f"{MARKS.get(_base(r['verdict']), '')} **{r['verdict']}**"
        cells = [r["claim"], r["published"], r["ours"]]
        lines.append("| " + " | ".join([link, *map(_cell, cells), verdict]) + " |")
    lines += [
        "",
        "*Published* values are copied from the papers; *ours* come from each chapter's headline "
        "run (`results/<chapter>/summary.json`; which run and commit: the [run status](status) "
        "page). A claim whose run is missing is *pending*; a stand-in data set makes it *not "
        "comparable*.",
    ]
    return "\n".join(lines) + "\n"


def chapters_markdown() -> str:
    """The chapter list of the intro page, from the registry."""
    lines = ["| chapter | paper | what is reproduced |", "|---|---|---|"]
    for c in CHAPTERS:
        lines.append(f"| [{c.title}](chapters/{c.name}) | {c.paper} | {c.reproduces} |")
    return "\n".join(lines) + "\n"


def fill(text: str, start: str, end: str, block: str) -> str:
    """`text` with the block between `start` and `end` replaced (a clear error without them)."""
    if start not in text or end not in text:
        raise ValueError(f"markers {start} ... {end} not found in the intro page")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{block}{end}{tail}"


def intro_page(text: str, results_dir: Path) -> str:
    """The intro page's source with its dashboard and chapter list generated."""
    text = fill(text, START, END, dashboard_markdown(results_dir))
    return fill(text, CHAPTERS_START, CHAPTERS_END, chapters_markdown())
