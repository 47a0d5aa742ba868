"""A long run's whole training state, committed when it stops ("parked"), so that a session on
another machine continues it: checkpoints (`results/<chapter>/_checkpoints/<run>/`) stay on the
machine that trained them, and that machine is not kept after a pause in the work.

`park` copies the run's checkpoint files to `results/<chapter>/<run>/weights/parked/`
(committed) with a manifest of SHA-256s; `unpark` puts them back where training resumes from,
when that folder has no checkpoint of its own. A run being trained cannot be parked (its lock
is held).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from replication.config import ConfigError
from replication.runs.locks import exclusive
from replication.runs.store import atomic_path, atomic_write_json

MANIFEST = "manifest.json"
PARKED = "parked"


def parked_dir(ckpt_dir: Path) -> Path:
    """`results/<chapter>/_checkpoints/<run>` -> `results/<chapter>/<run>/weights/parked`:
    beside the run's committed weights (a re-evaluation of the run carries it over)."""
    return ckpt_dir.parent.parent / ckpt_dir.name / "weights" / PARKED


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
    for rel, digest in manifest.items():
        if not (src / rel).is_file() or _sha256(src / rel) != digest:
            raise ConfigError(
                f"parked state {src / rel} is missing or does not match its SHA-256; restore it "
                "from git (`git checkout -- results`) or move the parked folder away"
            )
    # last.pt last: its presence marks a complete restore
    for rel in sorted(manifest, key=lambda r: Path(r).name == "last.pt"):
        (ckpt_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(ckpt_dir / rel) as tmp:
            shutil.copyfile(src / rel, tmp)
    return True
