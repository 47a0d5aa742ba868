"""What every benchmark file under `results/bench/` records beside its timings: the machine,
threads, commit, library versions, wall time and the load the machine had (other jobs slow both
variants of a side-by-side timing alike, but the reader should know)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import torch

from replication.runs.paths import project_root
from replication.runs.store import atomic_write_json, device_name, git_state, library_versions


class BenchRecord:
    """Start it before timing; `write` adds the provenance and writes `<name>_<device>.json`."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.t0 = time.perf_counter()
        self.load_before = os.getloadavg()[0]

    def write(self, result: dict[str, Any], name: str, out: str | None) -> Path:
        result.update(
            device=device_name(self.device),
            threads=torch.get_num_threads(),
            **git_state(),
            versions=library_versions(),
            wall_time_s=time.perf_counter() - self.t0,
            load_average_1min={"before": self.load_before, "after": os.getloadavg()[0]},
        )
        folder = Path(out) if out else project_root() / "results" / "bench"
        path = folder / f"{name}_{self.device.type}.json"
        atomic_write_json(path, result)
        root = project_root()
        print(f"written: {path.relative_to(root) if path.is_relative_to(root) else path}")
        return path
