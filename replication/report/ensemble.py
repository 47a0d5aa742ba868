"""A seed ensemble as a reader reads it: every headline number as mean ± sd over n seeds with the
per-seed values, every yes/no as how many seeds say yes. The input is the aggregate that
`python -m replication sweep` / `aggregate` writes (`results/<chapter>/<profile>-seeds/`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from replication.runs.verify import compared

COLUMNS = ["number", "over seeds", "n", "per seed"]


def _num(x: Any, digits: int = 4) -> str:
    if x is None:
        return "none"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return str(int(x)) if x.is_integer() and abs(x) < 1e15 else f"{x:.{digits}g}"
    return str(x)


def _per_seed(values: dict[str, Any]) -> str:
    return " · ".join(f"{s}: {_num(v)}" for s, v in values.items())


def _row(key: str, stat: dict[str, Any]) -> dict[str, Any] | None:
    if "mean" in stat:
        if stat.get("sd") is None:
            over = _num(stat["mean"])
        elif stat["sd"] == 0:
            over = f"{_num(stat['mean'])} (every seed)"
        else:
            over = f"{_num(stat['mean'])} ± {_num(stat['sd'], 2)}"
        return {
            "number": key,
            "over seeds": over,
            "n": stat["n"],
            "per seed": _per_seed(stat["values"]),
        }
    if "true" in stat:
        over = f"yes in {stat['true']} of {stat['n']}"
        return {
            "number": key,
            "over seeds": over,
            "n": stat["n"],
            "per seed": _per_seed(stat["values"]),
        }
    return None  # strings and lists: names and per-fold detail, read on the runs' own pages


def ensemble_table(aggregate: dict[str, Any]) -> pd.DataFrame:
    """One row per headline number (mean ± sd with the sample sd, n−1) and per yes/no
    ("yes in k of n"), with each seed's value; bookkeeping (times, device, commit) left out."""
    rows = [
        r
        for key, stat in aggregate.get("metrics", {}).items()
        if compared(key) and (r := _row(key, stat)) is not None
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def _cell(x: Any) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def ensemble_markdown(aggregate: dict[str, Any]) -> str:
    """The table as Markdown under one line saying which seeds, whether all finished, and the
    commits they ran at."""
    seeds = aggregate.get("seeds_aggregated", [])
    state = (
        "complete"
        if aggregate.get("complete")
        else (f"INCOMPLETE: seeds {sorted(aggregate.get('failed', {}))} failed")
    )
    commits = ", ".join(c[:7] for c in aggregate.get("git_commits", {}))
    head = (
        f"{aggregate.get('chapter')}, profile {aggregate.get('profile')}: seeds "
        f"{', '.join(map(str, seeds))} (n = {len(seeds)}, {state}; commit {commits or 'unknown'})"
    )
    table = ensemble_table(aggregate)
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += [
        "| " + " | ".join(_cell(x) for x in row) + " |" for row in table.itertuples(index=False)
    ]
    return head + "\n\n" + "\n".join(lines) + "\n"
