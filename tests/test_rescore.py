"""`rescore`: Table 1 again from a run's committed generator weights, with no training."""

from __future__ import annotations

import json

import pytest

from replication.chapters import parzen_mnist as ch
from replication.config import ConfigError
from replication.datasets.mnist import load_mnist
from replication.runs.store import RunStore
from replication.runs.weights import save_weights


def _tiny_run(tmp_path, fake_mnist, tiny_cfg):
    """A tiny 2014 generator, scored and committed with its weights, as the notebook does."""
    data_dir = fake_mnist.write(tmp_path / "mnist")
    mnist = load_mnist(data_dir)
    cfg = tiny_cfg(n_samples=40, n_sigma_valid=10, n_test=10, sample_draws=2, data_dir=None)
    gan = ch.build_gan(cfg, mnist.train, mnist.train.device)
    ours = ch.final_evaluation(gan, cfg, mnist)
    store = RunStore(cfg, results_dir=tmp_path / "results", run_name="tiny")
    save_weights(store, "generator", gan.generator.state_dict())
    store.write_summary({"mnist_parzen_ll_mean": ours.mean})
    return store.commit(), mnist, ours, gan, cfg


def test_rescore_reproduces_the_committed_number_exactly(tmp_path, fake_mnist, tiny_cfg, capsys):
    run_dir, mnist, ours, gan, cfg = _tiny_run(tmp_path, fake_mnist, tiny_cfg)
    again = ch.rescore(run_dir, mnist)
    assert again["ll"] == ours.mean and again["sigma"] == ours.sigma
    # the fine grid holds the protocol's sigma: its validation optimum is never worse
    fine, draws = ch.sensitivity(gan, cfg, mnist)
    assert max(fine.valid_mean_ll) >= max(ours.valid_mean_ll)
    assert again["ll_fine_sigma"] == fine.mean
    assert len(draws) == 2 and draws.test_ll.notna().all()
    ch.rescore_cli("tiny", str(tmp_path / "results"), str(tmp_path / "mnist"))
    assert "identical" in capsys.readouterr().out


def test_rescore_without_weights_or_run_is_a_clear_error(tmp_path, fake_mnist, tiny_cfg):
    run_dir, mnist, *_ = _tiny_run(tmp_path, fake_mnist, tiny_cfg)
    prov = json.loads((run_dir / "provenance.json").read_text())
    del prov["weights"]
    (run_dir / "provenance.json").write_text(json.dumps(prov))
    with pytest.raises(Exception, match="no committed weights"):
        ch.rescore(run_dir, mnist)
    with pytest.raises(ConfigError, match="no committed run 'nope'"):
        ch.rescore_cli("nope", str(tmp_path / "results"), None)


@pytest.mark.parametrize(("field", "value"), [("fine_sigma_points", 40), ("sample_draws", 1)])
def test_sensitivity_settings_are_checked_before_any_compute(tiny_cfg, field, value):
    with pytest.raises(ConfigError, match=field):
        tiny_cfg(**{field: value})


def test_sensitivity_settings_do_not_change_the_training_fingerprint(tiny_cfg):
    a = tiny_cfg().fingerprint()
    assert a == tiny_cfg(sample_draws=0, fine_sigma_points=11).fingerprint()
    assert "sample_draws" not in a and "fine_sigma_points" not in a  # evaluation only
