"""End to end: chapter notebooks executed by Papermill with tiny parameters, then the book.

These need the real MNIST files (CI points MNIST_DIR at them); without them they are skipped,
while the unit tests cover the data path with a fixture of their own.
"""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pandas as pd
import pytest

from replication.config import ConfigError
from replication.datasets.mnist import DatasetError, locate_mnist
from replication.publish import book
from replication.publish import execute as notebooks
from replication.runs.paths import project_root

try:
    locate_mnist()
    HAVE_MNIST = True
except DatasetError:
    HAVE_MNIST = False

needs_mnist = pytest.mark.skipif(not HAVE_MNIST, reason="MNIST files not found (set MNIST_DIR)")

TINY_SATURATION = {
    "epochs": 1,
    "train_images": 1000,
    "measure_batch": 200,
    "parzen_samples": 300,
    "parzen_valid": 100,
}
TINY_PARZEN = {
    "epochs": 2,
    "train_images": 500,
    "n_samples": 400,
    "n_sigma_valid": 100,
    "n_test": 300,
    "kmeans_fit_images": 500,
    "kmeans_iters": 1,
}
TINY_WGAN = {
    "theta_grid_size": 3,
    "toy_points": 256,
    "toy_epochs": 2,
    "g_iters": 6,
    "eval_every": 2,
    "dim": 4,
    "warmup_critic": 2,
    "quality_samples": 50,
    "quality_valid": 20,
    "median_window": 3,
    "classifier_epochs": 1,
    "fid_reference": 200,
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    notebooks.execute(
        "loss_saturation",
        "quick",
        TINY_SATURATION,
        results_dir=root,
        run_name="quick",
        progress=False,
    )
    notebooks.execute(
        "parzen_mnist", "quick", TINY_PARZEN, results_dir=root, run_name="quick", progress=False
    )
    notebooks.execute(
        "wgan_vs_js", "quick", TINY_WGAN, results_dir=root, run_name="quick", progress=False
    )
    return root


def _head() -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project_root(), capture_output=True, text=True
    ).stdout.strip()


@needs_mnist
def test_loss_saturation_run_writes_measured_values(results):
    run = results / "loss_saturation" / "quick"
    s = json.loads((run / "summary.json").read_text())
    # D was trained until it confidently rejects G's samples
    assert s["mean_d_of_g"] < 0.01
    # saturation, in numbers: the minimax gradient vanishes where the non-saturating one does not,
    # by the closed-form factor (1 - D) / D since every sample sits at nearly the same D
    d = s["mean_d_of_g"]
    assert s["grad_norm_nonsaturating"] > 20 * s["grad_norm_minimax"]
    assert s["grad_ratio_nonsaturating_to_minimax"] == pytest.approx((1 - d) / d, rel=0.05)
    assert s["grad_norm_max_likelihood"] == pytest.approx(s["grad_norm_minimax"], rel=0.05)
    per = pd.read_csv(run / "measured_per_sample.csv")
    np.testing.assert_allclose(per.logit_grad_minimax, -0.5 * per.d_of_g, rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose(per.logit_grad_nonsaturating, -0.5 * (1 - per.d_of_g), rtol=1e-4)
    for key in (
        "minimax_final_mean_d_of_g",
        "nonsaturating_final_mean_d_of_g",
        "minimax_valid_parzen_ll",
        "nonsaturating_valid_parzen_ll",
    ):
        assert np.isfinite(s[key]), key
    # each cost's history is its own: one row per epoch, starting at epoch 1
    for cost in ("minimax", "nonsaturating"):
        assert pd.read_csv(run / f"training_{cost}.csv").epoch.tolist() == [1], cost
    assert s["profile"] == "quick" and s["git_commit"] == _head() and s["device"].startswith("cpu")
    # figures: real PNGs and SVGs
    for name in ("closed_forms", "closed_forms_with_measurement", "training_curves", "samples"):
        png = (run / "figures" / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000, name
        assert "<svg" in (run / "figures" / f"{name}.svg").read_text()[:2000]
    prov = json.loads((run / "provenance.json").read_text())
    assert prov["config"]["epochs"] == 1 and prov["config"]["train_images"] == 1000
    assert prov["seed"] == 0 and prov["versions"]["torch"] and prov["wall_time_s"] > 0
    assert prov["overrides_off_profile"]["epochs"] == 1
    # the executed notebook sits beside its results and holds Papermill's injected parameters
    nb = json.loads((run / "loss_saturation.ipynb").read_text())
    tags = [t for c in nb["cells"] for t in c["metadata"].get("tags", [])]
    assert "injected-parameters" in tags
    assert "**After 1 epoch** from D(G(z))" in json.dumps(nb)  # the findings, from the numbers
    # parameters off the profile: never the chapter's headline, even when named after the profile
    assert not (results / "loss_saturation" / "summary.json").exists()


@needs_mnist
def test_parzen_mnist_run(results):
    run = results / "parzen_mnist" / "quick"
    s = json.loads((run / "summary.json").read_text())
    for key in (
        "mnist_parzen_ll_mean",
        "mnist_parzen_ll_se",
        "sigma",
        "epoch_selected",
        "epochs_trained",
        "n_samples",
        "n_test",
        "train_images_parzen_ll_mean",
        "kmeans_parzen_ll_mean",
        "profile",
        "device",
        "git_commit",
    ):
        assert key in s, key
    assert s["epochs_trained"] == 2 and s["epoch_selected"] in (1, 2)
    assert s["n_samples"] == 400 and s["n_test"] == 300
    assert np.isclose(np.logspace(-1, 0, 10), s["sigma"]).sum() == 1
    hist = pd.read_csv(run / "training_history.csv")
    best = hist.loc[hist.valid_ll.idxmax()]
    assert int(best.epoch) == s["epoch_selected"]  # selected on validation, not on test
    assert s["mnist_parzen_ll_se"] > 0
    # real training images make a far better Parzen model than a 2-epoch generator
    assert s["train_images_parzen_ll_mean"] > s["mnist_parzen_ll_mean"]
    table = pd.read_csv(run / "table1_mnist.csv")
    assert "225 ± 2" in table.published.astype(str).tolist()


@needs_mnist
def test_wgan_vs_js_run(results):
    run = results / "wgan_vs_js" / "quick"
    s = json.loads((run / "summary.json").read_text())
    for key in (
        "profile",
        "device",
        "git_commit",
        "parallel_lines_max_abs_err_w1",
        "parallel_lines_max_abs_err_js",
        "corr_wgan_loss_vs_quality",
        "corr_gan_js_vs_quality",
        "corr_wgan_loss_vs_fid",
        "corr_gan_js_vs_fid",
        "quality_score_name",
        "classifier_test_accuracy",
    ):
        assert key in s, key
    lines = pd.read_csv(run / "parallel_lines.csv")
    assert lines.theta.tolist() == [-1.0, 0.0, 1.0]
    assert s["parallel_lines_max_abs_err_w1"] == pytest.approx(
        (lines.wgan_gp_estimate - lines.w1).abs().max()
    )
    for name in ("gan-dcgan", "wgan-dcgan", "wgan_gp-dcgan", "gan-mlp", "wgan-mlp"):
        t = pd.read_csv(run / f"checkpoints_{name}.csv")
        assert t.g_step.tolist() == [2, 4, 6], name
        assert np.isfinite(t.quality).all() and (t.fid > 0).all(), name
        assert t.effective_classes.between(1, 10).all() and t.classifier_score.ge(1).all()
        assert t.diversity.between(0, 5).all(), name  # from the saved 64-sample grids
    corr = pd.read_csv(run / "correlations.csv").set_index("run")
    assert s["corr_wgan_loss_vs_quality"] == pytest.approx(
        corr.spearman_parzen["wgan-dcgan"], nan_ok=True
    )
    assert s["corr_gan_js_vs_fid"] == pytest.approx(corr.spearman_fid["gan-dcgan"], nan_ok=True)
    # one epoch on 50,000 images already makes a usable digit classifier
    assert s["classifier_test_accuracy"] > 0.95
    # real test images are the reference a generator approaches: closer than any tiny run's samples
    assert s["real_images_scores"]["FID"] < min(s["final_fid"].values())
    # the paper's claims beside this run's numbers, one row each, every verdict a known word
    claims = pd.read_csv(run / "claims.csv")
    assert len(claims) == 6 and claims["measured here"].notna().all()
    known = {"yes", "partly", "no", "cannot be judged", "not yet (time budget)"}
    early = " (early: no run makes digits yet)"  # a tiny run never makes digits
    assert set(claims["agrees?"].str.removesuffix(early)) <= known
    assert claims["agrees?"].iloc[2:].str.endswith(early).all()
    assert (run / "correlations_second_half.csv").exists()
    assert s["median_window"] == TINY_WGAN["median_window"]
    for name in ("parallel_lines_estimates", "gaussians_discriminator_vs_critic", "mnist_samples"):
        assert (run / "figures" / f"{name}.png").stat().st_size > 5_000, name


@needs_mnist
def test_book_renders_the_run_with_figures_and_provenance(results, tmp_path):
    html = book.build("quick", results_dir=results, out=tmp_path, quiet=True)
    page = (html / "chapters" / "loss_saturation.html").read_text()
    assert page.count("<img") >= 4
    assert "git commit" in page and _head() in page
    assert (html / "chapters" / "parzen_mnist.html").read_text().count("225 ± 2") >= 1
    status = (html / "status.html").read_text()
    assert "loss_saturation/quick" in status and "parzen_mnist/quick" in status
    # the training behind each run is on record beside the notebook's own wall time
    prov = json.loads((results / "parzen_mnist" / "quick" / "provenance.json").read_text())
    assert prov["training"]["gan"]["epochs"] == prov["config"]["epochs"]
    assert book._duration(prov["training_time_s"]) in status


def test_durations_read_in_the_unit_a_person_would_use():
    assert [book._duration(t) for t in (44.6, 119, 3000, 7199, 20114)] == [
        "45 s",
        "119 s",
        "50 min",
        "120 min",
        "5.6 h",
    ]


def test_book_shows_a_placeholder_for_a_chapter_never_run(tmp_path):
    src = book.stage("paper", results_dir=tmp_path / "empty", dest=tmp_path / "src")
    text = (src / "chapters" / "loss_saturation.md").read_text()
    assert "no executed notebook for profile `paper`" in text
    assert not (src / "chapters" / "loss_saturation.ipynb").exists()


def test_book_gives_custom_runs_pages_of_their_own(tmp_path):
    # a student's re-run with other parameters lands in <profile>-custom: the book must show it
    run = tmp_path / "results" / "loss_saturation" / "quick-custom"
    run.mkdir(parents=True)
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "# Saturation\n\n## Part\n"},
            {"cell_type": "code", "metadata": {}, "source": "# a comment", "outputs": []},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (run / "loss_saturation.ipynb").write_text(json.dumps(nb))
    prov = {"profile": "quick", "overrides_off_profile": {"epochs": 10}, "git_commit": "abc"}
    (run / "provenance.json").write_text(json.dumps(prov))
    (tmp_path / "results" / "loss_saturation" / ".quick.staging-x").mkdir()  # in progress: skip
    src = book.stage("quick", results_dir=tmp_path / "results", dest=tmp_path / "src")
    page = json.loads((src / "runs" / "loss_saturation--quick-custom.ipynb").read_text())
    head, first, code = (c["source"] for c in page["cells"])
    assert head.startswith("# loss_saturation: run `quick-custom`") and "epochs = 10" in head
    assert first == "## Saturation\n\n### Part\n" and code == "# a comment"  # code untouched
    assert "- file: runs/loss_saturation--quick-custom" in (src / "_toc.yml").read_text()
    assert "loss_saturation/quick-custom" in (src / "runs" / "index.md").read_text()
    assert len(list((src / "runs").glob("*.ipynb"))) == 1


def test_bad_parameter_fails_before_any_kernel_starts(tmp_path):
    with pytest.raises(ConfigError, match="'epochs' must be int"):
        notebooks.execute("loss_saturation", "quick", {"epochs": "ten"}, results_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['epoch'\]"):
        notebooks.execute("loss_saturation", "quick", {"epoch": 3}, results_dir=tmp_path)
    assert not (tmp_path / "loss_saturation" / "quick").exists()


def test_bad_parameter_stops_plain_papermill_in_the_first_cell(tmp_path):
    import papermill
    from papermill.exceptions import PapermillExecutionError

    out = tmp_path / "out.ipynb"
    with pytest.raises(PapermillExecutionError) as err:
        papermill.execute_notebook(
            str(notebooks.source_notebook("loss_saturation")),
            str(out),
            parameters={"epoch": 3, "results_dir": str(tmp_path)},
            progress_bar=False,
            cwd=str(project_root()),
            kernel_name="python3",
        )
    assert "unknown parameter(s) ['epoch']" in str(err.value)
    assert "allowed:" in str(err.value)
    nb = json.loads(out.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    failed = [
        i
        for i, c in enumerate(code)
        if any(o.get("output_type") == "error" for o in c.get("outputs", []))
    ]
    injected = [
        i for i, c in enumerate(code) if "injected-parameters" in c["metadata"].get("tags", [])
    ]
    assert failed == [injected[0] + 1]  # the first code cell after the parameters
    assert not (tmp_path / "loss_saturation" / "quick").exists()


@needs_mnist
@pytest.mark.slow
def test_quick_profile_reproduces_the_committed_numbers(tmp_path, monkeypatch):
    """Seeds make CPU runs repeatable: a fresh quick run gives the committed headline numbers.

    The committed run used one thread; float sums depend on the thread count, so match it."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    committed = project_root() / "results" / "loss_saturation" / "quick" / "summary.json"
    if not committed.exists():
        pytest.skip("no committed quick result")
    notebooks.execute("loss_saturation", "quick", {}, results_dir=tmp_path, progress=False)
    new = json.loads((tmp_path / "loss_saturation" / "quick" / "summary.json").read_text())
    old = json.loads(committed.read_text())
    for key in (
        "mean_d_of_g",
        "grad_norm_minimax",
        "grad_norm_nonsaturating",
        "minimax_final_mean_d_of_g",
        "nonsaturating_final_mean_d_of_g",
    ):
        assert new[key] == pytest.approx(old[key], rel=1e-5), key


def test_papermill_paths_are_recorded_relative_to_the_project(tmp_path):
    from replication.publish.execute import relative_papermill_paths

    root = project_root()
    nb = root / "results" / f".test-{tmp_path.name}.ipynb"
    meta = {"input_path": str(root / "book" / "chapters" / "x.ipynb"), "output_path": "/tmp/o"}
    try:
        nb.write_text(json.dumps({"cells": [], "metadata": {"papermill": meta}}))
        relative_papermill_paths(nb)
        got = json.loads(nb.read_text())["metadata"]["papermill"]
    finally:
        nb.unlink(missing_ok=True)
    assert got["input_path"] == "book/chapters/x.ipynb"
    assert got["output_path"] == f"results/.test-{tmp_path.name}.ipynb"
