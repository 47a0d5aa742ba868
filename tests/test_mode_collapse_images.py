"""The mode-collapse chapter's image benchmarks: config refused before compute, which methods
run where, a tiny end-to-end pass on a hand-made MNIST, a clear skip without MNIST, and the
report's aggregates from hand-made per-seed rows."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from replication.chapters import mode_collapse as ch
from replication.chapters import mode_collapse_images as im
from replication.config import ConfigError
from replication.metrics.classifier import CLASSIFIER_SEED
from replication.report import mode_collapse as report
from replication.report import mode_collapse_images as rim

CPU = torch.device("cpu")


def _tiny(**kw):
    base = dict(
        methods="gan_nonsaturating,minibatch_discrimination,feature_matching,wgan_gp,"
        "conditional_gan",
        seeds_image=2, image_epochs=1, image_batch=8, stacked_train_images=16,
        mnist_train_images=16, image_noise_dim=4, image_dim=2, mb_image_kernels=3,
        mb_image_kernel_dim=2, stacked_eval_samples=30, mnist_eval_samples=12, fid_reference=10,
        parzen_valid=5, parzen_test=10, cgan_samples_per_digit=2, classifier_epochs=1,
        device="cpu",
    )  # fmt: skip
    return ch.ModeCollapseConfig.for_profile("quick", **{**base, **kw})


def test_image_config_names_what_is_wrong():
    with pytest.raises(ConfigError, match="unknown image benchmark.*cifar"):
        _tiny(image_benchmarks="stacked,cifar")
    with pytest.raises(ConfigError, match="image_batch 64 > stacked_train_images 16"):
        _tiny(image_batch=64)
    assert _tiny(image_benchmarks="none").image_benchmark_names() == []
    for row in ch.ModeCollapseConfig.describe():
        if row["parameter"].startswith(("image_", "stacked_", "mnist_", "parzen_")):
            assert row["help"] and row["quick"] is not None, row["parameter"]


def test_which_methods_run_on_which_image_benchmark():
    cfg = _tiny()
    runs = im.image_runs(cfg)
    assert ("conditional_gan", "mnist") in runs and ("conditional_gan", "stacked") not in runs
    assert ("minibatch_discrimination", "stacked") in runs
    every = im.image_runs(_tiny(methods="all"))  # every method has image networks now
    assert {m for m, _ in every} == set(ch.METHODS)
    assert len(every) == 2 * len(ch.METHODS) - 1  # both benchmarks, but no stacked cGAN


def test_seed_s_of_every_method_starts_from_the_same_generator():
    cfg = _tiny()
    a = im.build_image_gan("gan_nonsaturating", "stacked", cfg, CPU, seed=5).generator
    b = im.build_image_gan("minibatch_discrimination", "stacked", cfg, CPU, seed=5).generator
    c = im.build_image_gan("gan_nonsaturating", "stacked", cfg, CPU, seed=6).generator
    pa, pb, pc = (torch.cat([p.flatten() for p in g.parameters()]) for g in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)


def test_tiny_end_to_end_pass_on_a_hand_made_mnist(fake_mnist, tmp_path):
    folder = fake_mnist.write(tmp_path / "mnist")
    cfg = _tiny(data_dir=str(folder))
    res, status = im.run_if_data(cfg, CPU, tmp_path / "ckpt", progress=False)
    assert status.startswith("run: stacked, mnist") and res is not None
    (cached,) = (tmp_path / "ckpt").glob("classifier_*.pt")  # metrics.mnist_scoring's cache
    assert torch.load(cached, weights_only=False)["settings"]["seed"] == CLASSIFIER_SEED
    ps = res.per_seed
    assert len(ps) == (4 * 2 + 5 * 2)  # 4 methods on stacked, 5 on MNIST, 2 seeds each
    st = ps[ps.benchmark == "stacked"]
    assert st.modes.between(1, 30).all() and st.kl.between(0, math.log(1000) + 1e-9).all()
    mn = ps[ps.benchmark == "mnist"]
    assert mn.fid.notna().all() and mn.parzen.notna().all()
    assert mn[mn.method == "conditional_gan"].cgan_accuracy.between(0, 1).all()
    assert (ps.d_steps == 2).all()  # one epoch of 16 rows in minibatches of 8
    assert len(res.per_digit) == 10 * 2 and set(res.per_digit.digit) == set(range(10))
    assert res.grids[("gan_nonsaturating", "stacked")].shape == (16, 3 * 784)
    agg = rim.aggregate_images(ps)
    summary = report.summary_metrics(pd.DataFrame(), rim.image_summary(agg))
    assert summary["gan_nonsaturating"]["stacked_modes"] == pytest.approx(
        st[st.method == "gan_nonsaturating"].modes.mean()
    )
    assert summary["conditional_gan"]["cgan_accuracy"] is not None
    assert summary["conditional_gan"]["stacked_modes"] is None  # not run there
    assert 1 <= res.reference["stacked"]["modes"] <= 30 and "fid" in res.reference["mnist"]
    table = rim.image_table(agg, res.reference)
    assert rim.REAL_ROW in table.index and (table.loc[rim.REAL_ROW] != "–").sum() == 5
    assert table.loc["conditional_gan", "Stacked MNIST: modes (of 1000)"] == "–"
    rim.sample_grid_figure(res.grids, "stacked")
    rim.sample_grid_figure(res.grids, "mnist")


def test_without_mnist_the_images_are_skipped_saying_why_without_a_path(
    tmp_path, monkeypatch, fake_mnist
):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    cfg = _tiny(data_dir=str(tmp_path / "nowhere"))
    res, status = im.run_if_data(cfg, CPU, tmp_path / "ckpt", progress=False)
    assert res is None and status.startswith("not run: MNIST files not found")
    assert "MNIST_DIR" in status and "nox -s data -- --download" in status
    assert str(tmp_path) not in status  # the summary and the page get it: no machine path
    folder = fake_mnist.write(tmp_path / "bad")
    bad = folder / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-3])
    res, status = im.run_if_data(_tiny(data_dir=str(folder)), CPU, tmp_path, progress=False)
    assert res is None and "checksum" in status and str(tmp_path) not in status
    res, status = im.run_if_data(_tiny(image_benchmarks="none"), CPU, tmp_path, progress=False)
    assert res is None and "no image benchmark" in status


def _rows(rows):
    cols = ["method", "benchmark", "seed", "diverged", "modes", "kl", "fid"]
    return pd.DataFrame(rows, columns=cols)


def test_image_aggregates_are_mean_and_se_over_seeds_that_did_not_diverge():
    ps = _rows(
        [
            ("gan_nonsaturating", "stacked", 0, False, 80, 4.0, math.nan),
            ("gan_nonsaturating", "stacked", 1, False, 100, 3.0, math.nan),
            ("gan_nonsaturating", "stacked", 2, True, math.nan, math.nan, math.nan),
            ("gan_nonsaturating", "mnist", 0, False, math.nan, math.nan, 10.0),
        ]
    )
    agg = rim.aggregate_images(ps)
    st = agg[agg.benchmark == "stacked"].iloc[0]
    assert (st.seeds, st.diverged, st.modes, st.modes_n) == (3, 1, 90.0, 2)
    assert st.modes_se == pytest.approx(10.0)  # sd 14.14 / sqrt(2)
    table = rim.image_table(agg)
    assert table.loc["gan_nonsaturating", "Stacked MNIST: modes (of 1000)"] == "90.0 ± 10.0 (n=2)"
    s = rim.image_summary(agg)["gan_nonsaturating"]
    assert (s["stacked_modes"], s["stacked_kl"], s["mnist_fid"]) == (90.0, 3.5, 10.0)
    assert s["mnist_fid_se"] is None  # one seed: no standard error
    assert (s["stacked_modes_n"], s["mnist_fid_n"]) == (2, 1)  # seeds scored
    claims_rows = rim.stacked_modes_per_seed(ps)
    assert claims_rows.modes.tolist() == [80, 100, 0]  # the diverged seed covers no mode
    assert claims_rows.diverged.tolist() == [False, False, True]


def test_stacked_claims_use_the_real_reference_and_count_diverged_seeds_as_zero_modes():
    nan = math.nan
    gan, mb_seeds = [80, 600, 5, 10], [(0, 90), (2, 9), (3, 3)]
    ps = _rows(
        [("gan_nonsaturating", "stacked", s, False, m, 1.0, nan) for s, m in enumerate(gan)]
        + [("minibatch_discrimination", "stacked", s, False, m, 1.0, nan) for s, m in mb_seeds]
        + [("minibatch_discrimination", "stacked", 1, True, nan, nan, nan)]  # diverged
        + [("historical_averaging", "stacked", s, False, 700, 1.0, nan) for s in range(4)]
    )
    final = rim.stacked_modes_per_seed(ps)
    assert final.set_index(["method", "seed"]).modes.loc[("minibatch_discrimination", 1)] == 0
    c = report.claims(final, "paper", stacked_reference=600).set_index("claim")
    partial = c.loc["partial mode collapse always occurs (the GAN covers some modes, not all)"]
    assert partial.verdict == "yes: 3 of 4 seeds agree"  # 80, 5, 10 of 600; 600 is all real's
    assert "of 600, the modes as many real stacked images cover" in partial.measured
    mb = c.loc["minibatch discrimination greatly reduces mode collapse"]
    assert mb.verdict.startswith("no: 2 of 4")  # dropping the diverged seed made it 2 of 3: yes
    assert "minibatch_discrimination seeds [1]" in mb.measured
    hist = "historical averaging helps in low-dimensional games where other methods fail"
    assert hist not in c.index  # a claim about low-dimensional games: toys only
    toy = pd.DataFrame(
        [("gan_nonsaturating", "ring", s, 2) for s in range(2)]
        + [("historical_averaging", "ring", s, 3) for s in range(2)],
        columns=["method", "benchmark", "seed", "modes"],
    )
    both = report.claims(pd.concat([toy, final]), "paper", stacked_reference=600)
    assert (both.claim == hist).sum() == 1 and set(both[both.claim == hist].benchmark) == {"ring"}
    no_ref = report.claims(final, "paper").set_index("claim")  # no reference: not judged there
    assert "partial mode collapse always occurs (the GAN covers some modes, not all)" not in (
        no_ref.index
    )


def test_results_table_shows_the_stacked_gan_beside_both_papers(tmp_path):
    from replication.report import results_table

    gan = {"stacked_modes": 80.0, "stacked_modes_se": 5.0, "stacked_modes_n": 3}
    s = {"metrics": {"gan_nonsaturating": gan}, "seeds_image": 3, "claims": []}
    rows = results_table.READERS["mode_collapse"](s, {"image_epochs": 50}, tmp_path)
    (row,) = [r for r in rows if "Stacked MNIST" in r["claim"]]
    assert row["ours"] == "80.0 ± 5.0 over 3 seeds, 50 epochs"
    gan["stacked_modes_n"] = 2  # one seed diverged: the seeds scored, not the seeds run
    rows = results_table.READERS["mode_collapse"](s, {"image_epochs": 50}, tmp_path)
    (row,) = [r for r in rows if "Stacked MNIST" in r["claim"]]
    assert row["ours"] == "80.0 ± 5.0 over 2 of 3 seeds scored, 50 epochs"
    assert "78.9 ± 6.46" in row["published"] and "99" in row["published"]
    s["metrics"]["gan_nonsaturating"] = {"stacked_modes": None}
    assert not results_table.READERS["mode_collapse"](s, {}, tmp_path)  # not run: no row
