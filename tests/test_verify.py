"""`verify`: a fresh run against a committed seed ensemble, on fake summaries (no training)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from replication.__main__ import main
from replication.config import ConfigError
from replication.runs import aggregate as agg
from replication.runs import verify as v

CH = "loss_saturation"
CONFIG = {"profile": "quick", "seed": 0, "device": "auto", "data_dir": None, "epochs": 5}


def _summary(seed: int, ll: float, *, flips: bool = False, **extra) -> dict:
    return {
        "parzen_ll": ll,
        "epochs": 5,
        "nested": {"grad": 0.1 * (seed + 1)},
        "reproduced": flips,
        "dataset": "MNIST",
        "per_fold": [1.0, 2.0],
        "wall_time_s": 60.0 + seed,
        "train_time_s_total": 50.0 + seed,
        "device": f"cpu ({seed} cores)",
        "git_dirty": seed == 1,
        "seed": seed,
        "run_name": f"quick-seed{seed}",
        **extra,
    }


ENSEMBLE = {0: _summary(0, -60.0), 1: _summary(1, -58.0), 2: _summary(2, -62.0)}


def _aggregate() -> dict:
    return agg.aggregate(CH, "quick", ENSEMBLE)


def _by_key(checks):
    return {c.key: c for c in checks}


def test_band_is_the_t_prediction_interval():
    """t(0.995, 2) = 9.925 (any t table): the band at n = 3 is ±9.925 · sd · sqrt(4/3)."""
    lo, hi = v.band({"mean": 1.0, "sd": 2.0, "n": 3})
    assert hi - 1.0 == pytest.approx(9.9248 * 2.0 * math.sqrt(4 / 3), rel=1e-4)
    assert 1.0 - lo == pytest.approx(hi - 1.0)
    assert v.band({"mean": 1.0, "sd": None, "n": 1}) is None


def test_band_holds_a_new_seed_99_percent_of_the_time():
    """The promise in the docstring, checked by simulation: normal draws, 3 seeds each."""
    rng = np.random.default_rng(0)
    inside = 0
    trials = 4000
    for _ in range(trials):
        x = rng.normal(size=4)
        stat = {"mean": float(x[:3].mean()), "sd": float(x[:3].std(ddof=1)), "n": 3}
        lo, hi = v.band(stat)
        inside += lo <= x[3] <= hi
    assert 0.984 < inside / trials < 0.996


def test_numbers_inside_and_outside_their_band():
    a = _aggregate()
    fresh = _summary(0, -61.0, nested={"grad": 5.0})
    checks = _by_key(v.compare_band(fresh, a))
    assert checks["parzen_ll"].inside is True
    assert checks["nested.grad"].inside is False  # mean 0.2, sd 0.1: band about ±1.15
    assert checks["epochs"].inside is True and checks["epochs"].band == "equal"
    far = _by_key(v.compare_band(_summary(0, -200.0), a))
    assert far["parzen_ll"].inside is False


def test_a_count_set_by_the_config_must_be_equal():
    checks = _by_key(v.compare_band(_summary(0, -60.0, epochs=6), _aggregate()))
    assert checks["epochs"].inside is False


def test_bookkeeping_strings_and_lists_are_not_compared():
    keys = {c.key for c in v.compare_band(_summary(0, -60.0), _aggregate())}
    assert keys == {"parzen_ll", "epochs", "nested.grad", "reproduced"}
    bookkeeping = ("wall_time_s", "train_time_s_total", "git_dirty", "device", "a.device")
    bookkeeping += (  # machine speed under its load, not the method: the game chapter's timings
        "k_ablation.simultaneous.wall_s_per_g_step",
        "mnist_consensus.consensus.wall_s_per_g_step_per_seed",
        "bench_batched_speedup",
        "consensus_cost_per_step_ratio",
        "train_seconds",  # the mode-collapse chapter's timings
        "timings.gan.train_seconds",
    )
    # the Table 1 ledger describes the other committed runs, not this run's measurement
    for key in (*bookkeeping, "ledger.n_seeds", "ledger.noise_ablation.difference"):
        assert not v.compared(key), key
    assert v.compared("time_steps") and v.compared("final_quality.gan-dcgan")
    assert v.compared("ledger_like_metric")
    assert v.compared("seconds_of_arc_error")  # only a key that ends in `seconds` is a timing


def test_a_long_value_is_cut_in_the_table_but_compared_in_full():
    claims = [{"claim": "x" * 50, "verdict": "yes"}] * 3
    check = v.Check("claims", claims, v.fmt(claims), "equal", True)
    for exact in (True, False):
        shown = v.table([check], exact=exact).iloc[0]
        assert all(len(str(x)) <= v.SHOWN_CHARS for x in shown), shown
        assert shown.iloc[1].endswith("...")


def test_a_yes_no_is_inside_when_some_seed_said_the_same():
    ens = {0: _summary(0, -60.0, flips=True), 1: _summary(1, -58.0), 2: _summary(2, -62.0)}
    a = agg.aggregate(CH, "quick", ens)
    for fresh, ok in ((True, True), (False, True)):
        got = _by_key(v.compare_band(_summary(0, -60.0, flips=fresh), a))["reproduced"]
        assert got.inside is ok and got.committed == "yes in 1 of 3"
    every_no = _aggregate()  # no seed said yes
    got = _by_key(v.compare_band(_summary(0, -60.0, flips=True), every_no))["reproduced"]
    assert got.inside is False


def test_a_missing_or_non_finite_number_is_outside():
    fresh = _summary(0, -60.0)
    del fresh["parzen_ll"]
    assert _by_key(v.compare_band(fresh, _aggregate()))["parzen_ll"].inside is False
    fresh["parzen_ll"] = float("nan")
    assert _by_key(v.compare_band(fresh, _aggregate()))["parzen_ll"].inside is False


def test_an_undefined_number_is_inside_only_when_a_committed_seed_had_it_undefined():
    """A standard error over fewer than two toy seeds is null: an outcome, not a failure, when
    the committed seeds had it too; never seen there, it is outside."""
    seeds = {s: _summary(s, -60.0 + s, se=None if s == 2 else 0.1 * (s + 1)) for s in range(3)}
    got = _by_key(v.compare_band(_summary(0, -60.0, se=None), agg.aggregate(CH, "quick", seeds)))
    assert got["se"].inside is True and got["se"].band == "undefined in 1 of 3 seeds"
    always = {s: _summary(s, -60.0 + s, se=0.1 * (s + 1)) for s in range(3)}
    got = _by_key(v.compare_band(_summary(0, -60.0, se=None), agg.aggregate(CH, "quick", always)))
    assert got["se"].inside is False
    # a number where a seed had none is still held to the band of the others
    got = _by_key(v.compare_band(_summary(0, -60.0, se=9.0), agg.aggregate(CH, "quick", seeds)))
    assert got["se"].inside is False


def test_one_seed_gives_no_band():
    a = agg.aggregate(CH, "quick", {0: ENSEMBLE[0]})
    got = _by_key(v.compare_band(_summary(0, -70.0), a))["parzen_ll"]
    assert got.inside is None and "1 seed" in got.band


def test_exact_mode_wants_every_bit():
    a = _aggregate()
    same = json.loads(json.dumps(ENSEMBLE[1]))
    assert all(c.inside for c in v.compare_exact(same, a, 1))
    off = dict(same, nested={"grad": math.nextafter(0.2, 1.0)})  # one bit off
    bad = [c.key for c in v.compare_exact(off, a, 1) if not c.inside]
    assert bad == ["nested.grad"]
    with pytest.raises(ConfigError, match="seed 7 is not in the committed ensemble"):
        v.compare_exact(same, a, 7)


# -- a results folder as a sweep and `nox -s reproduce` leave it ---------------------------------


def _write_run(root, name, summary, seed, config=None, **prov):
    d = root / CH / name
    d.mkdir(parents=True)
    (d / "summary.json").write_text(json.dumps(summary))
    provenance = {"seed": seed, "config": {**CONFIG, "seed": seed, **(config or {})}}
    provenance.update({"device_type": "cpu", "torch_threads": 1, "versions": {"torch": "x"},
                       "cpu_capability": "AVX2"})  # fmt: skip
    (d / "provenance.json").write_text(json.dumps({**provenance, **prov}))


@pytest.fixture
def results(tmp_path):
    root = tmp_path / "results"
    for s, summ in ENSEMBLE.items():
        _write_run(root, f"quick-seed{s}", summ, s, deterministic=True)
    agg.write_aggregate(root, _aggregate())
    return root


def test_a_fresh_run_is_checked_against_the_band(results):
    _write_run(results, "quick", _summary(0, -61.0), 0, torch_threads=2)
    res = v.verify_chapter(results, CH, "quick")
    assert res.mode == "band" and not res.outside and res.run == "quick"
    table = v.table(res.checks)
    assert list(table.columns) == ["number", "this run", "committed seeds", "band", "inside"]
    assert table.set_index("number").loc["parzen_ll", "committed seeds"] == "-60 ± 2 (n=3)"


def test_a_deterministic_seed_run_is_checked_for_equality(results):
    _write_run(results, "repro-seed2", ENSEMBLE[2], 2, deterministic=True)
    res = v.verify_chapter(results, CH, "quick", run="repro-seed2")
    assert res.mode == "exact" and not res.outside and not res.notes
    _write_run(results, "repro2-seed2", dict(ENSEMBLE[2], parzen_ll=-62.0000001), 2,
               deterministic=True, torch_threads=2)  # fmt: skip
    res = v.verify_chapter(results, CH, "quick", run="repro2-seed2")
    assert [c.key for c in res.outside] == ["parzen_ll"]
    shown = v.table(res.checks, exact=True).set_index("number").loc["parzen_ll"]
    assert shown.tolist() == ["-62.0000001", "-62.0", "NO"]  # in full: the last bit matters
    assert any("torch_threads" in n for n in res.notes)


def test_a_deterministic_run_on_another_kind_of_cpu_is_told_why_it_may_differ(results):
    """One thread repeats bit for bit only on CPUs with the same vector unit: seen when the
    mode-collapse seeds were re-run on an AVX-512 machine (a committed pair differed there at
    the very commit that made it)."""
    _write_run(results, "avx512-seed2", ENSEMBLE[2], 2, deterministic=True,
               cpu_capability="AVX512")  # fmt: skip
    res = v.verify_chapter(results, CH, "quick", run="avx512-seed2")
    assert res.mode == "exact" and not res.outside  # equal numbers stay equal, and it is said
    assert "cpu_capability: committed 'AVX2', this run 'AVX512'" in res.notes
    old = json.loads((results / CH / "quick-seed2" / "provenance.json").read_text())
    del old["cpu_capability"]  # a run committed before the record existed
    (results / CH / "quick-seed2" / "provenance.json").write_text(json.dumps(old))
    res = v.verify_chapter(results, CH, "quick", run="avx512-seed2")
    assert len(res.notes) == 1 and "predates the record" in res.notes[0]
    assert "'AVX512'" in res.notes[0]


def test_a_run_of_another_configuration_is_refused(results):
    _write_run(results, "quick", _summary(0, -61.0), 0, config={"epochs": 9})
    with pytest.raises(ConfigError, match=r"epochs=9 \(seeds: 5\)"):
        v.verify_chapter(results, CH, "quick")


def test_missing_inputs_say_what_to_run(tmp_path, results):
    with pytest.raises(ConfigError, match="python -m replication sweep parzen_tfd"):
        v.verify_chapter(results, "parzen_tfd", "quick")
    with pytest.raises(ConfigError, match=f"python -m replication notebook {CH}"):
        v.verify_chapter(results, CH, "quick")


def test_the_command_prints_a_table_and_fails_when_outside(results, capsys):
    _write_run(results, "quick", _summary(0, -61.0), 0)
    assert main(["verify", "--profile", "quick", "--results-dir", str(results)]) == 0
    out = capsys.readouterr().out
    assert "parzen_ll" in out and "4 of 4 inside" in out and "every number inside" in out
    _write_run(results, "far", _summary(0, -300.0), 0)
    argv = ["verify", CH, "--profile", "quick", "--run", "far", "--results-dir", str(results)]
    assert main(argv) == 1
    out = capsys.readouterr().out
    # 2 banded numbers (parzen_ll, nested.grad) at 99 %: 0.02 expected outside by chance
    assert "OUTSIDE: parzen_ll (by chance alone about 0.0 of its 2 banded numbers" in out
    assert main(["verify", "nope", "--results-dir", str(results)]) == 2


@pytest.mark.slow
def test_a_deterministic_rerun_equals_the_committed_seed_bit_for_bit(tmp_path, monkeypatch):
    """The promise of deterministic mode on a real chapter: loss_saturation quick seed 1, made
    again with `--deterministic`, equals the committed seed run in every number (same kind of
    machine and libraries as the committed run; needs MNIST)."""
    import shutil

    from replication.datasets.mnist import DatasetError, locate_mnist
    from replication.publish import execute as notebooks
    from replication.runs import determinism
    from replication.runs.paths import project_root

    try:
        locate_mnist()
    except DatasetError:
        pytest.skip("MNIST files not found (set MNIST_DIR)")
    committed = project_root() / "results" / CH
    if not (committed / "quick-seeds" / "summary.json").exists():
        pytest.skip("no committed quick ensemble of loss_saturation")
    for name in ("quick-seeds", "quick-seed1"):
        shutil.copytree(
            committed / name, tmp_path / CH / name, ignore=shutil.ignore_patterns("*.ipynb", "logs")
        )
    wanted: dict[str, str] = {}
    determinism.request(wanted)  # as `--deterministic` does; the kernel inherits it
    for key, value in wanted.items():
        monkeypatch.setenv(key, value)
    notebooks.execute(CH, "quick", {"seed": 1}, tmp_path, "repro-seed1", progress=False)
    res = v.verify_chapter(tmp_path, CH, "quick", run="repro-seed1")
    assert res.mode == "exact"
    assert not res.outside, v.table(res.outside).to_string()


def test_a_number_every_seed_shares_must_be_equal_if_a_count_else_is_unjudged_when_it_moves():
    count = {"mean": 3.0, "sd": 0.0, "n": 3}
    assert v.check_number("epochs", 3.0, count).inside is True
    assert v.check_number("epochs", 4.0, count).inside is False
    shared = {"mean": 0.9166, "sd": 0.0, "n": 3}  # a fixed-seed classifier's accuracy
    assert v.check_number("acc", 0.9166 * (1 + 1e-9), shared).inside is True
    moved = v.check_number("acc", 0.9178, shared)  # another thread count: no spread to judge
    assert moved.inside is None and "no spread" in moved.band
    assert v.check_number("acc", None, shared).inside is None


def test_float_noise_of_a_shared_number_is_no_spread():
    shared = {"mean": 119.83405091444442, "sd": 1.5888218580782548e-14, "n": 5}
    # another CPU kind sums the same real-image score in another order: the last bits move
    moved = v.check_number("real_images_scores.Parzen LL (nats)", 119.83405091444439, shared)
    assert moved.inside is True and "6 digits" in moved.band
    far = v.check_number("real_images_scores.Parzen LL (nats)", 119.9, shared)
    assert far.inside is None  # the seeds give no spread to judge a real move by
    spread = {"mean": 119.8, "sd": 1e-3, "n": 5}  # a real spread is banded as before
    assert v.check_number("x", 119.9, spread).inside is False


def test_a_whole_number_training_gives_is_banded_by_the_resolution_of_a_whole_number():
    agreed = {"mean": 2.0, "sd": 0.0, "n": 3}
    lo, hi = v.band(agreed, floor=v.WHOLE_NUMBER_SD)
    assert hi - 2.0 == pytest.approx(v.t_quantile(0.995, 2) * math.sqrt(4 / 3) / math.sqrt(12))
    near = v.check_number("epoch_selected", 3, agreed)
    assert near.inside is True and near.banded and "1/√12" in near.band
    assert v.check_number("epoch_selected", 7, agreed).inside is False
    modes = {"mean": 1.0, "sd": 0.0, "n": 3}
    assert v.check_number("metrics.ebgan.stacked_modes", 2, modes).inside is True
    # a count the config sets stays held to equality
    assert (
        v.check_number("final_g_iters.gan-dcgan", 499, {"mean": 500.0, "sd": 0.0, "n": 5}).inside
        is False
    )


def test_each_whole_number_kind_is_declared():
    assert v.kind_of_whole_number("epoch_selected") == "outcome"
    assert v.kind_of_whole_number("metrics.gan_minimax.ring_modes") == "outcome"
    assert v.kind_of_whole_number("metrics.gan_minimax.ring_modes_se") == "fraction"
    assert v.kind_of_whole_number("metrics.ebgan.ring_hq") == "fraction"
    assert v.kind_of_whole_number("metrics.wgan.stacked_modes_n") == "config"
    assert v.kind_of_whole_number("k_ablation.simultaneous.seeds") == "config"
    assert v.kind_of_whole_number("new_count") == "undeclared"
    undeclared = v.check_number("new_count", 3, {"mean": 3.0, "sd": 0.0, "n": 3})
    assert undeclared.inside is True and "undeclared" in undeclared.band


def test_every_whole_number_the_committed_seeds_share_is_declared_config_or_outcome():
    """A new chapter's count must say which it is: equality for an outcome would fail honest
    runs, a band for a config count would hide a changed config."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "results"
    undeclared = []
    for path in sorted(root.glob("*/*-seeds/summary.json")):
        for key, stat in json.loads(path.read_text())["metrics"].items():
            shared = "mean" in stat and v.no_spread(stat) and v.compared(key)
            if shared and float(stat["mean"]).is_integer():
                if v.kind_of_whole_number(key) == "undeclared":
                    undeclared.append(f"{path.parent.parent.name}: {key}")
    assert not undeclared, "declare in verify.CONFIG_COUNTS or OUTCOME_COUNTS: " + ", ".join(
        undeclared
    )


def test_an_undefined_outcome_fraction_no_seed_had_undefined_is_unjudged():
    """Three seeds that never saw a standard error undefined cannot say it is rare at 99 %."""
    stat = {"mean": 0.083, "sd": 0.14, "n": 3, "values": {"0": 0.25, "1": 0.0, "2": 0.0}}
    got = v.check_number("metrics.fgan_js.ring_rkl_se", None, stat)
    assert got.inside is None and "too few to judge" in got.band
    assert v.check_number("parzen_ll", None, stat).inside is False  # not an outcome fraction


def test_a_mean_of_counts_every_seed_shares_is_banded_like_a_count():
    shared = {"mean": 0.6, "sd": 0.0, "n": 3}  # modes covered, averaged over 5 toy seeds
    got = v.check_number("metrics.fgan_js.ring_modes", 0.4, shared)
    assert got.inside is True and got.banded
    assert v.check_number("metrics.fgan_js.ring_modes", 6.0, shared).inside is False


def test_a_deterministic_run_on_another_cpu_model_with_the_same_vector_unit_is_told(results):
    """An Intel with AMX and an AMD EPYC both say AVX512, yet oneDNN and MKL may pick other
    kernels on them; the model name, recorded since, tells them apart."""
    for s in ENSEMBLE:
        p = results / CH / f"quick-seed{s}" / "provenance.json"
        p.write_text(json.dumps({**json.loads(p.read_text()), "cpu_model": "Intel Xeon"}))
    _write_run(results, "amd-seed2", ENSEMBLE[2], 2, deterministic=True, cpu_model="AMD EPYC")
    res = v.verify_chapter(results, CH, "quick", run="amd-seed2")
    assert "cpu_model: committed 'Intel Xeon', this run 'AMD EPYC'" in res.notes
    p = results / CH / "quick-seed1" / "provenance.json"
    old = json.loads(p.read_text())
    del old["cpu_model"]  # a run committed before the record existed: nothing to compare
    p.write_text(json.dumps(old))
    _write_run(results, "amd-seed1", ENSEMBLE[1], 1, deterministic=True, cpu_model="AMD EPYC")
    notes = v.verify_chapter(results, CH, "quick", run="amd-seed1").notes
    assert len(notes) == 1 and "predates the record of the CPU's model" in notes[0]
    assert "'AMD EPYC'" in notes[0]
