"""The committed digit-classifier instruments: found by their settings, checked by SHA-256, used
by the shared MNIST scoring in place of training one, and the committed ones intact."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from replication.config import ConfigError
from replication.datasets.mnist import MnistSplits
from replication.metrics import instruments, mnist_scoring
from replication.metrics.classifier import train_classifier

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def m(random_mnist) -> MnistSplits:
    return random_mnist(64, 50, 30, seed=5)


def _instrument(tmp_path, m):
    settings = mnist_scoring.instrument_settings(m.train, m.train_labels, 1)
    model = train_classifier(m.train, m.train_labels, epochs=1, progress=False)
    instruments.save(model, settings, (m.test, m.test_labels), root=tmp_path)
    return settings, model


def test_an_instrument_is_kept_in_float16_and_loaded_by_its_settings(m, tmp_path):
    settings, model = _instrument(tmp_path, m)
    loaded, where = instruments.load(settings, root=tmp_path)
    assert where == f"results/instruments/digit_classifier/{instruments.name(settings)}.json"
    for p, q in zip(model.parameters(), loaded.parameters(), strict=True):
        assert q.dtype == torch.float32 and torch.equal(q, p.detach().half().float())
    record = json.loads((tmp_path / where).read_text())
    assert 0 <= record["test_accuracy"] <= 1 and record["settings"] == settings
    other = {**settings, "data_sha256": instruments.data_digest(m.valid[:64], m.train_labels)}
    assert instruments.load(other, root=tmp_path) is None  # other images: not this instrument
    assert instruments.load({**settings, "epochs": 2}, root=tmp_path) is None


def test_a_corrupted_instrument_is_an_error_not_a_reason_to_train(m, tmp_path):
    settings, _ = _instrument(tmp_path, m)
    pt = instruments.weights_path(
        tmp_path / instruments.FOLDER / f"{instruments.name(settings)}.json"
    )
    pt.write_bytes(pt.read_bytes()[:-1] + b"x")
    with pytest.raises(ConfigError, match="does not match the SHA-256.*git checkout"):
        instruments.load(settings, root=tmp_path)


def test_the_scoring_uses_the_committed_instrument_and_says_so(m, tmp_path, monkeypatch, capsys):
    settings, model = _instrument(tmp_path, m)
    monkeypatch.setattr(instruments, "project_root", lambda: tmp_path)
    d = mnist_scoring.digit_scorer(m, 64, 1, 50, tmp_path / "ckpt", progress=False)
    assert "the committed instrument results/instruments/" in capsys.readouterr().out
    assert not (tmp_path / "ckpt" / "classifier_64.pt").exists()  # nothing trained
    for p, q in zip(model.parameters(), d.classifier.parameters(), strict=True):
        assert torch.equal(q, p.detach().half().float())
    mnist_scoring.digit_scorer(m, 32, 1, 50, tmp_path / "ckpt", progress=False)
    assert "trained in this run" in capsys.readouterr().out  # none committed for 32 images
    assert (tmp_path / "ckpt" / "classifier_32.pt").is_file()


def test_the_committed_instruments_are_intact():
    records = sorted((ROOT / instruments.FOLDER).glob("*.json"))
    assert records, "no committed instrument"
    for path in records:
        record = json.loads(path.read_text())
        data = instruments.weights_path(path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == record["sha256"], path.name
        assert path.stem == instruments.name(record["settings"])
