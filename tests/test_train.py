"""The optimiser, its schedules, and the training loop: resume, divergence, selection, budgets."""

from __future__ import annotations

import copy
import math
import time
import types
from dataclasses import replace

import pytest
import torch

import replication.training.loop as train_mod
from replication.chapters.recipe2014 import Mnist2014Recipe, build_gan
from replication.config import ConfigError
from replication.training import objectives
from replication.training.loop import TrainingDiverged, train
from replication.training.losses import GENERATOR_COSTS, generator_nonsaturating
from replication.training.optim import ClassicMomentumSGD, decayed_lr, linear_momentum, set_hyper
from replication.training.schedules import Schedule
from replication.training.state import CheckpointMismatch
from replication.training.steps import simultaneous_step

CPU = torch.device("cpu")
NS = GENERATOR_COSTS["nonsaturating"]


def _fit(gan, data, cfg, ckpt=None, epochs=None, **kwargs):
    ns = objectives.get("gan2014_nonsaturating")
    return train(
        gan,
        data,
        replace(ns, g_cost=kwargs.pop("g_cost", NS), g_cost_scale=cfg.g_cost_scale),
        epochs=cfg.epochs if epochs is None else epochs,
        batch_size=cfg.batch_size,
        schedule=cfg.schedule(),
        checkpoint_dir=ckpt,
        fingerprint=cfg.fingerprint(),
        progress=False,
        **kwargs,
    )


def _weights(gan) -> dict[str, torch.Tensor]:
    state = {f"G.{k}": v for k, v in gan.generator.state_dict().items()}
    state.update({f"D.{k}": v for k, v in gan.discriminator.state_dict().items()})
    return {k: v.detach().clone() for k, v in state.items()}


def _assert_equal_states(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def _velocities(opt) -> list[torch.Tensor]:
    return [opt.state[p]["velocity"] for g in opt.param_groups for p in g["params"]]


# --------------------------------------------------------------------------- optimiser


def test_classic_momentum_matches_the_pylearn2_rule_by_hand():
    """v <- mu v - lr g; theta <- theta + v, with lr and mu changing between steps. Dyadic
    values keep every product exact, so the comparison is exact."""
    theta0 = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    p = torch.nn.Parameter(theta0.clone())
    opt = ClassicMomentumSGD([p], lr=0.25, momentum=0.5)
    schedule = [(0.25, 0.5), (0.5, 0.5), (0.125, 0.75)]
    theta, v = theta0.clone(), torch.zeros(3, dtype=torch.float64)
    for lr, mu in schedule:
        set_hyper(opt, lr=lr, momentum=mu)
        opt.zero_grad()
        (0.5 * (p**2).sum() + p[0] * 2).backward()  # gradient: theta + [2, 0, 0]
        opt.step()
        g = theta + torch.tensor([2.0, 0.0, 0.0], dtype=torch.float64)
        v = mu * v - lr * g
        theta = theta + v
        assert torch.equal(p.detach(), theta)
        assert torch.equal(opt.state[p]["velocity"], v)
    assert theta.tolist() == [-2.46875, 0.3125, -0.078125]  # computed by hand
    # torch.optim.SGD's rule (lr outside the velocity) gives another point when lr changes
    q = torch.nn.Parameter(theta0.clone())
    sgd = torch.optim.SGD([q], lr=0.25, momentum=0.5)
    for lr, mu in schedule:
        for grp in sgd.param_groups:
            grp.update(lr=lr, momentum=mu)
        sgd.zero_grad()
        (0.5 * (q**2).sum() + q[0] * 2).backward()
        sgd.step()
    assert not torch.equal(q.detach(), theta)


def test_classic_momentum_skips_parameters_without_gradient():
    a = torch.nn.Parameter(torch.ones(2))
    b = torch.nn.Parameter(torch.ones(2))
    opt = ClassicMomentumSGD([a, b], lr=0.5)
    a.sum().backward()
    opt.step()
    assert a.tolist() == [0.5, 0.5] and b.tolist() == [1.0, 1.0]
    assert b not in opt.state
    assert opt.param_groups[0]["momentum"] == 0.5  # pylearn2's init_momentum default


def test_decayed_lr():
    assert decayed_lr(0.1, 0, 1.000004, 1e-6) == 0.1
    assert decayed_lr(1.0, 3, 2.0, 0.0) == 0.125
    assert decayed_lr(1.0, 3, 2.0, 0.2) == 0.2  # floor
    assert decayed_lr(0.1, 10**7, 1.000004, 1e-6) == 1e-6  # 0.1 e^-40 is far below the floor
    assert decayed_lr(0.1, 250_000, 1.000004, 1e-6) == pytest.approx(0.1 * math.exp(-1), rel=1e-5)
    assert decayed_lr(0.1, 5, 1.0, 0.0) == 0.1


def test_linear_momentum():
    def m(epoch):
        return linear_momentum(epoch, 0.5, 0.7, 1, 250)

    assert m(1) == 0.5
    assert m(250) == 0.7
    assert m(125.5) == pytest.approx(0.6, abs=1e-15)
    assert m(1000) == 0.7 and m(0) == 0.5
    assert m(2) == pytest.approx(0.5 + 0.2 / 249, rel=1e-14)
    assert linear_momentum(7, 0.5, 0.7, 5, 5) == 0.7  # degenerate window: final at once


def test_recipe_schedule():
    s = Mnist2014Recipe.for_profile("paper").schedule()
    assert s == Schedule(
        lr=0.1,
        lr_decay=1.000004,
        min_lr=1e-6,
        momentum_start=0.5,
        momentum_final=0.7,
        momentum_start_epoch=1,
        momentum_saturate_epoch=250,
    )
    assert (s.momentum_at(1), s.momentum_at(250), s.momentum_at(251)) == (0.5, 0.7, 0.7)
    assert s.lr_at(0) == 0.1 and s.lr_at(2) == 0.1 / 1.000004**2


# --------------------------------------------------------------------------- build_gan


def test_build_gan_is_seeded_and_takes_the_data_width(tiny_cfg, tiny_data):
    cfg = tiny_cfg()
    a, b = build_gan(cfg, tiny_data, CPU), build_gan(cfg, tiny_data, CPU)
    _assert_equal_states(_weights(a), _weights(b))
    assert a.generator(torch.zeros(3, cfg.noise_dim)).shape == (3, 64)
    assert a.discriminator(tiny_data[:5]).shape == (5,)
    c = build_gan(tiny_cfg(seed=1), tiny_data, CPU)
    assert not torch.equal(a.generator.net[0].weight, c.generator.net[0].weight)
    # the output bias is the logit of the mean pixel
    p = tiny_data.mean(0)
    torch.testing.assert_close(a.generator.net[-1].bias, torch.log(p / (1 - p)))


def test_output_bias_of_a_never_lit_pixel_is_pylearn2s_logit_of_1e7(tiny_cfg, tiny_data):
    """pylearn2 clips the mean pixel at 1e-7 (logit -16.1); a pixel never on in training starts
    there, and the clip is a parameter (the 2014 MNIST recipe used to clip at 1e-3)."""
    data = tiny_data.clone()
    data[:, :3] = 0.0
    bias = build_gan(tiny_cfg(), data, CPU).generator.net[-1].bias
    expected = math.log(1e-7) - math.log1p(-1e-7)
    assert bias[:3].tolist() == pytest.approx([expected] * 3, abs=1e-3)
    assert expected == pytest.approx(-16.118, abs=1e-3)
    old = build_gan(tiny_cfg(bias_clip=1e-3), data, CPU).generator.net[-1].bias
    assert old[0].item() == pytest.approx(math.log(1e-3 / (1 - 1e-3)), abs=1e-4)
    torch.testing.assert_close(bias[3:], old[3:])  # the clip only moves the clipped pixels


@pytest.mark.parametrize("noise", ["uniform", "gaussian"])
def test_noise_is_the_named_unit_variance_distribution(tiny_cfg, tiny_data, noise):
    G = build_gan(tiny_cfg(noise=noise), tiny_data, CPU).generator
    z = G.sample_noise(20000, CPU, torch.Generator().manual_seed(0))
    assert z.var().item() == pytest.approx(1.0, abs=0.02)
    bound = math.sqrt(3.0)
    if noise == "uniform":
        assert z.abs().max().item() <= bound
    else:  # a Gaussian leaves [-sqrt 3, sqrt 3] about 8.3 % of the time
        assert (z.abs() > bound).float().mean().item() == pytest.approx(0.0833, abs=0.01)


def test_unknown_noise_is_refused_before_any_compute(tiny_cfg):
    with pytest.raises(ConfigError, match="noise"):
        tiny_cfg(noise="laplace")


# --------------------------------------------------------------------------- resume


def test_resumed_training_equals_uninterrupted_training(tiny_cfg, tiny_data, tmp_path):
    cfg = tiny_cfg(epochs=4)
    full = _fit(build_gan(cfg, tiny_data, CPU), tiny_data, cfg, tmp_path / "A")
    rng_full = torch.get_rng_state()
    assert full.epoch == 4 and full.step == 4 * 4

    half_cfg = tiny_cfg(epochs=2)  # the epoch count is not part of the fingerprint
    half = _fit(build_gan(half_cfg, tiny_data, CPU), tiny_data, half_cfg, tmp_path / "B")
    assert half.epoch == 2
    assert not torch.equal(half.generator.net[0].weight, full.generator.net[0].weight)

    torch.manual_seed(999)  # a fresh process: whatever the RNG state, last.pt restores it
    resumed = _fit(build_gan(cfg, tiny_data, CPU), tiny_data, cfg, tmp_path / "B")
    assert resumed.epoch == 4 and resumed.step == full.step
    _assert_equal_states(_weights(resumed), _weights(full))
    for opt in ("opt_g", "opt_d"):
        for va, vb in zip(
            _velocities(getattr(resumed, opt)), _velocities(getattr(full, opt)), strict=True
        ):
            assert torch.equal(va, vb)
    assert torch.equal(torch.get_rng_state(), rng_full)

    def strip(history):
        return [{k: v for k, v in r.items() if k != "epoch_time_s"} for r in history]

    assert strip(resumed.history) == strip(full.history)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3, 4]

    # resuming a finished run trains nothing more
    again = _fit(build_gan(cfg, tiny_data, CPU), tiny_data, cfg, tmp_path / "A")
    assert again.epoch == 4
    _assert_equal_states(_weights(again), _weights(full))


def test_two_runs_from_one_saved_state_start_from_the_same_point(tiny_cfg, tiny_data):
    """The loss-saturation chapter trains each generator cost from one in-memory state: the first
    run must not change what the second starts from (history, optimiser velocities)."""
    cfg = tiny_cfg(epochs=1)
    start = _fit(build_gan(cfg, tiny_data, CPU), tiny_data, cfg).state_dict()
    reference = copy.deepcopy(start)
    two = tiny_cfg(epochs=2)
    runs = []
    for _ in range(2):
        gan = build_gan(two, tiny_data, CPU)
        gan.load_state_dict(start)
        torch.manual_seed(5)
        runs.append(_fit(gan, tiny_data, two))
    assert [r["epoch"] for r in start["history"]] == [1]
    assert [r["epoch"] for r in runs[1].history] == [1, 2]
    for opt in ("opt_g", "opt_d"):
        for key, entry in reference[opt]["state"].items():
            assert torch.equal(start[opt]["state"][key]["velocity"], entry["velocity"])
    _assert_equal_states(_weights(runs[0]), _weights(runs[1]))


def test_checkpoint_holds_the_state_of_the_last_epoch(tiny_cfg, tiny_data, tmp_path):
    cfg = tiny_cfg(epochs=2)
    gan = _fit(build_gan(cfg, tiny_data, CPU), tiny_data, cfg, tmp_path)
    state = torch.load(tmp_path / "last.pt", weights_only=False)
    assert (state["epoch"], state["step"]) == (2, 8)
    assert state["fingerprint"] == cfg.fingerprint()
    for k, v in gan.generator.state_dict().items():
        assert torch.equal(state["generator"][k], v)
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporaries, no best.pt


def test_fingerprint_ignores_budgets_only():
    base = Mnist2014Recipe.for_profile("quick")
    fp = base.fingerprint()
    assert {"lr", "seed", "g_hidden", "batch_size", "profile"} <= set(fp)
    assert not {"device", "data_dir", "epochs"} & set(fp)
    assert base.with_overrides(device="cpu", data_dir="/x").fingerprint() == fp
    assert base.with_overrides(lr=0.05).fingerprint() != fp


def test_checkpoint_with_other_settings_is_refused(tiny_cfg, tiny_data, tmp_path):
    cfg = tiny_cfg(epochs=1)
    _fit(build_gan(cfg, tiny_data, CPU), tiny_data, cfg, tmp_path)
    before = (tmp_path / "last.pt").read_bytes()
    other = tiny_cfg(epochs=2, lr=0.05)
    with pytest.raises(CheckpointMismatch) as e:
        _fit(build_gan(other, tiny_data, CPU), tiny_data, other, tmp_path)
    msg = str(e.value)
    assert "'lr': (0.1, 0.05)" in msg and str(tmp_path / "last.pt") in msg
    assert "'seed'" not in msg and "run_name" in msg
    assert (tmp_path / "last.pt").read_bytes() == before


def test_checkpoint_of_another_architecture_is_refused_clearly(tmp_path):
    from replication.training.state import GAN, load_checkpoint, save_checkpoint

    def gan(hidden: int) -> GAN:
        g, d = torch.nn.Linear(2, hidden), torch.nn.Linear(2, 1)
        return GAN(g, d, torch.optim.SGD(g.parameters(), 0.1), torch.optim.SGD(d.parameters(), 0.1))

    save_checkpoint(tmp_path / "last.pt", gan(3), {"a": 1})
    with pytest.raises(CheckpointMismatch, match="another architecture") as e:
        load_checkpoint(tmp_path / "last.pt", gan(4), {"a": 1})  # same settings, other layers
    assert str(tmp_path / "last.pt") in str(e.value) and "run_name" in str(e.value)


# --------------------------------------------------------------------------- divergence


def test_nan_loss_raises_and_keeps_the_last_good_checkpoint(tiny_cfg, tiny_data, tmp_path):
    cfg = tiny_cfg(epochs=1)
    gan = _fit(build_gan(cfg, tiny_data, CPU), tiny_data, cfg, tmp_path)
    good = _weights(gan)
    good_file = (tmp_path / "last.pt").read_bytes()

    def nan_cost(logits):
        return generator_nonsaturating(logits) * math.nan

    with pytest.raises(TrainingDiverged) as e:
        _fit(gan, tiny_data, cfg, tmp_path, epochs=2, g_cost=nan_cost)
    msg = str(e.value)
    assert "non-finite loss in epoch 2" in msg and "(epoch 1)" in msg
    assert str(tmp_path / "last.pt") in msg
    assert (tmp_path / "last.pt").read_bytes() == good_file
    state = torch.load(tmp_path / "last.pt", weights_only=False)
    assert state["epoch"] == 1 and len(state["history"]) == 1
    for k, v in state["generator"].items():
        assert torch.equal(v, good[f"G.{k}"]), k
    for k, v in state["discriminator"].items():
        assert torch.equal(v, good[f"D.{k}"]), k
    # and a re-run with a sound cost resumes from that epoch
    fresh = _fit(build_gan(cfg, tiny_data, CPU), tiny_data, cfg, tmp_path, epochs=1)
    _assert_equal_states(_weights(fresh), good)


def test_infinite_loss_without_checkpoints_also_raises(tiny_cfg, tiny_data):
    cfg = tiny_cfg()
    gan = build_gan(cfg, tiny_data, CPU)
    with pytest.raises(TrainingDiverged, match="epoch 1"):
        _fit(gan, tiny_data, cfg, None, epochs=1, g_cost=lambda l: (l * 0).sum() + math.inf)
    assert gan.epoch == 0 and gan.history == []


# --------------------------------------------------------------------------- selection


@pytest.mark.parametrize(("mode", "best_epoch"), [("max", 3), ("min", 2)])
def test_best_checkpoint_follows_the_metric(tiny_cfg, tiny_data, tmp_path, mode, best_epoch):
    metric = {1: 1.0, 2: -4.0, 3: 5.0, 4: None, 5: 3.0}  # epoch 4 is not scored
    snapshots = {}

    def on_epoch_end(g):
        snapshots[g.epoch] = copy.deepcopy(g.generator.state_dict())
        return {} if metric[g.epoch] is None else {"m": metric[g.epoch]}

    cfg = tiny_cfg(epochs=5)
    gan = _fit(
        build_gan(cfg, tiny_data, CPU),
        tiny_data,
        cfg,
        tmp_path,
        on_epoch_end=on_epoch_end,
        select=("m", mode),
    )
    assert gan.best == {"epoch": best_epoch, "m": metric[best_epoch]}
    best = torch.load(tmp_path / "best.pt", weights_only=False)
    assert best["epoch"] == best_epoch and best["m"] == metric[best_epoch]
    for k, v in best["generator"].items():
        assert torch.equal(v, snapshots[best_epoch][k]), k
    assert not torch.equal(best["generator"]["net.0.weight"], snapshots[5]["net.0.weight"])
    assert [r.get("m") for r in gan.history] == [1.0, -4.0, 5.0, None, 3.0]
    assert torch.load(tmp_path / "last.pt", weights_only=False)["best"] == gan.best


def test_no_selection_writes_no_best(tiny_cfg, tiny_data, tmp_path):
    cfg = tiny_cfg(epochs=1)
    gan = _fit(build_gan(cfg, tiny_data, CPU), tiny_data, cfg, tmp_path, select=("m", "max"))
    assert gan.best is None and not (tmp_path / "best.pt").exists()


# --------------------------------------------------------------------------- time budget


def test_zero_budget_trains_nothing_on_a_fresh_start(tiny_cfg, tiny_data, tmp_path):
    cfg = tiny_cfg(epochs=3)
    gan = build_gan(cfg, tiny_data, CPU)
    before = _weights(gan)
    out = _fit(gan, tiny_data, cfg, tmp_path, time_budget_s=0)
    assert out.epoch == 0 and out.step == 0 and out.history == []
    _assert_equal_states(_weights(out), before)
    assert not (tmp_path / "last.pt").exists()


@pytest.mark.parametrize(("budget", "epochs_done"), [(15.0, 2), (20.0, 3), (1000.0, 5)])
def test_budget_stops_after_the_epoch_that_crosses_it(
    tiny_cfg, tiny_data, tmp_path, monkeypatch, budget, epochs_done
):
    """On a fake clock where every epoch takes 10 s: the check runs before each epoch."""
    clock = {"t": 100.0}
    monkeypatch.setattr(train_mod, "time", types.SimpleNamespace(perf_counter=lambda: clock["t"]))

    def tick(g):
        clock["t"] += 10.0
        return {}

    cfg = tiny_cfg(epochs=5)
    gan = build_gan(cfg, tiny_data, CPU)
    _fit(gan, tiny_data, cfg, tmp_path, on_epoch_end=tick, time_budget_s=budget)
    assert gan.epoch == epochs_done
    assert torch.load(tmp_path / "last.pt", weights_only=False)["epoch"] == epochs_done


# --------------------------------------------------------------------------- learning


def test_discriminator_learns_to_tell_real_from_fake(tiny_cfg):
    """Real images all ones; G starts near black (its output bias from all-black images)."""
    cfg = tiny_cfg(batch_size=10, d_irange=0.05, epochs=5)
    real = torch.ones(200, 64)
    gan = build_gan(cfg, torch.zeros(200, 64), CPU)
    _fit(gan, real, cfg)
    h = gan.history
    assert h[0]["d_loss"] == pytest.approx(math.log(2), abs=0.01)
    assert h[-1]["d_real"] > 0.8 and h[-1]["d_fake"] < 0.3
    assert h[-1]["d_loss"] < 0.3
    D = gan.discriminator.eval()
    with torch.no_grad():
        d_real = torch.sigmoid(D(real)).mean().item()
        d_fake = torch.sigmoid(D(gan.generator.sample(200, CPU, seed=1))).mean().item()
    assert d_real > 0.9 and d_fake < 0.3


def test_update_g_false_leaves_the_generator_alone(tiny_cfg, tiny_data):
    cfg = tiny_cfg()
    gan = build_gan(cfg, tiny_data, CPU)
    before = _weights(gan)
    m = simultaneous_step(gan, tiny_data[:50], NS, update_g=False)
    after = _weights(gan)
    assert m.shape == (4,) and torch.isfinite(m).all()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("G."))
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("D."))
    simultaneous_step(gan, tiny_data[:50], NS)
    assert any(not torch.equal(after[k], v) for k, v in _weights(gan).items() if k[0] == "G")


def test_batch_larger_than_data_is_refused(tiny_cfg, tiny_data):
    cfg = tiny_cfg()
    with pytest.raises(ValueError, match="batch_size 500 is larger than the 200"):
        train(
            build_gan(cfg, tiny_data, CPU),
            tiny_data,
            objectives.get("gan2014_nonsaturating"),
            epochs=1,
            batch_size=500,
            schedule=cfg.schedule(),
            progress=False,
        )


def test_checkpoint_interval_saves_rarely_but_always_when_stopping(tiny_cfg, tiny_data, tmp_path):
    cfg = tiny_cfg(epochs=3)
    seen = []

    def look(g):
        seen.append((tmp_path / "ck" / "last.pt").exists())
        return {}

    gan = _fit(
        build_gan(cfg, tiny_data, CPU),
        tiny_data,
        cfg,
        tmp_path / "ck",
        checkpoint_every_s=1e9,
        on_epoch_end=look,
    )
    assert seen == [False, False, False]  # no save during the run
    state = torch.load(tmp_path / "ck" / "last.pt", weights_only=False)
    assert state["epoch"] == 3 == gan.epoch  # but one when it ends

    # a budget stop saves too, so the re-run resumes from where it stopped
    def slow(g):
        time.sleep(0.1)
        return {}

    _fit(
        build_gan(cfg, tiny_data, CPU),
        tiny_data,
        cfg,
        tmp_path / "b",
        checkpoint_every_s=1e9,
        time_budget_s=0.05,
        on_epoch_end=slow,
    )
    assert torch.load(tmp_path / "b" / "last.pt", weights_only=False)["epoch"] == 1


def _tiny_splits(data: torch.Tensor):
    from replication.datasets.mnist import MnistSplits

    labels = torch.zeros(len(data), dtype=torch.int64)
    return MnistSplits(data, data[:50], data[50:100], labels, labels[:50], labels[50:100], {})


def test_continue_from_trains_past_another_run_without_touching_it(tiny_cfg, tiny_data, tmp_path):
    from replication.chapters.parzen_mnist import train_gan

    splits = _tiny_splits(tiny_data)
    small = {"n_samples": 20, "n_sigma_valid": 10, "n_test": 20}
    base_cfg = tiny_cfg(epochs=2, **small)
    base = train_gan(base_cfg, splits, tmp_path / "base", progress=False)
    before = {p.name: p.read_bytes() for p in (tmp_path / "base").iterdir()}

    longer = tiny_cfg(epochs=4, continue_from="base", **small)
    assert longer.fingerprint() == base_cfg.fingerprint()  # the checkpoint is accepted
    cont = train_gan(longer, splits, tmp_path / "longer", progress=False)
    assert cont.epoch == 4 and cont.resumed_from_epoch == 2
    assert [r["epoch"] for r in cont.history] == [1, 2, 3, 4]  # the base run's epochs included
    assert {p.name: p.read_bytes() for p in (tmp_path / "base").iterdir()} == before

    # the same as training 4 epochs in one go: continuing is resuming under another name
    full = train_gan(tiny_cfg(epochs=4, **small), splits, tmp_path / "full", progress=False)
    _assert_equal_states(_weights(cont), _weights(full))
    assert base.epoch == 2

    # once the new run has its own checkpoint, it resumes from that, not from the base run
    again = train_gan(longer, splits, tmp_path / "longer", progress=False)
    assert again.epoch == 4 and again.resumed_from_epoch == 4


def test_continue_from_a_run_without_checkpoints_is_a_clear_error(tiny_cfg, tiny_data, tmp_path):
    from replication.chapters.parzen_mnist import train_gan

    cfg = tiny_cfg(continue_from="paper")
    with pytest.raises(ConfigError, match=r"no checkpoint at .*paper.*last\.pt"):
        train_gan(cfg, _tiny_splits(tiny_data), tmp_path / "longer", progress=False)
    with pytest.raises(ConfigError, match="names this run itself"):
        train_gan(tiny_cfg(continue_from="x"), _tiny_splits(tiny_data), tmp_path / "x")


def test_continue_from_refuses_itself_and_a_torn_copy(tiny_cfg, tiny_data, tmp_path):
    from replication.chapters.parzen_mnist import train_gan
    from replication.runs.checkpoints import start_from_run

    small = {"n_samples": 20, "n_sigma_valid": 10, "n_test": 20}
    train_gan(tiny_cfg(epochs=2, **small), _tiny_splits(tiny_data), tmp_path / "paper")
    before = (tmp_path / "paper" / "last.pt").read_bytes()
    # a run with checkpoints cannot name itself either (that would extend it in place)
    with pytest.raises(ConfigError, match="names this run itself"):
        start_from_run(tmp_path / "paper", "paper")
    assert (tmp_path / "paper" / "last.pt").read_bytes() == before
    # best.pt from another moment than last.pt (the source was saving): refused, nothing left
    best = torch.load(tmp_path / "paper" / "best.pt", weights_only=False)
    torch.save({**best, "epoch": best["epoch"] + 7}, tmp_path / "paper" / "best.pt")
    with pytest.raises(ConfigError, match="disagree"):
        start_from_run(tmp_path / "longer", "paper")
    assert list((tmp_path / "longer").iterdir()) == []


def test_two_processes_never_train_one_run(tiny_cfg, tiny_data, tmp_path):
    from replication.chapters.parzen_mnist import train_gan
    from replication.runs.locks import exclusive

    small = {"n_samples": 20, "n_sigma_valid": 10, "n_test": 20}
    splits = _tiny_splits(tiny_data)
    with exclusive(tmp_path / "run" / ".lock", "run run"):  # another trainer holds the run
        with pytest.raises(ConfigError, match="run run is being trained by another process"):
            train_gan(tiny_cfg(epochs=1, **small), splits, tmp_path / "run", progress=False)
        # evaluating what is saved (a zero budget) needs no lock
        gan = train_gan(
            tiny_cfg(epochs=1, time_budget_minutes=0, **small), splits, tmp_path / "run"
        )
        assert gan.epoch == 0
    assert train_gan(tiny_cfg(epochs=1, **small), splits, tmp_path / "run").epoch == 1
