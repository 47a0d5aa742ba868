"""Several G updates per D update (`Objective.g_updates`, PacGAN's Stacked MNIST code makes 2):
g_updates = 1 is the rule as it was, bit for bit; every G update is counted (optimiser steps,
`g_step`, rounds, trace); bad counts and rules without a G update of their own are refused."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook

from replication.nets.mlp2014 import Sampling
from replication.nets.toy import Mlp
from replication.training import objectives
from replication.training.loop import train
from replication.training.objectives import Objective
from replication.training.stabilisers import (
    HistoricalAverage,
    feature_matching_cost,
    lookahead_for,
    pulling_away,
    unrolled_generator_cost,
)
from replication.training.state import GAN
from replication.training.steps import UPDATE_RULES, UpdateRule, alternating_step

CPU = torch.device("cpu")


class TinyGenerator(Sampling, nn.Module):
    noise_dim = 4

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))

    def sample_noise(self, n: int, device, generator=None) -> torch.Tensor:
        return torch.randn(n, 4, device=device, generator=generator)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def _gan(obj: Objective, seed: int = 0) -> GAN:
    torch.manual_seed(seed)
    G, D = TinyGenerator(), Mlp(2, 8, 1)
    obj.prepare_critic(D)
    return GAN(G, D, *obj.optimisers(G, D))


def _data() -> torch.Tensor:
    return torch.randn(96, 2, generator=torch.Generator().manual_seed(1))  # 6 batches of 16


def _fit(obj: Objective, epochs: int = 2, rounds: int | None = None) -> GAN:
    gan = _gan(obj)
    train(
        gan, _data(), obj, epochs=epochs, batch_size=16, round_g_iters=rounds, trace=True,
        progress=False,
    )  # fmt: skip
    return gan


def _weights(gan: GAN) -> list[torch.Tensor]:
    return [*gan.generator.state_dict().values(), *gan.discriminator.state_dict().values()]


def _history(gan: GAN) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "epoch_time_s"} for row in gan.history]


# -- g_updates = 1 is the rule as it was ---------------------------------------------------------
def _alternating_step_before(gan, x, g_cost, d_cost, n_critic, penalty=None, update_g=True):
    """`steps.alternating_step` as it was before g_updates (commit 6c855f9), verbatim."""
    G, D = gan.generator, gan.discriminator
    with torch.no_grad():
        fake = G(G.sample_noise(x.shape[0], x.device))
    out = D(torch.cat([x, fake]))
    real_o, fake_o = out[: x.shape[0]], out[x.shape[0] :]
    d_loss = d_cost(real_o, fake_o)
    total = d_loss if penalty is None else d_loss + penalty(D, x, fake)
    gan.opt_d.zero_grad(set_to_none=True)
    total.backward()
    gan.opt_d.step()
    gan.critic_streak += 1
    g_loss = torch.zeros((), device=x.device)
    if update_g and gan.critic_streak >= n_critic(gan.g_step):
        gan.critic_streak = 0
        d_params = list(D.parameters())
        for p in d_params:
            p.requires_grad_(False)
        g_loss = g_cost(D(G(G.sample_noise(x.shape[0], x.device))))
        gan.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        gan.opt_g.step()
        for p in d_params:
            p.requires_grad_(True)
        gan.g_step += 1
    with torch.no_grad():
        return torch.stack([d_loss.detach(), g_loss.detach(), real_o.mean(), fake_o.mean()])


def _before_rule(obj: Objective, train_generator: bool) -> UpdateRule:
    def step(gan: GAN, x: torch.Tensor) -> torch.Tensor:
        return _alternating_step_before(
            gan, x, obj.g_cost, obj.d_cost, obj.n_critic, obj.penalty, train_generator
        )

    return UpdateRule(step, ("d_loss", "g_loss", "critic_real", "critic_fake"))


@pytest.mark.parametrize(
    ("name", "tune", "rounds"),
    [("gan", {}, None), ("wgan", {"n_critic": 2, "warmup_critic": 3}, 3), ("wgan_gp", {}, 2)],
)
def test_one_g_update_is_the_alternating_rule_as_it_was_bit_for_bit(
    monkeypatch, name, tune, rounds
):
    """Same weights, history and trace as the old step in the same loop: the same random draws
    in the same order (a missing or extra noise draw would change every later weight)."""
    obj = objectives.get(name).tuned(**tune)
    assert obj.g_updates == 1
    new = _fit(obj, rounds=rounds)
    with monkeypatch.context() as m:
        m.setitem(UPDATE_RULES, "alternating", _before_rule)
        old = _fit(obj, rounds=rounds)
    assert new.g_step == old.g_step > 0 and new.step == old.step
    assert all(torch.equal(a, b) for a, b in zip(_weights(new), _weights(old), strict=True))
    assert _history(new) == _history(old) and new.trace == old.trace


def _stabilised_step_before(gan, x, obj, hist, update_g=True):
    """`stabilisers.stabilised_step` as it was before g_updates (commit 6c855f9), verbatim."""
    G, D, hooks = gan.generator, gan.discriminator, obj.stabiliser
    hist_g, hist_d = hist
    with torch.no_grad():
        fake = G(G.sample_noise(x.shape[0], x.device))
    real_o, fake_o = D(x), D(fake)
    d_loss = obj.d_cost(real_o, fake_o)
    total = d_loss + hist_d.penalty(D.parameters(), hooks.history_weight)
    if obj.penalty is not None:
        total = total + obj.penalty(D, x, fake)
    gan.opt_d.zero_grad(set_to_none=True)
    total.backward()
    gan.opt_d.step()
    if hooks.history_weight:
        hist_d.update(D.parameters())
    gan.critic_streak += 1
    g_loss = torch.zeros((), device=x.device)
    if update_g and gan.critic_streak >= obj.n_critic(gan.g_step):
        gan.critic_streak = 0
        fake = G(G.sample_noise(x.shape[0], x.device))
        if hooks.feature_matching:
            g_loss = feature_matching_cost(D.features)(x, fake)
        elif hooks.unroll_steps:
            ahead = lookahead_for(hooks.unroll_optimiser, D, gan.opt_d, hooks.unroll_lr)
            g_loss = unrolled_generator_cost(D, obj.d_cost, x, fake, hooks.unroll_steps, ahead)
        elif hooks.pull_away_weight:
            g_loss = obj.g_cost(D(fake)) + hooks.pull_away_weight * pulling_away(D.features(fake))
        else:
            g_loss = obj.g_cost(D(fake))
        total_g = g_loss + hist_g.penalty(G.parameters(), hooks.history_weight)
        gan.opt_g.zero_grad(set_to_none=True)
        gan.opt_d.zero_grad(set_to_none=True)
        total_g.backward()
        gan.opt_g.step()
        gan.opt_d.zero_grad(set_to_none=True)
        if hooks.history_weight:
            hist_g.update(G.parameters())
        gan.g_step += 1
    with torch.no_grad():
        return torch.stack([d_loss.detach(), g_loss.detach(), real_o.mean(), fake_o.mean()])


def _stabilised_before_rule(obj: Objective, train_generator: bool) -> UpdateRule:
    hist = (HistoricalAverage(), HistoricalAverage())

    def step(gan: GAN, x: torch.Tensor) -> torch.Tensor:
        return _stabilised_step_before(gan, x, obj, hist, train_generator)

    return UpdateRule(step, ("d_loss", "g_loss", "d_real", "d_fake"))


@pytest.mark.parametrize(
    ("name", "tune"),
    [("historical_averaging", {"history_weight": 0.5}), ("unrolled_gan", {"unroll_steps": 2})],
)
def test_one_g_update_is_the_stabilised_rule_as_it_was_bit_for_bit(monkeypatch, name, tune):
    obj = objectives.get(name).tuned(**tune)
    new = _fit(obj)
    with monkeypatch.context() as m:
        m.setitem(UPDATE_RULES, "stabilised", _stabilised_before_rule)
        old = _fit(obj)
    assert new.g_step == old.g_step > 0 and new.step == old.step
    assert all(torch.equal(a, b) for a, b in zip(_weights(new), _weights(old), strict=True))
    assert _history(new) == _history(old) and new.trace == old.trace


def test_two_g_updates_are_the_old_step_then_one_more_g_update_on_new_noise():
    """g_updates = 2 is, bit for bit, the old step followed by one more G update with a fresh
    noise draw; the step reports that last update's G loss."""
    obj = replace(objectives.get("gan"), g_updates=2)
    x = _data()[:16]
    a, b = _gan(obj), _gan(obj)
    torch.manual_seed(5)
    stats = alternating_step(a, x, obj.g_cost, obj.d_cost, obj.n_critic, g_updates=2)
    torch.manual_seed(5)
    _alternating_step_before(b, x, obj.g_cost, obj.d_cost, obj.n_critic)
    for p in b.discriminator.parameters():
        p.requires_grad_(False)
    g_loss = obj.g_cost(b.discriminator(b.generator(b.generator.sample_noise(16, CPU))))
    b.opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    b.opt_g.step()
    assert a.g_step == 2 and a.critic_streak == 0
    assert all(torch.equal(p, q) for p, q in zip(_weights(a), _weights(b), strict=True))
    assert torch.equal(stats[1], g_loss.detach())


# -- every G update counts ---------------------------------------------------------------------
def _count_optimiser_steps() -> tuple[Counter, object]:
    """Every optimiser step from now on, by optimiser (as tests/test_game_dynamics.py counts)."""
    counts: Counter = Counter()
    handle = register_optimizer_step_post_hook(lambda opt, args, kwargs: counts.update([id(opt)]))
    return counts, handle


def _counted_fit(obj: Objective, **kw) -> tuple[GAN, Counter]:
    counts, handle = _count_optimiser_steps()
    try:
        gan = _fit(obj, **kw)
    finally:
        handle.remove()
    return gan, counts


@pytest.mark.parametrize("name", ["gan", "historical_averaging"])  # alternating and stabilised
def test_two_g_updates_step_g_twice_per_d_step_and_count_each(name):
    obj = replace(objectives.get(name), g_updates=2)
    gan, counts = _counted_fit(obj, epochs=1)  # 6 minibatches
    assert counts[id(gan.opt_d)] == 6 and counts[id(gan.opt_g)] == 12
    assert gan.step == 6 and gan.g_step == 12 and gan.history[0]["g_step"] == 12
    assert [t["g_step"] for t in gan.trace] == [2, 4, 6, 8, 10, 12]  # one row per step
    mean_g = sum(t["g_loss"] for t in gan.trace) / 6
    assert gan.history[0]["g_loss"] == pytest.approx(mean_g, rel=1e-6)


def test_two_g_updates_after_k_critic_updates_count_rounds_in_g_updates():
    """k = 2 and g_updates = 2: two D steps, then two G steps; a round of 4 G updates is two
    such blocks, and the history and trace count G updates."""
    obj = replace(objectives.get("wgan_gp").tuned(n_critic=2), g_updates=2)
    gan, counts = _counted_fit(obj, epochs=2, rounds=4)
    assert counts[id(gan.opt_g)] == 8 and counts[id(gan.opt_d)] == 8
    assert gan.g_step == 8 and gan.step == 8
    assert [r["g_step"] for r in gan.history] == [4, 8] and [r["step"] for r in gan.history] == [
        4,
        8,
    ]
    assert [t["g_step"] for t in gan.trace] == [2, 4, 6, 8]


def test_a_round_that_would_end_inside_a_steps_g_updates_is_refused_before_compute():
    obj = replace(objectives.get("gan"), g_updates=2)
    gan = _gan(obj)
    start = [w.clone() for w in _weights(gan)]
    with pytest.raises(ValueError, match="not a multiple of the objective's g_updates"):
        train(gan, _data(), obj, epochs=1, batch_size=16, round_g_iters=3, progress=False)
    assert gan.step == 0 and all(
        torch.equal(a, b) for a, b in zip(start, _weights(gan), strict=True)
    )


# -- refusals ------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_g_updates_below_one_or_not_an_integer_is_refused(bad):
    with pytest.raises(ValueError, match="g_updates must be an integer >= 1"):
        replace(objectives.get("gan"), g_updates=bad)
    obj = objectives.get("gan")
    with pytest.raises(ValueError, match="g_updates must be an integer >= 1"):
        alternating_step(
            _gan(obj), _data()[:16], obj.g_cost, obj.d_cost, obj.n_critic, g_updates=bad
        )


@pytest.mark.parametrize("name", ["gan2014_nonsaturating", "gan_consensus"])
def test_simultaneous_and_consensus_rules_refuse_several_g_updates(name):
    with pytest.raises(ValueError, match="rule moves G once per step"):
        replace(objectives.get(name), g_updates=2)
    assert replace(objectives.get(name), g_updates=1).g_updates == 1


def test_a_critic_schedule_that_follows_gs_count_refuses_several_g_updates():
    """WGAN's schedule (100 critic steps below 25 G iterations and at every 500th) reads G's
    count, which moves by g_updates per step: it would skip the 500th iteration."""
    with pytest.raises(ValueError, match="critic schedule"):
        replace(objectives.get("wgan"), g_updates=2)
