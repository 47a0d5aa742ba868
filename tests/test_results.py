"""Run folders: staging until commit, provenance, the headline summary, atomic JSON and figures."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from replication.chapters.loss_saturation import LossSaturationConfig
from replication.runs.paths import project_root
from replication.runs.store import (
    RunStore,
    atomic_path,
    atomic_write_json,
    checkpoint_dir,
    load_run,
    provenance_table,
)

CHAPTER = "loss_saturation"


def _strict_json(text: str):
    """json.loads that refuses NaN/Infinity, which are not JSON."""

    def refuse(name):
        raise ValueError(f"invalid JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def _cfg(profile: str = "quick", **overrides) -> LossSaturationConfig:
    return LossSaturationConfig.for_profile(profile, **overrides)


def _run(tmp_path: Path, cfg, metrics: dict | None, run_name: str | None = None, files=None):
    store = RunStore(cfg, results_dir=tmp_path, run_name=run_name)
    for name, obj in (files or {}).items():
        store.write_json(name, obj)
    if metrics is not None:
        store.write_summary(metrics)
    store.commit()
    return store


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def _git_head() -> str:
    out = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project_root(), capture_output=True, text=True
    )
    return out.stdout.strip() if out.returncode == 0 else "unknown"


# --------------------------------------------------------------------------- staging and commit


def test_nothing_reaches_the_final_folder_before_commit(tmp_path):
    store = RunStore(_cfg(), results_dir=tmp_path)
    chapter_dir = tmp_path / CHAPTER
    assert store.final_dir == chapter_dir / "quick"
    assert store.dir.parent == chapter_dir and store.dir.name.startswith(".quick.staging-")
    store.write_json("metrics.json", {"a": 1})
    store.write_csv("table.csv", pd.DataFrame({"x": [1, 2]}))
    store.write_summary({"m": 1.5})
    assert (store.dir / "metrics.json").is_file() and (store.dir / "table.csv").is_file()
    assert not store.final_dir.exists()
    assert _visible(chapter_dir) == []  # only the hidden staging folder
    staging = store.dir

    final = store.commit()
    assert final == store.final_dir == store.dir and store.committed
    assert not staging.exists()
    assert _visible(final) == ["metrics.json", "provenance.json", "summary.json", "table.csv"]
    assert json.loads((final / "metrics.json").read_text()) == {"a": 1}
    assert pd.read_csv(final / "table.csv").x.tolist() == [1, 2]
    assert [p.name for p in chapter_dir.iterdir() if p.name.startswith(".")] == []


def test_provenance_and_summary_contents(tmp_path):
    cfg = _cfg(seed=3)
    store = _run(tmp_path, cfg, {"m": 1.5, "n": 2})
    prov = _strict_json((store.final_dir / "provenance.json").read_text())
    for key in ("profile", "device", "git_commit", "seed", "config", "versions", "wall_time_s"):
        assert key in prov, key
    assert prov["profile"] == "quick" and prov["seed"] == 3
    assert prov["chapter"] == CHAPTER and prov["run_name"] == "quick-custom"
    assert prov["config"] == cfg.as_dict()
    assert prov["overrides_off_profile"] == {"seed": 3}
    assert prov["git_commit"] == _git_head()
    assert prov["device"].startswith("cpu") and prov["device_type"] == "cpu"
    assert prov["versions"]["torch"] == torch.__version__
    assert prov["versions"]["numpy"] == np.__version__
    assert isinstance(prov["wall_time_s"], float) and 0 <= prov["wall_time_s"] < 60

    summary = _strict_json((store.final_dir / "summary.json").read_text())
    assert summary["m"] == 1.5 and summary["n"] == 2
    assert (summary["profile"], summary["seed"], summary["run_name"]) == (
        "quick",
        3,
        "quick-custom",
    )
    assert summary["git_commit"] == prov["git_commit"] and summary["device"] == prov["device"]

    loaded = load_run(tmp_path, CHAPTER, "quick-custom")
    assert loaded["summary"] == summary and loaded["provenance"] == prov


def test_failed_second_run_leaves_the_first_untouched(tmp_path, snapshot_tree):
    first = _run(tmp_path, _cfg(), {"m": 1.0}, files={"only_first.json": [1, 2, 3]})
    before_run = snapshot_tree(first.final_dir)
    before_headline = (tmp_path / CHAPTER / "summary.json").read_bytes()

    second = RunStore(_cfg(), results_dir=tmp_path)
    with pytest.raises(RuntimeError, match="boom"):
        try:
            second.write_summary({"m": 2.0})
            second.write_json("only_first.json", ["overwritten"])
            second.write_json("new.json", {})
            raise RuntimeError("boom")
        except BaseException:
            second.discard()
            raise
    assert snapshot_tree(first.final_dir) == before_run
    assert (tmp_path / CHAPTER / "summary.json").read_bytes() == before_headline
    assert not second.dir.exists()
    assert sorted(p.name for p in (tmp_path / CHAPTER).iterdir()) == ["quick", "summary.json"]


def test_killed_second_run_leaves_only_a_hidden_staging_folder(tmp_path, snapshot_tree):
    first = _run(tmp_path, _cfg(), {"m": 1.0})
    before = snapshot_tree(first.final_dir)
    second = RunStore(_cfg(), results_dir=tmp_path)
    second.write_summary({"m": 2.0})  # ... and the process dies: no commit, no discard
    assert snapshot_tree(first.final_dir) == before
    assert _visible(tmp_path / CHAPTER) == ["quick", "summary.json"]
    assert second.dir.name.startswith(".quick.staging-")


def test_second_commit_replaces_the_whole_folder(tmp_path):
    _run(tmp_path, _cfg(), {"m": 1.0}, files={"only_first.json": 1})
    second = _run(tmp_path, _cfg(), {"m": 2.0})
    assert _visible(second.final_dir) == ["provenance.json", "summary.json"]
    assert json.loads((second.final_dir / "summary.json").read_text())["m"] == 2.0
    assert sorted(p.name for p in (tmp_path / CHAPTER).iterdir()) == ["quick", "summary.json"]


def test_discard_after_commit_keeps_the_result(tmp_path):
    store = _run(tmp_path, _cfg(), {"m": 1.0})
    store.discard()
    assert (store.final_dir / "summary.json").is_file()


def test_checkpoint_dir_sits_beside_the_runs(tmp_path):
    store = RunStore(_cfg(epochs=2), results_dir=tmp_path)
    store.discard()
    assert store.checkpoint_dir == tmp_path / CHAPTER / "_checkpoints" / "quick-custom"
    assert checkpoint_dir(tmp_path, "x", "paper") == tmp_path / "x" / "_checkpoints" / "paper"
    default = project_root() / "results" / "x" / "_checkpoints" / "paper"
    assert checkpoint_dir(None, "x", "paper") == default


# --------------------------------------------------------------------------- the headline


def _headline(tmp_path: Path) -> dict | None:
    p = tmp_path / CHAPTER / "summary.json"
    return json.loads(p.read_text()) if p.exists() else None


def test_headline_is_written_for_a_profile_run(tmp_path):
    store = _run(tmp_path, _cfg(), {"m": 1.0})
    assert (tmp_path / CHAPTER / "summary.json").read_bytes() == (
        store.final_dir / "summary.json"
    ).read_bytes()


def test_quick_never_replaces_a_paper_headline(tmp_path):
    _run(tmp_path, _cfg("quick"), {"m": 1.0})
    assert _headline(tmp_path)["profile"] == "quick"
    _run(tmp_path, _cfg("paper"), {"m": 2.0})
    assert (_headline(tmp_path)["profile"], _headline(tmp_path)["m"]) == ("paper", 2.0)
    headline = (tmp_path / CHAPTER / "summary.json").read_bytes()
    _run(tmp_path, _cfg("quick"), {"m": 3.0})
    assert (tmp_path / CHAPTER / "summary.json").read_bytes() == headline
    assert json.loads((tmp_path / CHAPTER / "quick" / "summary.json").read_text())["m"] == 3.0
    _run(tmp_path, _cfg("paper"), {"m": 4.0})  # a newer paper run does
    assert _headline(tmp_path)["m"] == 4.0


def test_quick_replaces_a_quick_headline(tmp_path):
    _run(tmp_path, _cfg("quick"), {"m": 1.0})
    _run(tmp_path, _cfg("quick"), {"m": 2.0})
    assert _headline(tmp_path)["m"] == 2.0


def test_custom_runs_never_write_the_headline(tmp_path):
    store = _run(tmp_path, _cfg("quick", epochs=7), {"m": 1.0})
    assert store.run_name == "quick-custom" and (store.final_dir / "summary.json").is_file()
    assert _headline(tmp_path) is None
    store = _run(tmp_path, _cfg("paper"), {"m": 2.0}, run_name="my-experiment")
    assert store.final_dir == tmp_path / CHAPTER / "my-experiment"
    assert _headline(tmp_path) is None
    _run(tmp_path, _cfg("quick"), {"m": 3.0})
    _run(tmp_path, _cfg("paper", epochs=1), {"m": 4.0})  # paper-custom does not outrank quick
    assert _headline(tmp_path)["m"] == 3.0


def test_run_without_summary_writes_no_headline(tmp_path):
    _run(tmp_path, _cfg(), None, files={"x.json": 1})
    assert _headline(tmp_path) is None


def test_custom_config_named_as_its_profile_is_not_the_headline(tmp_path):
    _run(tmp_path, _cfg("quick"), {"m": 1.0})
    _run(tmp_path, _cfg("quick", epochs=1), {"m": 99.0}, run_name="quick")
    assert _headline(tmp_path)["m"] == 1.0


# --------------------------------------------------------------------------- JSON and figures


def test_atomic_write_json_writes_non_finite_floats_as_null(tmp_path):
    p = tmp_path / "sub" / "x.json"
    atomic_write_json(
        p,
        {
            "nan": math.nan,
            "inf": math.inf,
            "ninf": -math.inf,
            "np": np.float64("nan"),
            "nested": {"list": [1.0, math.nan], "tuple": (math.inf, 2)},
            "ok": 0.5,
        },
    )
    out = _strict_json(p.read_text())
    assert out == {
        "nan": None,
        "inf": None,
        "ninf": None,
        "np": None,
        "nested": {"list": [1.0, None], "tuple": [None, 2]},
        "ok": 0.5,
    }
    assert p.read_text().endswith("\n")
    assert [q.name for q in p.parent.iterdir()] == ["x.json"]  # no temporary left


def test_atomic_write_json_converts_paths_tensors_and_numpy(tmp_path):
    p = tmp_path / "x.json"
    obj = {"path": Path("/a/b"), "t": torch.tensor([1.5, 2.0]), "i": np.int64(3)}
    atomic_write_json(p, obj)
    assert _strict_json(p.read_text()) == {"path": "/a/b", "t": [1.5, 2.0], "i": 3}


def test_atomic_write_json_failure_keeps_the_old_file(tmp_path):
    p = tmp_path / "x.json"
    atomic_write_json(p, {"a": 1})
    before = p.read_bytes()
    with pytest.raises(TypeError, match="not JSON serialisable: object"):
        atomic_write_json(p, {"a": object()})
    assert p.read_bytes() == before
    assert [q.name for q in tmp_path.iterdir()] == ["x.json"]


def test_atomic_path_replaces_only_on_success(tmp_path):
    p = tmp_path / "f.txt"
    p.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(p) as tmp:
            tmp.write_text("half")
            raise RuntimeError
    assert p.read_text() == "old" and [q.name for q in tmp_path.iterdir()] == ["f.txt"]
    with atomic_path(p) as tmp:
        tmp.write_text("new")
    assert p.read_text() == "new" and [q.name for q in tmp_path.iterdir()] == ["f.txt"]


@pytest.mark.parametrize(
    "value", [np.float32("nan"), torch.tensor(math.inf)], ids=["np.float32", "tensor"]
)
def test_atomic_write_json_non_finite_in_numpy_or_torch_scalars(tmp_path, value):
    p = tmp_path / "x.json"
    atomic_write_json(p, {"v": value})
    assert _strict_json(p.read_text()) == {"v": None}


def test_save_figure_writes_png_and_svg_into_staging(tmp_path):
    store = RunStore(_cfg(), results_dir=tmp_path)
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    try:
        paths = store.save_figure("curve", fig)
    finally:
        plt.close(fig)
    assert paths == [store.dir / "figures" / "curve.png", store.dir / "figures" / "curve.svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in paths[1].read_text()
    store.commit()
    assert sorted(p.name for p in (store.final_dir / "figures").iterdir()) == [
        "curve.png",
        "curve.svg",
    ]


def test_provenance_table(tmp_path):
    store = _run(tmp_path, _cfg(epochs=2), {"m": 1.0})
    prov = json.loads((store.final_dir / "provenance.json").read_text())
    table = provenance_table(prov)
    assert isinstance(table, pd.DataFrame) and list(table.columns) == ["value"]
    assert table.index.name == "provenance"
    assert table.loc["git commit", "value"].startswith(prov["git_commit"])
    assert table.loc["run", "value"] == f"{CHAPTER}/quick-custom"
    assert table.loc["profile", "value"] == "quick"
    assert json.loads(table.loc["parameters off the profile", "value"]) == {"epochs": 2}
    assert table.loc["torch / CUDA", "value"].startswith(torch.__version__)
    dirty = dict(prov, git_dirty=True, git_commit="abc123")
    assert provenance_table(dirty).loc["git commit", "value"] == "abc123 (uncommitted changes)"


def test_provenance_table_says_none_for_a_pure_profile(tmp_path):
    store = _run(tmp_path, _cfg(), {"m": 1.0})
    prov = json.loads((store.final_dir / "provenance.json").read_text())
    assert provenance_table(prov).loc["parameters off the profile", "value"] == "none"


def test_git_state_names_dirty_files_exactly_and_ignores_results(tmp_path):
    from replication.runs.store import git_state

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "code.py").write_text("a = 1\n")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "summary.json").write_text("{}\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    assert git_state(tmp_path)["git_dirty"] is False
    (tmp_path / "results" / "summary.json").write_text('{"new": 1}\n')  # an output, not code
    assert git_state(tmp_path)["git_dirty"] is False
    (tmp_path / "code.py").write_text("a = 2\n")
    state = git_state(tmp_path)
    assert state["git_dirty"] is True and state["git_dirty_files"] == ["code.py"]
    assert len(state["git_commit"]) == 40


def test_record_training_sums_epochs_over_sessions_into_provenance(tmp_path):
    from types import SimpleNamespace

    store = RunStore(LossSaturationConfig.for_profile("quick"), results_dir=tmp_path)
    gan = SimpleNamespace(
        epoch=3, resumed_from_epoch=2, history=[{"epoch_time_s": t} for t in (10.0, 20.0, 5.5)]
    )
    store.record_training("a", gan)
    store.record_training("b", SimpleNamespace(epoch=1, resumed_from_epoch=0, history=[{}]))
    prov = store.provenance()
    assert prov["training_time_s"] == 35.5
    assert prov["training"]["a"] == {"epochs": 3, "resumed_from_epoch": 2, "training_time_s": 35.5}
    store.discard()
