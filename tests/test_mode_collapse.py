"""The mode-collapse chapter: its config refuses bad input before compute, every method runs
through the one loop on batched seeds, and the report's numbers and verdicts come from the
seeds as stated."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from replication.chapters import mode_collapse as ch
from replication.config import ConfigError
from replication.report import mode_collapse as report

CPU = torch.device("cpu")


def _tiny(**kw):
    base = dict(
        seeds_toy=2, steps=4, snapshot_every=2, batch_size=16, train_points=64, noise_dim=4,
        g_hidden=8, d_hidden=8, unroll_steps=2, eval_samples=50, figure_points=10,
        vbn_reference=8, device="cpu",
    )  # fmt: skip
    return ch.ModeCollapseConfig.for_profile("quick", **{**base, **kw})


def test_config_names_what_is_wrong():
    with pytest.raises(ConfigError, match="unknown method.*gann"):
        _tiny(methods="gan_minimax,gann")
    with pytest.raises(ConfigError, match="unknown benchmark.*spiral"):
        _tiny(benchmarks="spiral")
    with pytest.raises(ConfigError, match="multiple of snapshot_every"):
        _tiny(steps=5)
    for row in ch.ModeCollapseConfig.describe():
        assert row["help"], row["parameter"]


def test_every_method_trains_all_seeds_through_the_loop_and_is_scored():
    cfg = _tiny()
    scores, samples, timings = ch.run_all(cfg, CPU, progress=False)
    assert set(scores.method) == set(ch.METHODS) and set(scores.benchmark) == {"ring", "grid"}
    assert sorted(scores.g_step.unique()) == [0, 2, 4]  # step 0 and two snapshots
    final = ch.final_scores(scores)
    assert len(final) == len(ch.METHODS) * 2 * cfg.seeds_toy
    assert final.modes.between(0, 25).all() and final.hq.between(0, 100).all()
    cond = final[final.method == "conditional_gan"]
    assert cond.label_accuracy.between(0, 1).all()
    assert len(timings) == len(ch.METHODS) * 2 and (timings.train_seconds > 0).all()
    assert (timings.train_cpu_seconds > 0).all()  # what a pair cost, however long it waited
    assert set(samples.columns) >= {"g_step", "seed", "x", "y", "method", "benchmark"}


def test_seed_s_of_every_method_starts_from_the_same_generator():
    cfg = _tiny()
    a = ch.build_gan("gan_minimax", cfg, ch.MIXTURES["ring"], CPU).generator
    b = ch.build_gan("unrolled_gan", cfg, ch.MIXTURES["ring"], CPU).generator
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def _final(rows):
    return pd.DataFrame(rows, columns=["method", "benchmark", "seed", "modes", "hq", "rkl"])


def test_aggregate_is_mean_and_standard_error_over_finite_seeds():
    final = _final(
        [
            ("gan_nonsaturating", "ring", 0, 6, 90.0, 0.5),
            ("gan_nonsaturating", "ring", 1, 8, 80.0, math.nan),  # no HQ sample: undefined
            ("gan_nonsaturating", "ring", 2, 7, 70.0, 0.3),
        ]
    )
    r = report.aggregate(final).iloc[0]
    assert (r.modes, r.modes_se, r.modes_n) == (7.0, pytest.approx(1 / math.sqrt(3)), 3)
    assert (r.rkl, r.rkl_n) == (pytest.approx(0.4), 2)
    assert r.rkl_se == pytest.approx(math.sqrt(0.02) / math.sqrt(2))
    table = report.results_table(report.aggregate(final))
    assert table.loc["gan_nonsaturating", "ring: modes (of 8)"] == "7.0 ± 0.6"
    assert table.loc["gan_nonsaturating", "ring: reverse KL"].endswith("(n=2)")
    m = report.summary_metrics(report.aggregate(final))["gan_nonsaturating"]
    assert m["ring_modes"] == 7.0 and m["stacked_modes"] is None and m["mnist_fid"] is None


def test_claim_verdicts_count_seeds_paired_by_seed_index():
    final = _final(
        [("gan_nonsaturating", "ring", s, m, 90.0, 0.1) for s, m in enumerate([3, 8, 5, 0])]
        + [
            ("minibatch_discrimination", "ring", s, m, 90.0, 0.1)
            for s, m in enumerate([4, 8, 6, 1])
        ]
    )
    c = report.claims(final, "paper").set_index("claim")
    partial = c.loc["partial mode collapse always occurs (the GAN covers some modes, not all)"]
    assert partial.verdict == "no: 2 of 4 seeds agree"  # 3 and 5 are partial; 8 and 0 are not
    mbd = c.loc["minibatch discrimination greatly reduces mode collapse"]
    assert mbd.verdict == "yes: 3 of 4 seeds agree"  # seed 1 ties at 8
    assert "quick" in report.claims(final, "quick").verdict.iloc[0]


def test_published_rows_are_labelled_and_sourced():
    t = report.published_table()
    assert t.source.str.contains("PacGAN|VEEGAN").all()
    ring_gan = t[(t["model (published)"] == "GAN") & (t.benchmark == "ring")]
    assert set(ring_gan.modes) == {"1.0", "6.3 ± 0.5"}  # the two papers' baselines disagree


def test_the_seed_benchmark_times_both_loops_on_the_same_networks():
    from replication import bench_seeds

    cfg = _tiny(seeds_toy=3)
    r = bench_seeds.time_both(cfg, steps=2, device=CPU, repeats=2)
    assert r["batched_s"] > 0 and r["per_seed_loop_s"] > 0 and r["seeds"] == 3
    assert r["ratio"] == pytest.approx(r["per_seed_loop_s"] / r["batched_s"])
    for name in ("batched_s", "per_seed_loop_s", "two_seeds_s"):  # the fastest repeat counts
        assert len(r["repeats_s"][name]) == 2 and r[name] == min(r["repeats_s"][name])
    if r["ratio_ceiling"] is not None:  # None when timing noise exceeds a seed's work
        x = r["per_seed_work_s"]
        assert r["two_seeds_s"] == pytest.approx(r["step_overhead_s"] + 2 * x)
        assert r["batched_s"] == pytest.approx(r["step_overhead_s"] + 3 * x)
        assert r["ratio_ceiling"] == pytest.approx(r["per_seed_loop_s"] / 3 / x)


def test_notebook_runs_and_writes_the_summary_keys(tmp_path):
    """The notebook at a tiny budget on three methods: the summary keys the issue asks for,
    the image benchmarks null (not run), and one claim row per compared method and benchmark."""
    import json

    from replication.publish import execute as notebooks

    tiny = {
        "methods": "gan_nonsaturating,gan_minimax,unrolled_gan",
        "seeds_toy": 2, "steps": 4, "snapshot_every": 2, "batch_size": 16, "train_points": 64,
        "noise_dim": 4, "g_hidden": 8, "d_hidden": 8, "unroll_steps": 1, "eval_samples": 50,
        "figure_points": 10, "device": "cpu", "image_benchmarks": "none",
    }  # fmt: skip
    notebooks.execute(
        "mode_collapse", "quick", tiny, results_dir=tmp_path, run_name="t", progress=False
    )
    run = tmp_path / "mode_collapse" / "t"
    s = json.loads((run / "summary.json").read_text())
    for key in (
        "methods",
        "seeds_toy",
        "seeds_image",
        "metrics",
        "profile",
        "device",
        "git_commit",
    ):
        assert key in s, key
    m = s["metrics"]["unrolled_gan"]
    for key in ("ring_modes", "ring_hq", "ring_rkl", "grid_modes", "grid_hq", "grid_rkl"):
        assert key in m and f"{key}_se" in m, key
    assert m["stacked_modes"] is None and m["stacked_kl"] is None and m["mnist_fid"] is None
    assert s["seeds_image"] == 0 and s["image_benchmarks"].startswith("not run")
    assert len(s["claims"]) == 2 * 2  # partial collapse and unrolling, on ring and grid
    for name in ("snapshots_ring", "modes_over_training_grid"):
        assert (run / "figures" / f"{name}.png").is_file(), name
    kept = json.loads((run / "provenance.json").read_text())["toy_pairs"]
    assert kept["kept_in"] == "_pairs/t" and kept["loaded"] == []
    assert len(kept["trained"]) == 3 * 2  # every pair trained: none was kept before


def test_seed_benchmark_table_reads_the_committed_result(tmp_path):
    import json

    p = tmp_path / "b.json"
    assert report.seed_benchmark(str(p)) is None
    one = {"seeds": 10, "steps": 30, "batched_s": 1.0, "per_seed_loop_s": 4.6, "ratio": 4.6}
    p.write_text(json.dumps({"quick_networks": one, "device": "cpu", "git_commit": "abc"}))
    t = report.seed_benchmark(str(p))
    assert t.ratio.tolist() == [4.6] and t.networks.tolist() == ["quick profile's"]


def test_ring_snapshots_figure_says_what_is_missing_instead_of_crashing():
    import pandas as pd

    from replication.report.mode_collapse import ring_snapshots_figure

    samples = pd.DataFrame(
        {"benchmark": ["ring"] * 2, "seed": [0, 0], "method": ["wgan", "wgan"],
         "g_step": [0, 10], "x": [0.0, 1.0], "y": [0.0, 1.0]}
    )  # fmt: skip
    fig = ring_snapshots_figure(samples)
    text = " ".join(t.get_text() for ax in fig.axes for t in ax.texts)
    assert "gan_minimax, unrolled_gan" in text
    assert len(ring_snapshots_figure(samples, methods=("wgan",)).axes) == 2  # one row, 2 steps
