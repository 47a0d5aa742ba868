"""Batched seeds: S networks as one module, trained by the one loop; each seed's gradient and
update equal those of a separate network with its own cost."""

from __future__ import annotations

import inspect
import math

import pytest
import torch

from replication.datasets.toy import RING8
from replication.nets.batched import BatchedDiscriminator, BatchedGenerator
from replication.training import objectives
from replication.training.batched import batched, seed_sum
from replication.training.loop import train
from replication.training.losses import gradient_penalty
from replication.training.state import GAN

S = 3


def _nets(**mlp):
    torch.manual_seed(0)
    G = BatchedGenerator(S, 4, (8, 8), seed=10, **mlp)
    D = BatchedDiscriminator(S, 2, (8,), seed=20, **mlp)
    return G, D


@pytest.mark.parametrize(
    "mlp", [{}, {"init": "orthogonal", "init_scale": 0.8, "in_scale": 0.25}, {"pieces": 3}]
)
def test_each_seed_is_an_ordinary_network(mlp):
    G, D = _nets(**mlp)
    z = G.sample_noise(5, "cpu")
    x = G(z)
    assert z.shape == (5, S, 4) and x.shape == (5, S, 2) and D(x).shape == (5, S)
    for s in range(S):
        assert torch.allclose(G.net.seed_module(s)(z[:, s]), x[:, s], atol=1e-6)
        assert torch.allclose(D.net.seed_module(s)(x[:, s]).squeeze(1), D(x)[:, s], atol=1e-6)
    assert not torch.equal(G.net.layers[0].weight[0], G.net.layers[0].weight[1])  # own inits


def _grads(loss, module):
    return torch.autograd.grad(loss, list(module.parameters()))


@pytest.mark.parametrize("name", ["gan", "wgan"])
def test_per_seed_gradients_equal_those_of_separate_models(name):
    obj, bobj = objectives.get(name), batched(objectives.get(name))
    G, D = _nets()
    real = RING8.sample(16, "cpu", seed=0, seeds=S)
    z = G.sample_noise(16, "cpu")
    fake = G(z)
    d_grads = _grads(bobj.d_cost(D(real), D(fake.detach())), D)
    g_grads = _grads(bobj.g_cost(D(fake)), G)
    for s in range(S):
        Gs, Ds = G.net.seed_module(s), D.net.seed_module(s)
        f = Gs(z[:, s])
        want_d = _grads(obj.d_cost(Ds(real[:, s]).squeeze(1), Ds(f.detach()).squeeze(1)), Ds)
        want_g = _grads(obj.g_cost(Ds(f).squeeze(1)), Gs)
        for got, want in zip((*d_grads, *g_grads), (*want_d, *want_g), strict=True):
            assert torch.allclose(got[s], _as_batched(want), atol=1e-6)


def _as_batched(grad: torch.Tensor) -> torch.Tensor:
    """nn.Linear's weight gradient [out, in] as a batched seed's [in, out]; a bias as [1, out]."""
    return grad.T if grad.dim() == 2 else grad.unsqueeze(0)


def test_per_seed_gradient_penalty_is_each_seeds_own():
    """With fake = real the interpolate is real whatever eps is drawn: the penalty of the
    batched critic is the sum of the separate critics' penalties."""
    _, D = _nets()
    real = RING8.sample(16, "cpu", seed=0, seeds=S)
    got = batched(objectives.get("wgan_gp")).penalty(D, real, real)
    want = sum(
        gradient_penalty(lambda x, s=s: D.net.seed_module(s)(x).squeeze(1), real[:, s], real[:, s])
        for s in range(S)
    )
    assert float(got.detach()) == pytest.approx(float(want.detach()), rel=1e-5)


def test_an_adam_step_moves_each_seed_as_alone():
    obj = batched(objectives.get("gan"))
    G, D = _nets()
    sep = [D.net.seed_module(s) for s in range(S)]
    real = RING8.sample(16, "cpu", seed=0, seeds=S)
    fake = G(G.sample_noise(16, "cpu")).detach()
    opt = objectives.get("gan").optimiser(D.parameters())
    opt.zero_grad()
    obj.d_cost(D(real), D(fake)).backward()
    opt.step()
    for s, Ds in enumerate(sep):
        o = objectives.get("gan").optimiser(Ds.parameters())
        objectives.get("gan").d_cost(
            Ds(real[:, s]).squeeze(1), Ds(fake[:, s]).squeeze(1)
        ).backward()
        o.step()
        assert torch.allclose(D.net.layers[0].weight[s], Ds[0].weight.T, atol=1e-7)


@pytest.mark.parametrize("name", ["gan", "wgan_gp"])
def test_batched_seeds_train_through_the_one_loop(name):
    obj = batched(objectives.get(name))
    G, D = _nets()
    before = [p.detach().clone() for p in (*G.parameters(), *D.parameters())]
    gan = GAN(G, D, *obj.optimisers(G, D))
    data = RING8.sample(256, "cpu", seed=0, seeds=S)
    train(gan, data, obj, epochs=2, batch_size=32, progress=False)
    assert gan.epoch == 2 and all(math.isfinite(r["d_loss"]) for r in gan.history)
    after = [p.detach() for p in (*G.parameters(), *D.parameters())]
    if name == "wgan_gp":  # a critic's output bias cancels in E f(x) - E f(G(z)): no gradient
        assert torch.equal(before[-1], after[-1])
        before, after = before[:-1], after[:-1]
    for a, b in zip(before, after, strict=True):
        assert all(not torch.equal(a[s], b[s]) for s in range(S))  # every seed moved
    assert G.sample(50, "cpu", seed=1).shape == (50, S, 2)


def _costs_marked_separable():
    seen = {}
    for name in objectives.names():
        obj = objectives.get(name)
        for part in ("d_cost", "g_cost", "divergence"):
            cost = getattr(obj, part)
            if getattr(cost, "seed_separable", False):
                seen.setdefault(repr(cost), cost)
    return list(seen.values())


@pytest.mark.parametrize(
    "cost", _costs_marked_separable(), ids=lambda c: getattr(c, "__name__", repr(c))
)
def test_a_cost_marked_seed_separable_sums_the_seeds_own_costs(cost):
    """The no-vmap path (S times the cost on all columns) against the per-seed costs, value and
    gradient, on columns with different distributions (a cost that is not affine in row
    means would differ here)."""
    gen = torch.Generator().manual_seed(0)
    shift = torch.linspace(-2.0, 1.0, S, dtype=torch.float64)
    scale = torch.linspace(0.5, 2.0, S, dtype=torch.float64)
    n_args = len(inspect.signature(cost).parameters)
    outs = [
        (shift + scale * torch.randn(7, S, generator=gen, dtype=torch.float64)).requires_grad_(True)
        for _ in range(n_args)
    ]
    fast = seed_sum(cost)(*outs)
    want = sum(cost(*(o[:, s] for o in outs)) for s in range(S))
    assert float(fast.detach()) == pytest.approx(float(want.detach()), rel=1e-12, abs=1e-12)
    for g_fast, g_want in zip(
        torch.autograd.grad(fast, outs), torch.autograd.grad(want, outs), strict=True
    ):
        assert torch.allclose(g_fast, g_want, atol=1e-12)


def test_an_unmarked_cost_still_goes_through_vmap():
    def squared_mean(out):  # not affine in the row mean
        return out.mean() ** 2

    out = torch.tensor([[1.0, 3.0], [3.0, 5.0]])  # seed means 2 and 4
    assert float(seed_sum(squared_mean)(out)) == pytest.approx(4.0 + 16.0)
