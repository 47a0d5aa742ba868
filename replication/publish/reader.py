"""Reader-first rendering of an executed notebook: the same cells, shown in another order.

Applied to the book's copy of each executed notebook when the book is staged, never to the
committed notebook, which keeps everything as it ran. On the page: the title, then the lead (the
claim, published against ours, the verdict, the key figure), then the chapter's sections with
their code folded away behind a toggle (`hide-input`); Papermill's injected-parameters cell is
not rendered (`remove-cell`); the summary and provenance at the end of the page are folded
(`hide-output`), and the cells that set and print the run's parameters move below them, folded too;
each toggle says what it folds.
"""

from __future__ import annotations

import copy
from typing import Any

PARAMETERS_TAG, INJECTED_TAG = "parameters", "injected-parameters"
START_CALL = "notebook.start("  # the cell that checks the parameters and prints them
SUMMARY_CALL = "store.write_summary("  # the cell that prints the summary and the provenance
END_HEADING = "## Parameters of this run"


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _tag(cell: dict[str, Any], *tags: str) -> None:
    have = cell.setdefault("metadata", {}).setdefault("tags", [])
    have.extend(t for t in tags if t not in have)


def _markdown(text: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _prompt(cell: dict[str, Any], what: str) -> None:
    """The toggle says what it folds ("Show source: the run's summary and provenance")."""
    cell.setdefault("metadata", {})["mystnb"] = {
        "code_prompt_show": f"Show {{type}}: {what}",
        "code_prompt_hide": f"Hide {{type}}: {what}",
    }


def reader_first(nb: dict[str, Any], lead: str | None = None) -> dict[str, Any]:
    """A copy of `nb` arranged for a reader; `lead` (Markdown) goes right under the title."""
    nb = copy.deepcopy(nb)
    body, tail = [], []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            body.append(cell)
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        src = _source(cell)
        if INJECTED_TAG in tags:
            _tag(cell, "remove-cell")
            body.append(cell)
        elif PARAMETERS_TAG in tags:
            _tag(cell, "hide-input", "hide-output")
            _prompt(cell, "the notebook's parameters cell (defaults)")
            tail.append(cell)
        elif START_CALL in src:
            _tag(cell, "hide-input", "hide-output")
            _prompt(cell, "the parameters this run ran with, as checked")
            tail.append(cell)
        elif SUMMARY_CALL in src:  # already at the end of the page, under its own heading
            _tag(cell, "hide-input", "hide-output")
            _prompt(cell, "the run's summary and provenance")
            body.append(cell)
        else:
            _tag(cell, "hide-input")
            body.append(cell)
    if tail:
        note = f"{END_HEADING}\n\nFolded: open a block to see what it holds."
        tail.insert(0, _markdown(note))
    if lead is not None:
        body = _with_lead(body, lead)
    nb["cells"] = _with_ids(body + tail, nb.get("nbformat", 4), nb.get("nbformat_minor", 0))
    return nb


def _with_ids(cells: list[dict[str, Any]], major: int, minor: int) -> list[dict[str, Any]]:
    """nbformat 4.5 wants a unique id on every cell; older versions allow none."""
    if (major, minor) < (4, 5):
        return [{k: v for k, v in c.items() if k != "id"} for c in cells]
    seen: set[str] = set()
    for i, cell in enumerate(cells):
        cid = str(cell.get("id") or f"reader-{i}")[:64]
        while cid in seen:
            cid = f"{cid[:58]}-{i}"
        cell["id"] = cid
        seen.add(cid)
    return cells


def _with_lead(cells: list[dict[str, Any]], lead: str) -> list[dict[str, Any]]:
    """The lead right after the page title: the first markdown cell is split after its `# `
    heading; without one the lead opens the page."""
    for i, cell in enumerate(cells):
        if cell.get("cell_type") != "markdown":
            continue
        text = _source(cell)
        first, _, rest = text.partition("\n")
        if not first.startswith("# "):
            break
        head = {**cell, "source": first + "\n"}
        out = cells[:i] + [head, _markdown(lead)]
        if rest.strip():
            out.append({**cell, "source": rest.lstrip("\n"), "id": f"{cell.get('id', i)}-b"})
        return out + cells[i + 1 :]
    return [_markdown(lead), *cells]
