"""Tiny stand-ins for a chapter notebook, for sweep tests: each writes a run folder as `RunStore`
would (summary.json and provenance.json) in milliseconds. Pickled by value into the workers."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

# a config for the fake chapter runs: what `sweep(config=...)` asks for
FAKE_CONFIG = {"profile": "quick", "seed": 0, "epochs": 3, "lr": 0.1}


def write_run(job, **extra) -> Path:
    """Commit a fake run of `job` the way RunStore does: staging first, then one rename."""
    final = Path(job.results_dir) / job.chapter / job.run_name
    staging = final.parent / f".{job.run_name}.staging-test"
    staging.mkdir(parents=True, exist_ok=True)
    summary = {
        "score": 10.0 + job.seed,
        "count": 2 * job.seed,
        "converged": job.seed != 1,
        "label": "same",
        "note": f"seed-{job.seed}",
        "nested": {"a": float(job.seed)},
        "threads": os.environ.get("OMP_NUM_THREADS"),
        "profile": job.profile,
        "run_name": job.run_name,
        "git_commit": "abc123",
        "seed": job.seed,
        **extra,
    }
    (staging / "summary.json").write_text(json.dumps(summary))
    (staging / "provenance.json").write_text(json.dumps({"config": job.config}))
    os.replace(staging, final)
    calls = Path(job.results_dir) / "calls.txt"
    with open(calls, "a") as f:
        f.write(f"{job.seed}\n")
    return final


def fake_job(job) -> None:
    write_run(job)


def failing_job(job) -> None:
    if job.seed == 1:
        raise RuntimeError("seed 1 blew up on purpose")
    write_run(job)


def sleeping_job(job) -> None:
    if job.seed == 1:
        time.sleep(600)
    write_run(job)
