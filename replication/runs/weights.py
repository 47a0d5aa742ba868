"""Weights committed with a run's results, so that its numbers can be re-scored without the
machine that trained it (checkpoints live on that machine only, and it is not kept).

A run folder holds `weights/<name>.pt` (a float32 `state_dict`) and its SHA-256 in
`provenance.json` under `weights`; loading checks the hash, so a torn or edited file is refused.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import torch

from replication.runs.store import RunStore, atomic_write_bytes


class WeightsError(RuntimeError):
    """Committed weights are missing, or do not match the hash on record."""


def _float32(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {
        k: (v.detach().to("cpu", torch.float32) if v.is_floating_point() else v.detach().cpu())
        for k, v in state.items()
    }


def save_weights(store: RunStore, name: str, state: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Stage `weights/<name>.pt` in the run and put its path, size and SHA-256 on record."""
    buf = io.BytesIO()
    torch.save(_float32(state), buf)
    data = buf.getvalue()
    rel = f"weights/{name}.pt"
    atomic_write_bytes(store.path(rel), data)
    record = {"path": rel, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    store.extra_provenance.setdefault("weights", {})[name] = record
    return record


def load_weights(run_dir: Path, name: str) -> dict[str, torch.Tensor]:
    """The committed `state_dict` `name` of the run in `run_dir`, after checking its hash."""
    prov_path = run_dir / "provenance.json"
    records = json.loads(prov_path.read_text()).get("weights", {}) if prov_path.is_file() else {}
    if name not in records:
        raise WeightsError(
            f"run {run_dir.name!r} has no committed weights {name!r} (on record: "
            f"{sorted(records) or 'none'}); runs evaluated before weights were committed cannot "
            "be re-scored: re-run the notebook on a machine that has their checkpoints"
        )
    path = run_dir / records[name]["path"]
    if not path.is_file():
        raise WeightsError(f"{path} is on record but missing (a checkout without it?)")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != records[name]["sha256"]:
        raise WeightsError(f"{path} does not match the SHA-256 on record: refusing to use it")
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
