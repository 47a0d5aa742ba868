"""The mode-collapse toys built in pieces: a finished pair is kept and loaded on a re-run with
the same outputs as training it, a pair kept under another fingerprint is trained again (saying
why), and two processes on one run share the pairs through their locks."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from replication.chapters import mode_collapse as ch
from replication.runs import pairs
from replication.runs.cli import TrainRequest
from replication.runs.locks import exclusive

CPU = torch.device("cpu")
TINY = dict(
    methods="gan_minimax,unrolled_gan,conditional_gan", seeds_toy=2, steps=4, snapshot_every=2,
    batch_size=16, train_points=64, noise_dim=4, g_hidden=8, d_hidden=8, unroll_steps=2,
    eval_samples=50, figure_points=10, vbn_reference=8, device="cpu",
)  # fmt: skip
PAIRS = [f"{b}-{m}" for b in ("ring", "grid") for m in TINY["methods"].split(",")]


def _tiny(**kw):
    return ch.ModeCollapseConfig.for_profile("quick", **{**TINY, **kw})


def _ckpt(tmp_path: Path, run: str = "pieces") -> Path:
    return tmp_path / "mode_collapse" / "_checkpoints" / run


class Trained(list):
    """The pairs `run_all` trained, in order; `stop_after` ends the session after that many."""

    stop_after: int | None = None


@pytest.fixture
def trained(monkeypatch):
    calls = Trained()
    real = ch.run_method

    def counting(name, bench, cfg, device, progress=False):
        if calls.stop_after is not None and len(calls) == calls.stop_after:
            raise KeyboardInterrupt  # the session ends
        calls.append(f"{bench}-{name}")
        return real(name, bench, cfg, device, progress)

    monkeypatch.setattr(ch, "run_method", counting)
    return calls


def _assert_same(a, b, timings=True):
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])
    cols = slice(None) if timings else ["method", "benchmark"]
    pd.testing.assert_frame_equal(a[2][cols], b[2][cols])


def test_kept_pairs_are_loaded_and_give_the_frames_training_gives(tmp_path, trained, capsys):
    cfg = _tiny()
    plain = ch.run_all(cfg, CPU, progress=False)  # no store: trained in memory
    first = ch.run_all(cfg, CPU, progress=False, store=pairs.PairStore(_ckpt(tmp_path), CPU))
    _assert_same(plain, first, timings=False)  # wall times differ; every number else is equal
    assert set(plain[1].method) == set(ch.FIGURE_METHODS) and set(plain[1].seed) == {0}
    assert set(plain[0].method) == set(TINY["methods"].split(","))
    trained.clear()
    store = pairs.PairStore(_ckpt(tmp_path), CPU)
    again = ch.run_all(cfg, CPU, progress=False, store=store)
    assert trained == []  # every pair loaded
    _assert_same(first, again)  # the kept train_seconds too
    assert store.provenance()["loaded"] == sorted(PAIRS) and store.provenance()["trained"] == []
    assert capsys.readouterr().out == ""  # nothing to say: same fingerprint, same arithmetic
    kept = sorted(p.name for p in (tmp_path / "mode_collapse" / "_pairs" / "pieces").iterdir())
    assert kept == sorted(f"{p}.json" for p in PAIRS)  # nothing else: no temporary file left
    text = (tmp_path / "mode_collapse" / "_pairs" / "pieces" / "ring-gan_minimax.json").read_text()
    assert str(tmp_path) not in text  # no path of this machine in a committed file


def test_an_interrupted_run_resumes_and_ends_as_an_uninterrupted_one(tmp_path, trained):
    cfg = _tiny()
    whole = ch.run_all(cfg, CPU, progress=False, store=pairs.PairStore(_ckpt(tmp_path, "a"), CPU))
    trained.clear()
    trained.stop_after = 2
    with pytest.raises(KeyboardInterrupt):
        ch.run_all(cfg, CPU, progress=False, store=pairs.PairStore(_ckpt(tmp_path, "b"), CPU))
    assert trained == PAIRS[:2]
    trained.clear()
    trained.stop_after = None
    resumed = ch.run_all(cfg, CPU, progress=False, store=pairs.PairStore(_ckpt(tmp_path, "b"), CPU))
    assert trained == PAIRS[2:]  # only what the first session had not finished
    _assert_same(whole, resumed, timings=False)


def test_a_pair_kept_under_another_fingerprint_is_trained_again_saying_why(
    tmp_path, trained, capsys, monkeypatch
):
    one = dict(methods="gan_minimax", benchmarks="ring")
    ch.run_all(_tiny(**one), CPU, progress=False, store=pairs.PairStore(_ckpt(tmp_path), CPU))
    trained.clear()
    capsys.readouterr()
    # not in the fingerprint: the image benchmarks' parameters and which pairs run
    cfg = _tiny(**one, image_benchmarks="none", seeds_image=2)
    ch.run_all(cfg, CPU, progress=False, store=pairs.PairStore(_ckpt(tmp_path), CPU))
    assert trained == []
    code = pairs.code_digest(ch.__name__)[:12]
    for change, why in [
        (dict(steps=2), "config.steps 4 -> 2"),
        (dict(steps=2, seed=3), "config.seed 0 -> 3"),
        ("code", f"code '{code}' -> '000000000000'"),
    ]:
        if change == "code":
            monkeypatch.setattr(pairs, "code_digest", lambda module: "0" * 64)
            change = dict(steps=2, seed=3)
        trained.clear()
        store = pairs.PairStore(_ckpt(tmp_path), CPU)
        ch.run_all(_tiny(**one, **change), CPU, progress=False, store=store)
        assert trained == ["ring-gan_minimax"], why
        assert capsys.readouterr().out == (
            f"pair ring-gan_minimax: kept under another fingerprint ({why}); training it again\n"
        )
        assert store.provenance()["trained"] == ["ring-gan_minimax"]


def test_a_pair_from_other_arithmetic_is_loaded_and_recorded(tmp_path, trained, capsys):
    cfg = _tiny(methods="gan_minimax", benchmarks="ring")
    ch.run_all(cfg, CPU, progress=False, store=pairs.PairStore(_ckpt(tmp_path), CPU))
    path = tmp_path / "mode_collapse" / "_pairs" / "pieces" / "ring-gan_minimax.json"
    kept = json.loads(path.read_text())
    kept["arithmetic"]["torch_threads"] = 99
    path.write_text(json.dumps(kept))
    trained.clear()
    store = pairs.PairStore(_ckpt(tmp_path), CPU)
    ch.run_all(cfg, CPU, progress=False, store=store)
    assert trained == [] and "other arithmetic" in capsys.readouterr().out
    assert store.provenance()["arithmetic"][0]["torch_threads"] == 99


def _second_worker(tmp_path: Path, cfg, held: str, finish: bool, trained):
    """This process holds `held`'s lock as another worker would while `run_all` runs in a
    thread; once the thread has finished every other pair, the 'worker' keeps its pair (copied
    from a complete run) or stops without it, and lets go."""
    ref = _ckpt(tmp_path, "ref")
    expected = ch.run_all(cfg, CPU, progress=False, store=pairs.PairStore(ref, CPU))
    trained.clear()
    ckpt, said, result = _ckpt(tmp_path, "shared"), [], {}
    store = pairs.PairStore(ckpt, CPU, say=said.append)
    with exclusive(store.locks / f"{held}.lock", held):
        worker = threading.Thread(
            target=lambda: result.update(out=ch.run_all(cfg, CPU, progress=False, store=store))
        )
        worker.start()
        deadline = time.monotonic() + 60
        while not any("waiting" in s for s in said) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert said == [f"waiting for pair {held}: another process is training it"]
        assert sorted(trained) == sorted(p for p in PAIRS if p != held)
        if finish:
            shutil.copy(pairs.pairs_dir(ref) / f"{held}.json", store.path(held))
    worker.join(60)
    assert not worker.is_alive()
    _assert_same(expected, result["out"], timings=False)
    return store


def test_two_workers_share_the_pairs_of_one_run(tmp_path, trained):
    store = _second_worker(tmp_path, _tiny(), "ring-unrolled_gan", True, trained)
    assert "ring-unrolled_gan" not in trained  # the other worker's pair: loaded, not trained
    assert store.provenance()["loaded"] == ["ring-unrolled_gan"]


def test_a_pair_whose_worker_stopped_unfinished_is_trained_here(tmp_path, trained):
    _second_worker(tmp_path, _tiny(), "grid-gan_minimax", False, trained)
    assert trained[-1] == "grid-gan_minimax"


def test_the_train_command_keeps_pairs_that_the_next_one_loads(tmp_path, trained, capsys):
    params = {**TINY, "methods": "gan_minimax", "image_benchmarks": "none"}
    req = TrainRequest("quick", params, str(tmp_path), "toys")
    ch.train_cli(req)
    assert sorted(trained) == ["grid-gan_minimax", "ring-gan_minimax"]
    assert sorted(p.name for p in pairs.pairs_dir(_ckpt(tmp_path, "toys")).iterdir()) == [
        "grid-gan_minimax.json",
        "ring-gan_minimax.json",
    ]
    trained.clear()
    ch.train_cli(req)
    assert trained == []


def test_frames_round_trip_to_the_last_bit():
    df = pd.DataFrame(
        {
            "g": pd.Series([0, 2, 4], dtype="int64"),
            "x": pd.Series([0.1, -1e-30, 3.4e38], dtype="float32"),
            "r": [float("nan"), float("inf"), 1 / 3],
            "m": ["a", "a", "a"],
        }
    )
    back = pairs.decode_frame(json.loads(json.dumps(pairs.encode_frame(df), allow_nan=False)))
    pd.testing.assert_frame_equal(df, back)
    assert pairs.encode_frame(df)["values"][3] == {"all": "a"}


def test_the_code_digest_covers_what_the_toys_import_and_nothing_else(tmp_path, monkeypatch):
    """Editing another chapter, the report or the run store keeps the kept pairs; editing the
    networks or the chapter's own module does not."""
    copy = tmp_path / "replication"
    shutil.copytree(pairs.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(pairs, "PACKAGE", copy)
    digest = pairs.code_digest.__wrapped__
    module = "replication.chapters.mode_collapse"
    before = digest(module)
    for kept in ("chapters/parzen_mnist.py", "report/mode_collapse.py", "runs/store.py"):
        (copy / kept).write_text((copy / kept).read_text() + "\n# edited\n")
        assert digest(module) == before, kept
    for moved in ("nets/batched.py", "chapters/mode_collapse.py"):
        (copy / moved).write_text((copy / moved).read_text() + "\n# edited\n")
        now = digest(module)
        assert now != before, moved
        before = now
