"""Seed sweeps: seed ranges, every bad input refused before a job starts, and a local submitit
sweep of a tiny fake job (skip-if-done, aggregate statistics, a failing seed)."""

from __future__ import annotations

import json
import math
import statistics

import cloudpickle
import pytest
import sweep_jobs

from replication.__main__ import main
from replication.config import ConfigError
from replication.runs import aggregate as agg
from replication.runs.sweep import parse_seeds, sweep

cloudpickle.register_pickle_by_value(sweep_jobs)  # the workers cannot import tests/

CH = "loss_saturation"


def _sweep(tmp_path, seeds="0-2", job=sweep_jobs.fake_job, **kw):
    kw.setdefault("config", sweep_jobs.FAKE_CONFIG)
    return sweep(
        CH, seeds, "quick", executor="local", results_dir=tmp_path / "results", job=job,
        poll_s=0.2, **kw,
    )  # fmt: skip


def _calls(tmp_path) -> list[int]:
    p = tmp_path / "results" / "calls.txt"
    return sorted(int(x) for x in p.read_text().split()) if p.exists() else []


@pytest.mark.parametrize(
    "text, seeds",
    [("0-4", [0, 1, 2, 3, 4]), ("7", [7]), ("0-2,5", [0, 1, 2, 5]), (" 3 - 4 ", [3, 4])],
)
def test_parse_seeds(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["3-1", "a", "", "1-", "-2", "0-2,,3", "1,1", "0-2,2"])
def test_parse_seeds_refuses(text):
    with pytest.raises(ConfigError, match="--seeds"):
        parse_seeds(text)


@pytest.mark.parametrize(
    "argv, msg",
    [
        (["--seeds", "3-1"], "is empty"),
        (["--seeds", "a"], "expected ranges"),
        (["--seeds", ""], "expected ranges"),
        (["--seeds", "0-1", "-p", "seed", "3"], "set by --seeds"),
        (["--seeds", "0-1", "-p", "no_such_param", "3"], "unknown parameter"),
        (["--seeds", "0-1", "--max-parallel", "0"], "at least 1"),
        (["--seeds", "0-1", "--profile", "huge"], "profile must be"),
        (["--seeds", "0-1", "--profile", "paper", "--name", "quick"], "another profile's name"),
        (["--seeds", "0-1", "--name", "short-seed3"], "not ending in -seed"),
        (["--seeds", "0-1", "--name", "Medium 1k"], "lower-case letters"),
        (["--seeds", "0-1", "-p", "epochs", "3"], "another budget than the quick profile's"),
    ],
)
def test_cli_refuses_bad_input_before_any_job(tmp_path, capsys, argv, msg):
    rc = main(["sweep", CH, "--executor", "local", "--results-dir", str(tmp_path), *argv])
    assert rc == 2
    assert msg in capsys.readouterr().err
    assert not any(tmp_path.rglob("*"))  # nothing submitted, nothing written


def test_unknown_chapter_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:  # argparse's own choices check
        main(["sweep", "no_such_chapter", "--seeds", "0-1"])
    assert e.value.code == 2 and "invalid choice" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="unknown chapter"):
        sweep("no_such_chapter", "0-1", executor="local", results_dir=tmp_path)


def test_slurm_executor_without_sbatch_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch, no sinfo
    rc = main(
        ["sweep", CH, "--seeds", "0-1", "--executor", "slurm", "--results-dir", str(tmp_path)]
    )
    assert rc == 2 and "no `sbatch` on PATH" in capsys.readouterr().err
    from replication.runs.sweep import choose_executor

    assert choose_executor("auto") == "local"


def test_sweep_aggregates_and_skips_finished_seeds(tmp_path):
    res = _sweep(tmp_path)
    assert res.executor == "local" and res.ran == [0, 1, 2] and not res.failed
    assert _calls(tmp_path) == [0, 1, 2]
    for s in (0, 1, 2):  # every seed is an ordinary run folder
        run = agg.finished_run(tmp_path / "results" / CH / f"quick-seed{s}")
        assert run["summary"]["seed"] == s and run["config"]["seed"] == s
        assert run["summary"]["threads"] == "1"  # one torch thread per local job

    path = tmp_path / "results" / CH / "quick-seeds" / "summary.json"
    assert res.path == path
    a = json.loads(path.read_text())
    assert a["complete"] is True and a["failed"] == {} and a["seeds"] == [0, 1, 2]
    assert a["profile"] == "quick" and a["git_commits"] == {"abc123": [0, 1, 2]}
    assert a["git_commit"] == "abc123" and set(a["devices"]) == {a["device"]}
    score = a["metrics"]["score"]
    assert score["n"] == 3 and math.isclose(score["mean"], 11.0)
    assert math.isclose(score["sd"], statistics.stdev([10.0, 11.0, 12.0]))
    assert score["values"] == {"0": 10.0, "1": 11.0, "2": 12.0}
    assert a["metrics"]["count"]["mean"] == 2.0
    assert a["metrics"]["nested.a"]["mean"] == 1.0
    assert a["metrics"]["converged"]["agreement"] == "2 of 3"
    assert a["metrics"]["label"] == {"value": "same", "n": 3}
    assert a["metrics"]["note"]["values"] == {"0": "seed-0", "1": "seed-1", "2": "seed-2"}
    assert "seed" not in a["metrics"] and "git_commit" not in a["metrics"]

    again = _sweep(tmp_path, seeds="0-3")  # 0-2 are done: only seed 3 runs
    assert again.skipped == [0, 1, 2] and again.ran == [3]
    assert _calls(tmp_path) == [0, 1, 2, 3]
    assert again.aggregate["metrics"]["score"]["n"] == 4

    # a seed killed mid-run leaves staging, no run folder: it re-runs
    killed = tmp_path / "results" / CH / "quick-seed4"
    (killed.parent / ".quick-seed4.staging-x").mkdir()
    assert _sweep(tmp_path, seeds="4").ran == [4]

    # and the aggregate command over whatever seed runs exist
    rc = main(["aggregate", CH, "--profile", "quick", "--results-dir", str(tmp_path / "results")])
    assert rc == 0
    assert json.loads(path.read_text())["seeds"] == [0, 1, 2, 3, 4]


def test_failing_seed_is_reported_and_aggregate_incomplete(tmp_path, capsys):
    res = _sweep(tmp_path, job=sweep_jobs.failing_job)
    assert list(res.failed) == [1]
    log = res.failed[1]
    assert not log.startswith("/") and log.startswith(f"results/{CH}/quick-seeds/logs/")
    assert "blew up on purpose" in (tmp_path / log).read_text()
    err = capsys.readouterr().err
    assert "seed 1 failed" in err and log in err
    a = json.loads(res.path.read_text())
    assert a["complete"] is False and a["failed"] == {"1": log}
    assert a["seeds"] == [0, 1, 2] and a["seeds_aggregated"] == [0, 2]
    assert a["metrics"]["score"]["n"] == 2 and a["metrics"]["score"]["mean"] == 11.0

    rerun = _sweep(tmp_path)  # the failed seed alone re-runs, now with a working job
    assert rerun.ran == [1] and rerun.aggregate["complete"] is True


def test_finished_runs_with_another_config_refused(tmp_path):
    _sweep(tmp_path, seeds="0-1")
    other = {**sweep_jobs.FAKE_CONFIG, "epochs": 9}
    with pytest.raises(ConfigError, match=r"epochs=3 \(vs 9\)"):
        _sweep(tmp_path, seeds="0-2", config=other)
    assert _calls(tmp_path) == [0, 1]  # nothing started

    # runs that disagree among themselves: the aggregate command refuses them too
    prov = tmp_path / "results" / CH / "quick-seed1" / "provenance.json"
    prov.write_text(json.dumps({"config": {**other, "seed": 1}}))
    with pytest.raises(ConfigError, match="seed 1: epochs=9"):
        agg.aggregate_existing(tmp_path / "results", CH, "quick")


def test_real_chapter_config_is_checked(tmp_path):
    """Without an injected config the chapter's own config class builds (and checks) it."""
    from replication.runs.sweep import _config_for

    cfg = _config_for(CH, "quick", {"epochs": "2"})
    assert cfg["epochs"] == 2 and cfg["profile"] == "quick"
    with pytest.raises(ConfigError):
        _config_for(CH, "quick", {"epochs": "-5"})


def test_budget_settings_do_not_split_an_ensemble_and_a_budget_stopped_seed_resumes(tmp_path):
    """Seeds that differ only in where or how long they ran (the chapter's BUDGET_FIELDS) are
    one ensemble; a seed whose run stopped on its time budget is run again (it resumes)."""
    _sweep(tmp_path, seeds="0-1")
    moved = {**sweep_jobs.FAKE_CONFIG, "device": "cuda", "data_dir": "elsewhere"}
    again = _sweep(tmp_path, seeds="0-1", config=moved)
    assert again.ran == []  # same ensemble: nothing to do
    summary = tmp_path / "results" / CH / "quick-seed1" / "summary.json"
    summary.write_text(json.dumps({**json.loads(summary.read_text()), "training_complete": False}))
    assert _sweep(tmp_path, seeds="0-1").ran == [1]


def test_an_aggregate_over_seeds_from_several_commits_says_so():
    from replication.runs.aggregate import aggregate

    a = aggregate(
        "ch",
        "quick",
        {
            0: {"git_commit": "a", "device": "cpu", "x": 1.0},
            1: {"git_commit": "b", "device": "cpu", "x": 2.0},
        },
    )
    # says so, and still names a real commit: the newest seed run's (here the highest seed)
    assert a["commits_mixed"] is True and a["git_commits"] == {"a": [0], "b": [1]}
    assert a["git_commit"] == "b"
    assert a["device"] == "cpu" and a["devices"] == {"cpu": [0, 1]}


def test_named_budget_sweep_keeps_its_own_runs(tmp_path):
    """`--name medium`: the runs are medium-seed<s> with their own aggregate, beside (never over)
    the profile's `quick-seed<s>` runs, and the aggregate command finds them by that name."""
    _sweep(tmp_path, seeds="0")
    res = _sweep(tmp_path, seeds="0-1", name="medium")
    assert res.ran == [0, 1] and res.skipped == []  # quick-seed0 is another budget's run
    root = tmp_path / "results" / CH
    assert (root / "medium-seed1").is_dir() and (root / "quick-seed0").is_dir()
    assert res.path == root / "medium-seeds" / "summary.json"
    a = json.loads(res.path.read_text())
    assert a["profile"] == "quick" and a["name"] == "medium"
    assert a["run_names"] == ["medium-seed0", "medium-seed1"]
    rc = main(
        ["aggregate", CH, "--profile", "quick", "--name", "medium",
         "--results-dir", str(tmp_path / "results")]
    )  # fmt: skip
    assert rc == 0 and json.loads(res.path.read_text())["seeds"] == [0, 1]
    assert json.loads((root / "quick-seeds" / "summary.json").read_text())["seeds"] == [0]


def test_off_profile_names_what_makes_another_budget():
    from replication.runs.sweep import _config_for, off_profile

    cfg = _config_for(CH, "quick", {"epochs": "3", "device": "cpu"})
    assert off_profile(CH, "quick", cfg) == {"epochs": 3}  # device: where, not what
    assert off_profile(CH, "quick", _config_for(CH, "quick", {})) == {}


def test_aggregate_command_records_what_makes_a_named_budget(tmp_path):
    """`aggregate --name` re-derives the settings that differ from the profile from the runs'
    own configs, so the page can say which budget the seeds ran at."""
    from replication.runs.sweep import _config_for

    cfg = _config_for(CH, "quick", {"epochs": "3"})
    for s in (0, 1):
        run = tmp_path / CH / f"short-seed{s}"
        run.mkdir(parents=True)
        (run / "summary.json").write_text(json.dumps({"seed": s, "score": 10.0 + s}))
        (run / "provenance.json").write_text(json.dumps({"config": {**cfg, "seed": s}}))
    a, path = agg.aggregate_existing(tmp_path, CH, "quick", "short")
    assert a["parameters"] == {"epochs": 3} and a["name"] == "short"
    assert path == tmp_path / CH / "short-seeds" / "summary.json"
