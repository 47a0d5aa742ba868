"""Sweeps through a real SLURM cluster (`scripts/slurm_up.sh`; run with `nox -s slurm`): the jobs
are SLURM's, the aggregate is right, and a job cancelled from outside is reported as failed."""

from __future__ import annotations

import subprocess
import threading
import time

import cloudpickle
import pytest
import sweep_jobs

from replication.runs.sweep import slurm_answers, sweep

cloudpickle.register_pickle_by_value(sweep_jobs)

pytestmark = pytest.mark.slurm
CH = "loss_saturation"


@pytest.fixture(autouse=True)
def _cluster():
    if not slurm_answers():
        pytest.fail("no SLURM cluster answers `sinfo`: start one with scripts/slurm_up.sh")


def _sweep(tmp_path, job, **kw):
    return sweep(
        CH, "0-1", "quick", executor="slurm", results_dir=tmp_path / "results", job=job,
        config=sweep_jobs.FAKE_CONFIG, time_minutes=10, poll_s=0.5, **kw,
    )  # fmt: skip


def _sacct_state(job_id: str, wait_s: float = 60) -> str:
    """The job's final state in SLURM's accounting, which slurmctld sends to slurmdbd a moment
    after the job ends (submitit may see the job's result file first)."""
    deadline = time.monotonic() + wait_s
    while True:
        out = subprocess.run(
            ["sacct", "-n", "-X", "-P", "-j", job_id, "-o", "JobID,State"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout  # fmt: skip
        states = dict(line.split("|", 1) for line in out.splitlines() if "|" in line)
        state = states.get(job_id, "")
        if (state and state not in ("PENDING", "RUNNING")) or time.monotonic() > deadline:
            return state
        time.sleep(1)


def test_slurm_sweep_runs_jobs_on_the_cluster(tmp_path):
    res = _sweep(tmp_path, sweep_jobs.fake_job)
    assert res.executor == "slurm" and res.ran == [0, 1] and not res.failed
    for seed in (0, 1):
        assert _sacct_state(res.job_ids[seed]) == "COMPLETED"  # SLURM ran it, accounting knows
    a = res.aggregate
    assert a["complete"] is True and a["executor"] == "slurm"
    assert a["job_ids"] == {str(s): j for s, j in res.job_ids.items()}
    assert a["metrics"]["score"]["mean"] == 10.5 and a["metrics"]["score"]["n"] == 2
    assert a["metrics"]["converged"]["agreement"] == "1 of 2"
    assert a["metrics"]["threads"]["value"] == "1"
    assert _sweep(tmp_path, sweep_jobs.fake_job).skipped == [0, 1]  # nothing resubmitted


def test_job_cancelled_from_outside_is_reported(tmp_path):
    before = set(_queue())
    box: dict = {}
    t = threading.Thread(target=lambda: box.update(res=_sweep(tmp_path, sweep_jobs.sleeping_job)))
    t.start()
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline:
        running = [j for j, st in _queue().items() if j not in before and st == "R"]
        victim = next((j for j in running if j.endswith("_1")), None)
        time.sleep(0.5)
    assert victim, "seed 1's job never started running"
    subprocess.run(["scancel", victim], check=True, timeout=30)
    t.join(timeout=180)  # bounded: a sweep that never sees the cancel fails here
    assert not t.is_alive(), "the sweep did not notice the cancelled job within 3 minutes"
    res = box["res"]
    assert list(res.failed) == [1] and res.job_ids[1] == victim
    assert _sacct_state(victim).startswith("CANCELLED")
    a = res.aggregate
    assert a["complete"] is False and a["seeds_aggregated"] == [0]
    assert a["failed"]["1"].startswith(f"results/{CH}/quick-seeds/logs/")


def _queue() -> dict[str, str]:
    out = subprocess.run(
        ["squeue", "-h", "-o", "%i %t"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    return dict(line.split() for line in out.splitlines() if line.strip())
