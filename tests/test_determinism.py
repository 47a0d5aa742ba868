"""Deterministic mode: `--deterministic` reaches every process of a run, switches torch to one
thread and deterministic kernels, is recorded in provenance, and two runs under it are identical."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
import torch

from replication.__main__ import main
from replication.chapters.recipe2014 import build_gan
from replication.config import ConfigError
from replication.runs import determinism
from replication.runs.seed_job import SeedJob, run_notebook
from replication.runs.store import RunStore
from replication.training import objectives
from replication.training.loop import train


@pytest.fixture
def clean_env(monkeypatch):
    """No deterministic request in the environment, and torch's global switches restored."""
    for name in (determinism.ENV, determinism.CUBLAS_ENV, *determinism.THREAD_ENVS):
        monkeypatch.delenv(name, raising=False)
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    bench, cudnn_det = torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic
    yield monkeypatch
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(det)
    torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = bench, cudnn_det


def test_request_sets_what_child_processes_inherit():
    env: dict[str, str] = {"CUBLAS_WORKSPACE_CONFIG": ":0:0"}
    determinism.request(env)
    assert env == {
        "GAN_DETERMINISTIC": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
    }
    kept = {"CUBLAS_WORKSPACE_CONFIG": ":16:8"}  # the other documented deterministic value
    determinism.request(kept)
    assert kept["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"


@pytest.mark.parametrize(("value", "on"), [("", False), ("0", False), ("1", True), (" 1 ", True)])
def test_requested_reads_the_environment(value, on):
    assert determinism.requested({determinism.ENV: value}) is on


def test_requested_refuses_an_unclear_value():
    with pytest.raises(ConfigError, match="GAN_DETERMINISTIC='yes'"):
        determinism.requested({determinism.ENV: "yes"})


def test_apply_does_nothing_unless_asked(clean_env):
    torch.set_num_threads(2)
    rec = determinism.apply()
    assert torch.get_num_threads() == 2 and rec["deterministic"] is False


def _tiny_training(cfg, data) -> dict[str, torch.Tensor]:
    gan = build_gan(cfg, data, torch.device("cpu"))
    ns = objectives.get("gan2014_nonsaturating")
    train(
        gan, data, ns, epochs=cfg.epochs, batch_size=cfg.batch_size, schedule=cfg.schedule(),
        fingerprint=cfg.fingerprint(), progress=False,
    )  # fmt: skip
    state = {f"G.{k}": v for k, v in gan.generator.state_dict().items()}
    state.update({f"D.{k}": v for k, v in gan.discriminator.state_dict().items()})
    return {k: v.detach().clone() for k, v in state.items()}


def test_two_runs_under_deterministic_mode_are_bit_identical(clean_env, tiny_cfg, tiny_data):
    """Started at two threads (as a laptop would), the mode drops to one, turns on torch's
    deterministic kernels, and two trainings of a tiny 2014 GAN then agree in every bit."""
    torch.set_num_threads(2)
    clean_env.setenv(determinism.ENV, "1")
    rec = determinism.apply()
    assert torch.get_num_threads() == 1 and torch.are_deterministic_algorithms_enabled()
    assert rec == {
        "deterministic": True,
        "deterministic_algorithms": True,
        "cublas_workspace_config": ":4096:8",
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_model": determinism.cpu_model(),
    }
    cfg = tiny_cfg(epochs=2)
    a, b = _tiny_training(cfg, tiny_data), _tiny_training(cfg, tiny_data)
    assert a.keys() == b.keys() and len(a) > 4
    for k in a:
        assert torch.equal(a[k], b[k]), k
    moved = _tiny_training(tiny_cfg(epochs=2, seed=1), tiny_data)
    assert not all(torch.equal(a[k], moved[k]) for k in a)  # the comparison can fail


def test_the_run_store_applies_and_records_the_mode(clean_env, tiny_cfg, tmp_path):
    store = RunStore(tiny_cfg(), results_dir=tmp_path, run_name="plain")
    assert store.provenance()["deterministic"] is False
    store.discard()
    clean_env.setenv(determinism.ENV, "1")
    torch.set_num_threads(2)
    store = RunStore(tiny_cfg(), results_dir=tmp_path, run_name="det")
    prov = store.provenance()
    store.discard()
    assert prov["deterministic"] is True and prov["torch_threads"] == 1
    assert prov["cublas_workspace_config"] == ":4096:8"


@pytest.mark.parametrize("cmd", ["notebook", "train", "sweep"])
def test_the_flag_is_on_every_run_command(clean_env, cmd, tmp_path, capsys):
    """Bad input still stops before any compute; the flag has reached the environment."""
    argv = [cmd, "loss_saturation", "--deterministic", "-p", "no_such_param", "1"]
    argv += ["--seeds", "0-1"] if cmd == "sweep" else []
    assert main(argv + ["--results-dir", str(tmp_path)]) == 2
    assert "no_such_param" in capsys.readouterr().err
    assert determinism.requested() and os.environ["OMP_NUM_THREADS"] == "1"


def test_a_sweep_passes_the_flag_to_each_seed(monkeypatch):
    seen = []
    monkeypatch.setattr("replication.__main__.main", lambda argv: seen.append(argv) or 0)
    job = SeedJob("loss_saturation", "quick", 2, "quick-seed2", "results", (("epochs", "1"),), {})
    run_notebook(job)
    run_notebook(replace(job, deterministic=True))
    assert "--deterministic" not in seen[0] and seen[1][-1] == "--deterministic"
    assert seen[1][:-1] == seen[0]
