"""`python -m replication sweep CHAPTER --seeds 0-4`: one ordinary run per seed, then their
aggregate, so a reader sees how much of a result is the seed.

Each seed is the run `python -m replication notebook CHAPTER -p seed s --run-name <profile>-seed<s>`
would make, submitted through submitit locally or to SLURM. Sweeps are idempotent: a seed whose
run finished with the same configuration is skipped, and a killed one re-runs (chapters resume
from their checkpoints). Every input is checked before any job starts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from replication.config import ConfigError
from replication.runs import aggregate as agg
from replication.runs.paths import project_root
from replication.runs.seed_job import SeedJob, one_thread, run_notebook

EXECUTORS = ("auto", "local", "slurm")


@dataclass
class SweepResult:
    aggregate: dict[str, Any]
    path: Path
    ran: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    job_ids: dict[int, str] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    executor: str = "local"


def parse_seeds(text: str) -> list[int]:
    """`0-4`, `7`, `0-2,5`: ascending ranges and single seeds, each seed once."""
    seeds: list[int] = []
    for part in (text or "").split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not m:
            raise ConfigError(f"--seeds {text!r}: expected ranges like 0-4 or 0-2,7 (seeds >= 0)")
        lo, hi = int(m.group(1)), int(m.group(2) if m.group(2) is not None else m.group(1))
        if hi < lo:
            raise ConfigError(f"--seeds {text!r}: range {lo}-{hi} is empty (write {hi}-{lo})")
        seeds += range(lo, hi + 1)
    dup = sorted({s for s in seeds if seeds.count(s) > 1})
    if dup:
        raise ConfigError(f"--seeds {text!r}: seed(s) {dup} given more than once")
    return seeds


def relative_to_project(path: Path, results_dir: Path) -> str:
    """A path to report: relative to the checkout (or to the results folder's parent), never an
    absolute path of the machine the sweep ran on."""
    path = Path(path).resolve()
    for base in (project_root(), Path(results_dir).resolve().parent):
        try:
            return str(path.relative_to(base.resolve()))
        except ValueError:
            continue
    return path.name


def slurm_answers(timeout_s: float = 10.0) -> bool:
    """True when `sbatch` is on PATH and the controller answers `sinfo` in time."""
    if not shutil.which("sbatch") or not shutil.which("sinfo"):
        return False
    try:
        out = subprocess.run(["sinfo", "-h"], capture_output=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0


def choose_executor(kind: str) -> str:
    """`auto` is SLURM only where a cluster answers; `slurm` without one fails here, early."""
    if kind not in EXECUTORS:
        raise ConfigError(f"--executor must be one of {EXECUTORS}, got {kind!r}")
    if kind == "local":
        return "local"
    if kind == "slurm":
        if not shutil.which("sbatch"):
            raise ConfigError("--executor slurm: no `sbatch` on PATH (use --executor local)")
        if not slurm_answers():
            raise ConfigError("--executor slurm: `sinfo` got no answer from the SLURM controller")
        return "slurm"
    return "slurm" if slurm_answers() else "local"


def _config_for(chapter: str, profile: str, parameters: dict[str, str]) -> dict[str, Any]:
    """The chapter's config as a run would record it (checks every parameter, before any job)."""
    from replication import chapters
    from replication.publish.execute import parse_value
    from replication.runs.store import _clean

    cls = chapters.config_class(chapter)
    values = {k: parse_value(v) for k, v in parameters.items()}
    bad = sorted(set(values) - set(cls.field_names()))
    if bad:
        raise ConfigError(f"unknown parameter(s) {bad} for {chapter}; allowed: {cls.field_names()}")
    import json

    return json.loads(json.dumps(_clean(cls.for_profile(profile, **values).as_dict())))


def off_profile(chapter: str, profile: str, config: dict[str, Any]) -> dict[str, Any]:
    """The settings of `config` that differ from the profile's own, where and how long aside
    (the chapter's `BUDGET_FIELDS`) and the seed: what makes a sweep another budget."""
    default = _config_for(chapter, profile, {})
    diff = agg.config_differences(config, default, agg.budget_fields(chapter))
    return {k: mine for k, (mine, _) in diff.items()}


def _executor(kind: str, folder: Path, opts: dict[str, Any], parallel: int) -> Any:
    import submitit

    ex = submitit.AutoExecutor(folder=folder, cluster=kind)
    params: dict[str, Any] = {"timeout_min": int(opts.get("time_minutes") or 720)}
    if kind == "slurm":
        params["slurm_array_parallelism"] = parallel
        params["slurm_setup"] = ["export OMP_NUM_THREADS=1"]
        if opts.get("partition"):
            params["slurm_partition"] = opts["partition"]
        if opts.get("gpus_per_job"):
            params["gpus_per_node"] = int(opts["gpus_per_job"])
    ex.update_parameters(**params)
    return ex


def sweep(
    chapter: str,
    seeds: list[int] | str,
    profile: str = "auto",
    parameters: dict[str, str] | None = None,
    *,
    executor: str = "auto",
    results_dir: str | Path | None = None,
    max_parallel: int | None = None,
    job: Callable[[SeedJob], Any] = run_notebook,
    config: dict[str, Any] | None = None,
    poll_s: float = 1.0,
    deterministic: bool = False,
    name: str | None = None,
    **slurm_opts: Any,
) -> SweepResult:
    """Run every seed not yet done, wait for all, aggregate, write the aggregate.

    `job` and `config` are injectable so tests can sweep a tiny function instead of a notebook;
    `deterministic` runs each seed as `--deterministic` (a seed already done is kept as it is);
    `name` names the runs `<name>-seed<s>` instead of `<profile>-seed<s>` (a named budget);
    `slurm_opts` are `partition`, `gpus_per_job`, `time_minutes`."""
    from replication import chapters
    from replication.config import resolve_profile

    if chapter not in chapters.names():
        raise ConfigError(f"unknown chapter {chapter!r}; known: {chapters.names()}")
    seeds = parse_seeds(seeds) if isinstance(seeds, str) else list(seeds)
    if not seeds or len(set(seeds)) != len(seeds) or any(int(s) != s or s < 0 for s in seeds):
        raise ConfigError(f"seeds must be distinct integers >= 0, got {seeds}")
    parameters = {k: str(v) for k, v in (parameters or {}).items()}  # as typed after -p
    if "seed" in parameters:
        raise ConfigError("-p seed is set by --seeds; drop it")
    if max_parallel is not None and max_parallel < 1:
        raise ConfigError(f"--max-parallel must be at least 1, got {max_parallel}")
    kind = choose_executor(executor)
    gpus = bool(slurm_opts.get("gpus_per_job"))
    profile = "paper" if profile == "auto" and kind == "slurm" and gpus else profile
    profile = resolve_profile(profile)
    base = agg.check_run_base(name, profile)
    want = config if config is not None else _config_for(chapter, profile, parameters)
    changed = off_profile(chapter, profile, want) if config is None else dict(parameters)
    if changed and base == profile:  # as `notebook` names such a run <profile>-custom
        said = ", ".join(f"{k} {v}" for k, v in changed.items())
        raise ConfigError(
            f"-p {said} makes these runs another budget than the {profile} profile's; name it, "
            f"e.g. --name {profile}-custom, so its seeds never pass for {profile}-seed<s>"
        )
    root = Path(results_dir) if results_dir else project_root() / "results"

    done = {}
    for s, d in agg.seed_runs(root, chapter, base).items():
        run = agg.finished_run(d)
        # a seed stopped by its time budget is not done: its notebook resumes the training
        if s in seeds and run is not None and run["summary"].get("training_complete") is not False:
            done[s] = run
    configs = {s: r["config"] for s, r in done.items()}
    agg.check_same_config(configs, want, agg.budget_fields(chapter))
    todo = [s for s in seeds if s not in done]

    if kind == "local":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        parallel = min(cores or 1, max_parallel or cores or 1)
    else:
        parallel = max_parallel or 256
    jobs = [
        SeedJob(
            chapter,
            profile,
            s,
            agg.run_name(base, s),
            str(root.resolve()),
            tuple(parameters.items()),
            {**want, "seed": s},
            deterministic,
        )
        for s in todo
    ]
    out_dir = agg.aggregate_dir(root, chapter, base)
    result = SweepResult({}, out_dir / "summary.json", todo, sorted(done), executor=kind)
    if jobs:
        ex = _executor(kind, out_dir / "logs", slurm_opts, parallel)
        _run_jobs(ex, kind, job, jobs, parallel, poll_s, result, root)

    summaries = {s: r["summary"] for s, r in done.items()}
    for s in todo:
        run = agg.finished_run(root / chapter / agg.run_name(base, s))
        if run is not None and s not in result.failed:
            summaries[s] = run["summary"]
        elif s not in result.failed:
            result.failed[s] = "(the job succeeded but committed no run folder)"
    extra = {
        "executor": kind,
        "job_ids": {str(s): j for s, j in sorted(result.job_ids.items())},
        "parameters": changed,  # the settings that differ from the profile's
    }
    result.aggregate = agg.aggregate(
        chapter, profile, summaries, seeds=seeds, failed=result.failed, extra=extra, name=base
    )
    result.path = agg.write_aggregate(root, result.aggregate)
    return result


def _run_jobs(ex, kind, job, jobs, parallel, poll_s, result: SweepResult, root: Path) -> None:
    """Submit (locally: at most `parallel` at once) and wait; record failures by seed."""
    pending = list(jobs)
    running: dict[int, Any] = {}
    try:
        if kind == "slurm":  # one array job; SLURM keeps `parallel` running (`%N`)
            with ex.batch():
                subs = [(j.seed, ex.submit(one_thread, job, j)) for j in pending]
            running = {s: sj for s, sj in subs}
            pending = []
        while pending or running:
            while pending and len(running) < parallel:
                j = pending.pop(0)
                running[j.seed] = ex.submit(one_thread, job, j)
            for s, sj in running.items():
                result.job_ids[s] = str(sj.job_id)
            for s, sj in list(running.items()):
                if sj.done():
                    del running[s]
                    _record(s, sj, result, root)
            if pending or running:
                time.sleep(poll_s)
    except BaseException:
        if kind == "local":  # local jobs would outlive the sweep; SLURM ones run on
            for sj in running.values():
                sj.cancel(check=False)
        raise


def _record(seed: int, sj: Any, result: SweepResult, root: Path) -> None:
    exc = sj.exception()
    if exc is None:
        return
    log = relative_to_project(sj.paths.stderr, root)
    result.failed[seed] = log
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:300]
    print(f"seed {seed} failed (job {sj.job_id}): {first}\n  log: {log}", file=sys.stderr)
