"""Committed weights: float32, hashed in provenance, refused when torn or edited."""

from __future__ import annotations

import json

import pytest
import torch

from replication.chapters.loss_saturation import LossSaturationConfig
from replication.runs.store import RunStore
from replication.runs.weights import WeightsError, load_weights, save_weights


def _store(tmp_path) -> RunStore:
    cfg = LossSaturationConfig.for_profile("quick", device="cpu")
    return RunStore(cfg, results_dir=tmp_path, run_name="w")


def test_weights_round_trip_as_float32_with_their_hash(tmp_path):
    store = _store(tmp_path)
    state = {"w": torch.arange(6, dtype=torch.float64).reshape(2, 3), "n": torch.tensor(3)}
    record = save_weights(store, "generator", state)
    run_dir = store.commit()
    prov = json.loads((run_dir / "provenance.json").read_text())
    assert prov["weights"]["generator"] == record and len(record["sha256"]) == 64
    assert record["path"] == "weights/generator.pt"  # relative: no machine path on record
    back = load_weights(run_dir, "generator")
    assert back["w"].dtype == torch.float32 and back["n"].dtype == torch.int64
    torch.testing.assert_close(back["w"], state["w"].float())


def test_edited_or_missing_weights_are_refused(tmp_path):
    store = _store(tmp_path)
    save_weights(store, "generator", {"w": torch.ones(3)})
    run_dir = store.commit()
    with pytest.raises(WeightsError, match="no committed weights 'critic'"):
        load_weights(run_dir, "critic")
    path = run_dir / "weights" / "generator.pt"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="SHA-256"):
        load_weights(run_dir, "generator")
    path.unlink()
    with pytest.raises(WeightsError, match="missing"):
        load_weights(run_dir, "generator")
