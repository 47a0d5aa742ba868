"""One seed's job in a sweep, in a module that imports nothing heavy: a submitit worker loads it
before the job runs, and a fake job in a test then starts in well under a second (torch alone
takes seconds to import on a busy machine)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SeedJob:
    """Everything one seed's job needs; pickled to the worker, so plain data only."""

    chapter: str
    profile: str
    seed: int
    run_name: str
    results_dir: str
    parameters: tuple[tuple[str, str], ...]  # as typed after -p, seed excluded
    config: dict[str, Any]  # the config this run must end up with (a fake job writes it)
    deterministic: bool = False  # `--deterministic` for this seed's run


def one_thread(job: Callable[[SeedJob], Any], seed_job: SeedJob) -> Any:
    """Run a job on one torch thread: seeds share the machine, and a notebook's kernel inherits
    OMP_NUM_THREADS (torch reads it when it starts)."""
    os.environ["OMP_NUM_THREADS"] = "1"
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    return job(seed_job)


def run_notebook(job: SeedJob) -> None:
    """The default job: exactly `python -m replication notebook ... -p seed s --run-name ...`."""
    from replication.__main__ import main

    argv = ["notebook", job.chapter, "--profile", job.profile, "--run-name", job.run_name]
    argv += ["--results-dir", job.results_dir, "-p", "seed", str(job.seed)]
    for key, value in job.parameters:
        argv += ["-p", key, value]
    if job.deterministic:
        argv.append("--deterministic")
    rc = main(argv)
    if rc != 0:
        raise RuntimeError(f"`python -m replication {' '.join(argv)}` exited with {rc}")
