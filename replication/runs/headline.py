"""Chapter-level numbers that rest on several runs (a seed ledger, say) go into the chapter's
headline summary, `results/<chapter>/summary.json`, beside the headline run's own numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from replication.runs.store import atomic_write_json

MARKER = "chapter_level_keys"  # which keys of the summary rest on several runs, not on one


def merge_into_chapter_summary(chapter_dir: Path, keys: dict[str, Any]) -> dict[str, Any]:
    """Add (or refresh) `keys` in the chapter's summary.json, keeping every other key, and list
    them under `chapter_level_keys` so that a reader knows they are not the headline run's."""
    path = Path(chapter_dir) / "summary.json"
    current = json.loads(path.read_text()) if path.is_file() else {}
    merged = {**current, **keys, MARKER: sorted(set(current.get(MARKER, [])) | set(keys))}
    atomic_write_json(path, merged)
    return merged
