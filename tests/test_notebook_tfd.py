"""The TFD chapter end to end: Papermill on a synthetic file in TFD's layout (the real one is
licensed), with tiny networks; and bad parameters stopped before any compute."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_tfd import synthetic_tfd, write_v73  # tests/ is on sys.path (rootdir conftest)

from replication.config import ConfigError
from replication.publish import execute as notebooks

TINY = {
    "n_folds": 2,
    "g_hidden": 16,
    "stack_hidden": 16,
    "g_out_sparse_init": 4,
    "d_units": 8,
    "d_pieces": 2,
    "batch_size": 10,
    "pretrain_epochs": 2,
    "train_epochs": 1,
    "n_samples": 50,
    "device": "cpu",
}


def test_tiny_run_on_a_tfd_layout_file(tmp_path):
    arrays = synthetic_tfd(n=60, n_unlabeled=30)
    path = write_v73(tmp_path / "TFD_48x48.mat", arrays)
    out = notebooks.execute(
        "parzen_tfd",
        "quick",
        {**TINY, "data_dir": str(path.parent)},
        results_dir=tmp_path / "results",
        run_name="quick",
        progress=False,
    )
    run = out.parent
    s = json.loads((run / "summary.json").read_text())
    for key in (
        "tfd_available",
        "dataset",
        "parzen_ll_mean",
        "parzen_ll_se_across_folds",
        "sigma_per_fold",
        "profile",
        "device",
        "git_commit",
    ):
        assert key in s, key
    assert s["tfd_available"] is True and s["comparable_to_published"] is True
    assert s["n_folds"] == 2 and s["generators_trained"] == 1  # unlabeled split: one generator
    assert s["train_images_per_generator"] == [30, 30]
    grid = np.logspace(-1, 0, 10)
    assert all(np.isclose(grid, sig).sum() == 1 for sig in s["sigma_per_fold"])
    per_fold = pd.read_csv(run / "per_fold.csv")
    assert per_fold.test_images.tolist() == [6, 6] and per_fold.valid_images.tolist() == [6, 6]
    lls = per_fold.test_ll.to_numpy()
    assert s["parzen_ll_mean"] == pytest.approx(lls.mean())
    assert s["parzen_ll_se_across_folds"] == pytest.approx(lls.std(ddof=1) / np.sqrt(2))
    hist = pd.read_csv(run / "training_history.csv")
    assert hist.groupby("stage").epoch.max().to_dict() == {"pretrain": 2, "train": 1}
    table = pd.read_csv(run / "table1_tfd.csv")
    assert "2057 ± 26" in table.published.astype(str).tolist()
    for name in ("sigma_per_fold", "samples", "training_curves"):
        assert (run / "figures" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    prov = json.loads((run / "provenance.json").read_text())
    assert prov["data"]["tfd_available"] is True and prov["data"]["md5"]
    # checkpoints per generator and stage, outside the run folder
    ckpt = tmp_path / "results" / "parzen_tfd" / "_checkpoints" / "quick" / "fold0"
    assert (ckpt / "pretrain" / "last.pt").is_file() and (ckpt / "train" / "last.pt").is_file()


def test_bad_parameters_fail_before_any_kernel_starts(tmp_path):
    with pytest.raises(ConfigError, match="'dataset' must be one of"):
        notebooks.execute("parzen_tfd", "quick", {"dataset": "cifar"}, results_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"'n_folds' must lie in \[1, 5\]"):
        notebooks.execute("parzen_tfd", "quick", {"n_folds": 6}, results_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['fold'\]"):
        notebooks.execute("parzen_tfd", "quick", {"fold": 1}, results_dir=tmp_path)
    assert not (tmp_path / "parzen_tfd" / "quick").exists()
