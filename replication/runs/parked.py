"""A long run's whole training state, committed when it stops ("parked"), so that a session on
another machine continues it: checkpoints (`results/<chapter>/_checkpoints/<run>/`) stay on the
machine that trained them, and that machine is not kept after a pause in the work.

`park` copies the run's checkpoint files to `results/<chapter>/<run>/weights/parked/`
(committed) with a manifest of SHA-256s; `unpark` puts them back where training resumes from,
when that folder has no checkpoint of its own. A run being trained cannot be parked (its lock
is held). `best.pt` holding the very generator the run already committed as
`weights/generator.pt` is not stored twice (the project keeps all weights under 80 MB): the
manifest records its epoch and score, and `unpark` rebuilds it from the hashed weights.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import torch

from replication.config import ConfigError
from replication.runs.locks import exclusive
from replication.runs.store import atomic_path, atomic_write_json
from replication.runs.weights import WeightsError, load_weights

MANIFEST = "manifest.json"
PARKED = "parked"


def parked_dir(ckpt_dir: Path) -> Path:
    """`results/<chapter>/_checkpoints/<run>` -> `results/<chapter>/<run>/weights/parked`:
    beside the run's committed weights (a re-evaluation of the run carries it over)."""
    return ckpt_dir.parent.parent / ckpt_dir.name / "weights" / PARKED


def _run_dir(ckpt_dir: Path) -> Path:
    return ckpt_dir.parent.parent / ckpt_dir.name


def _best_as_weights(best: Path, run_dir: Path) -> dict[str, Any] | None:
    """The manifest entry that stands for `best.pt` when its generator is the run's committed
    `weights/generator.pt`, tensor for tensor; None when it is not (then it is copied)."""
    try:
        committed = load_weights(run_dir, "generator")
    except WeightsError:
        return None
    state = torch.load(best, map_location="cpu", weights_only=False)
    gen = state.get("generator", {})
    if set(gen) != set(committed) or not all(torch.equal(gen[k], committed[k]) for k in gen):
        return None
    return {"from_weights": "generator", **{k: v for k, v in state.items() if k != "generator"}}


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def park(ckpt_dir: Path) -> dict[str, str]:
    """Copy every checkpoint file of the stopped run into its parked folder; returns the
    manifest (relative path -> SHA-256)."""
    files = sorted(p for p in ckpt_dir.rglob("*.pt") if p.is_file() and p.name[0] != ".")
    if not files:
        raise ConfigError(f"nothing to park: no checkpoint (*.pt) under {ckpt_dir}")
    dest = parked_dir(ckpt_dir)
    with exclusive(ckpt_dir / ".lock", f"run {ckpt_dir.name}"):
        shutil.rmtree(dest, ignore_errors=True)
        manifest = {}
        for src in files:
            rel = src.relative_to(ckpt_dir)
            entry = _best_as_weights(src, _run_dir(ckpt_dir)) if rel.name == "best.pt" else None
            if entry is not None:
                manifest[str(rel)] = entry
                continue
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(dest / rel) as tmp:
                shutil.copyfile(src, tmp)
            manifest[str(rel)] = _sha256(dest / rel)
        atomic_write_json(dest / MANIFEST, manifest)
    return manifest


def unpark(ckpt_dir: Path) -> bool:
    """Restore the parked state into `ckpt_dir` when it holds no `last.pt` of its own; True if
    it did. A file that does not match its recorded SHA-256 is refused, nothing restored."""
    src = parked_dir(ckpt_dir)
    if (ckpt_dir / "last.pt").exists() or not (src / MANIFEST).is_file():
        return False
    manifest = json.loads((src / MANIFEST).read_text())
    rebuilt = {rel: e for rel, e in manifest.items() if isinstance(e, dict)}
    try:
        weights = {
            rel: load_weights(_run_dir(ckpt_dir), e["from_weights"]) for rel, e in rebuilt.items()
        }
    except WeightsError as err:
        raise ConfigError(f"parked state {src}: {err}") from err
    for rel, digest in manifest.items():
        if rel in rebuilt:
            continue
        if not (src / rel).is_file() or _sha256(src / rel) != digest:
            raise ConfigError(
                f"parked state {src / rel} is missing or does not match its SHA-256; restore it "
                "from git (`git checkout -- results`) or move the parked folder away"
            )
    # last.pt last: its presence marks a complete restore
    for rel in sorted(manifest, key=lambda r: Path(r).name == "last.pt"):
        (ckpt_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(ckpt_dir / rel) as tmp:
            if rel in rebuilt:
                meta = {k: v for k, v in rebuilt[rel].items() if k != "from_weights"}
                torch.save({"generator": weights[rel], **meta}, tmp)
            else:
                shutil.copyfile(src / rel, tmp)
    return True
