"""Parking a stopped run's state in results/ and taking it up again on another machine."""

from __future__ import annotations

import json

import pytest
import torch

from replication.chapters import parzen_mnist as ch
from replication.config import ConfigError
from replication.datasets.mnist import load_mnist
from replication.runs.locks import exclusive
from replication.runs.parked import park, parked_dir, unpark


def _ckpt(tmp_path):
    d = tmp_path / "results" / "parzen_mnist" / "_checkpoints" / "run"
    d.mkdir(parents=True)
    torch.save({"epoch": 3}, d / "last.pt")
    torch.save({"epoch": 2}, d / "best.pt")
    return d


def test_park_and_unpark_restore_the_same_bytes(tmp_path):
    ckpt = _ckpt(tmp_path)
    before = {p.name: p.read_bytes() for p in ckpt.glob("*.pt")}
    manifest = park(ckpt)
    dest = parked_dir(ckpt)
    assert dest == tmp_path / "results" / "parzen_mnist" / "run" / "weights" / "parked"
    assert set(manifest) == {"best.pt", "last.pt"}
    assert json.loads((dest / "manifest.json").read_text()) == manifest
    assert not unpark(ckpt)  # the machine still has its own checkpoints: left alone
    for p in ckpt.glob("*.pt"):
        p.unlink()
    assert unpark(ckpt)
    assert {p.name: p.read_bytes() for p in ckpt.glob("*.pt")} == before


def test_a_tampered_state_or_a_running_run_is_refused(tmp_path):
    ckpt = _ckpt(tmp_path)
    with exclusive(ckpt / ".lock", "run"), pytest.raises(ConfigError, match="another process"):
        park(ckpt)
    park(ckpt)
    (parked_dir(ckpt) / "last.pt").write_bytes(b"not a checkpoint")
    for p in ckpt.glob("*.pt"):
        p.unlink()
    with pytest.raises(ConfigError, match="SHA-256"):
        unpark(ckpt)
    assert not (ckpt / "last.pt").exists()
    with pytest.raises(ConfigError, match="nothing to park"):
        park(tmp_path / "empty")


def test_a_parked_run_continues_as_if_never_stopped(tmp_path, fake_mnist, tiny_cfg):
    mnist = load_mnist(fake_mnist.write(tmp_path / "mnist"))
    small = {"n_samples": 20, "n_sigma_valid": 10, "n_test": 10, "eval_every": 2}
    full = ch.train_gan(tiny_cfg(**small), mnist, tmp_path / "a" / "_checkpoints" / "r", False)
    ckpt = tmp_path / "b" / "_checkpoints" / "r"
    ch.train_gan(tiny_cfg(epochs=2, **small), mnist, ckpt, False)
    park(ckpt)
    for p in ckpt.glob("*.pt"):
        p.unlink()  # another machine: only the committed, parked state
    resumed = ch.train_gan(tiny_cfg(**small), mnist, ckpt, False)
    assert resumed.epoch == full.epoch == 4
    for a, b in zip(full.generator.parameters(), resumed.generator.parameters(), strict=True):
        assert torch.equal(a, b)


def test_re_evaluating_a_run_keeps_its_parked_state(tmp_path):
    from replication.chapters.loss_saturation import LossSaturationConfig
    from replication.runs.store import RunStore

    cfg = LossSaturationConfig.for_profile("quick", device="cpu")
    RunStore(cfg, results_dir=tmp_path / "results", run_name="run").commit()
    ckpt = tmp_path / "results" / "loss_saturation" / "_checkpoints" / "run"
    ckpt.mkdir(parents=True)
    torch.save({"epoch": 1}, ckpt / "last.pt")
    manifest = park(ckpt)
    RunStore(cfg, results_dir=tmp_path / "results", run_name="run").commit()  # evaluated again
    kept = json.loads((parked_dir(ckpt) / "manifest.json").read_text())
    assert kept == manifest and (parked_dir(ckpt) / "last.pt").is_file()


def test_best_equal_to_the_committed_generator_is_not_stored_twice(tmp_path):
    import hashlib
    import io

    ckpt = tmp_path / "results" / "parzen_mnist" / "_checkpoints" / "run"
    ckpt.mkdir(parents=True)
    gen = {"w": torch.arange(6.0).reshape(2, 3), "b": torch.ones(2)}
    torch.save({"epoch": 9}, ckpt / "last.pt")
    torch.save({"generator": gen, "epoch": 5, "valid_ll": 1.5}, ckpt / "best.pt")
    run = tmp_path / "results" / "parzen_mnist" / "run"
    (run / "weights").mkdir(parents=True)
    buf = io.BytesIO()
    torch.save(gen, buf)
    (run / "weights" / "generator.pt").write_bytes(buf.getvalue())
    record = {"path": "weights/generator.pt", "sha256": hashlib.sha256(buf.getvalue()).hexdigest()}
    (run / "provenance.json").write_text(json.dumps({"weights": {"generator": record}}))

    manifest = park(ckpt)
    assert manifest["best.pt"] == {"from_weights": "generator", "epoch": 5, "valid_ll": 1.5}
    assert not (parked_dir(ckpt) / "best.pt").exists()
    for p in ckpt.glob("*.pt"):
        p.unlink()
    assert unpark(ckpt)
    best = torch.load(ckpt / "best.pt", weights_only=False)
    assert best["epoch"] == 5 and best["valid_ll"] == 1.5
    assert all(torch.equal(best["generator"][k], gen[k]) for k in gen)

    # another generator in best.pt than the committed one: copied as it is
    torch.save(
        {"generator": {"w": torch.zeros(2, 3), "b": torch.ones(2)}, "epoch": 6}, ckpt / "best.pt"
    )
    assert isinstance(park(ckpt)["best.pt"], str)
    # committed weights altered after parking: unpark refuses rather than rebuild from them
    torch.save({"generator": gen, "epoch": 5, "valid_ll": 1.5}, ckpt / "best.pt")
    park(ckpt)
    (run / "weights" / "generator.pt").write_bytes(b"changed")
    for p in ckpt.glob("*.pt"):
        p.unlink()
    with pytest.raises(ConfigError, match="SHA-256"):
        unpark(ckpt)
