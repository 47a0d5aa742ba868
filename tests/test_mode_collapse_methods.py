"""Each stabilisation method's cost or hook against a case with a known answer."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.func import functional_call

from replication.datasets.toy import RING8
from replication.metrics.modes import label_accuracy
from replication.nets.batched import (
    BatchedAutoencoder,
    BatchedDiscriminator,
    BatchedGenerator,
    ConditionalGenerator,
    minibatch_features,
    virtual_batch_norm,
)
from replication.training import objectives
from replication.training.batched import batched
from replication.training.losses import discriminator_bce
from replication.training.stabilisers import (
    HistoricalAverage,
    feature_matching_cost,
    unrolled_discriminator,
)
from replication.training.variants import F_DIVERGENCES, OneSidedSmoothing

FAKE = torch.tensor([-4.0, -1.0, 1.0])


def test_minimax_entry_is_the_2014_value_function():
    d = torch.sigmoid(FAKE.double())
    got = objectives.get("gan_minimax").g_cost(FAKE)
    assert float(got) == pytest.approx(float(0.5 * torch.log1p(-d).mean()), rel=1e-6)


# -- EBGAN -------------------------------------------------------------------------------------
def test_ebgan_margin_loss_by_hand():
    obj = objectives.get("ebgan").tuned(margin=2.0)
    real, fake = torch.tensor([1.0, 2.0]), torch.tensor([0.5, 3.0])
    # 1.5 + mean([2 - 0.5]^+, [2 - 3]^+) = 1.5 + 0.75; G: mean energy of fakes
    assert float(obj.d_cost(real, fake)) == pytest.approx(2.25)
    assert float(obj.g_cost(fake)) == pytest.approx(1.75)
    # past the margin a fake gives D no gradient: D stops pushing its energy up
    f = torch.tensor([3.0], requires_grad=True)
    obj.d_cost(real, f).backward()
    assert float(f.grad) == 0.0


def test_ebgan_energy_is_the_autoencoders_reconstruction_error():
    ae = BatchedAutoencoder(2, 2, (4, 2, 4), seed=0)
    x = RING8.sample(5, "cpu", seed=0, seeds=2)
    for s in range(2):
        recon = ae.net.seed_module(s)(x[:, s])
        want = ((recon - x[:, s]) ** 2).mean(1)
        assert torch.allclose(ae(x)[:, s], want, atol=1e-6)
    assert (ae(x) >= 0).all()


# -- f-GAN -------------------------------------------------------------------------------------
T_POINTS = {
    "kl": [-2.0, 0.0, 1.5],
    "reverse_kl": [-3.0, -1.0, -0.2],
    "pearson": [-1.5, 0.0, 2.0],
    "js": [-2.0, 0.0, 0.5],
}


@pytest.mark.parametrize("name", list(F_DIVERGENCES))
def test_each_conjugate_is_the_sup_of_tu_minus_f(name):
    """f*(t) = sup_u (t u - f(u)), the sup taken on a fine log-grid of u > 0 (Pearson's f is
    defined on all of R; its sup is at u = 1 + t/2, on the grid for these t)."""
    d = F_DIVERGENCES[name]
    u = torch.logspace(-6, 3, 400001, dtype=torch.float64)
    for t in T_POINTS[name]:
        sup = float((t * u - d.f(u)).max())
        assert float(d.conjugate(torch.tensor(t, dtype=torch.float64))) == pytest.approx(
            sup, abs=1e-6
        )


@pytest.mark.parametrize("name", list(F_DIVERGENCES))
def test_output_activation_lands_in_the_conjugates_domain(name):
    d = F_DIVERGENCES[name]
    v = torch.linspace(-20, 20, 401, dtype=torch.float64)
    t = d.activation(v)
    lo, hi = d.domain
    assert bool(((t > lo) & (t < hi)).all()) and torch.isfinite(d.conjugate(t)).all()


F_PRIME = {
    "kl": lambda u: 1 + math.log(u),
    "reverse_kl": lambda u: -1 / u,
    "pearson": lambda u: 2 * (u - 1),
    "js": lambda u: math.log(2 * u / (1 + u)),
}
ACT_INVERSE = {
    "kl": lambda t: t,
    "reverse_kl": lambda t: -math.log(-t),
    "pearson": lambda t: t,
    "js": lambda t: -math.log(math.exp(math.log(2) - t) - 1),
}


@pytest.mark.parametrize("name", list(F_DIVERGENCES))
def test_the_bound_at_the_optimal_critic_is_the_divergence(name):
    """P = (1/4, 3/4), Q = (1/2, 1/2) on two points; at T*(x) = f'(p/q) the bound
    E_P T - E_Q f*(T) equals D_f(P || Q) = sum q f(p/q), and D's cost is its negative."""
    obj, d = objectives.get(f"fgan_{name}"), F_DIVERGENCES[name]
    p, q = (0.25, 0.75), (0.5, 0.5)
    v = [ACT_INVERSE[name](F_PRIME[name](pi / qi)) for pi, qi in zip(p, q, strict=True)]
    real = torch.tensor([v[0], v[1], v[1], v[1]], dtype=torch.float64)  # P's proportions
    fake = torch.tensor([v[0], v[1]], dtype=torch.float64)  # Q's
    div = sum(
        qi * float(d.f(torch.tensor(pi / qi, dtype=torch.float64)))
        for pi, qi in zip(p, q, strict=True)
    )
    assert float(obj.divergence(real, fake)) == pytest.approx(div, rel=1e-9)
    assert float(obj.d_cost(real, fake)) == pytest.approx(-div, rel=1e-9)
    assert float(obj.g_cost(fake)) == pytest.approx(-float(d.activation(fake).mean()))


# -- Salimans et al. 2016 ------------------------------------------------------------------------
def test_feature_matching_cost_by_hand():
    cost = feature_matching_cost(lambda x: x)
    real = torch.tensor([[0.0, 0.0], [2.0, 2.0]])
    assert float(cost(real, torch.ones(2, 2))) == 0.0  # the means agree: nothing to match
    assert float(cost(real, torch.tensor([[3.0, 1.0], [3.0, 1.0]]))) == pytest.approx(4.0)
    batched_real = torch.stack([real, real + 1], 1)  # [B, S, H]: the sum of the seeds' costs
    fake = torch.stack([torch.ones(2, 2), torch.ones(2, 2)], 1)
    assert float(cost(batched_real, fake)) == pytest.approx(0.0 + 2.0)


def test_minibatch_features_see_collapse():
    """Two identical rows are each other's exp(0) = 1; a far row adds ~0; the row itself never
    counts."""
    m = torch.tensor([[0.0, 0.0], [0.0, 0.0], [50.0, 50.0]]).reshape(1, 3, 1, 2)
    o = minibatch_features(m)
    assert torch.allclose(o.squeeze(), torch.tensor([1.0, 1.0, 0.0]), atol=1e-12)
    m2 = torch.tensor([[0.0], [1.0]]).reshape(1, 2, 1, 1)  # L1 distance 1: exp(-1)
    assert torch.allclose(minibatch_features(m2).squeeze(), torch.full((2,), math.exp(-1)))
    D = BatchedDiscriminator(2, 2, (8,), seed=0, minibatch=(3, 2))
    x = RING8.sample(6, "cpu", seed=0, seeds=2)
    assert D(x).shape == (6, 2)


def test_historical_average_is_the_mean_of_past_parameters():
    h, p = HistoricalAverage(), torch.zeros(2)
    for value in ([1.0, 0.0], [3.0, 2.0], [5.0, 1.0]):
        p = torch.tensor(value)
        h.update([p])
    assert torch.allclose(h.means[0], torch.tensor([3.0, 1.0]))
    theta = torch.tensor([4.0, 1.0], requires_grad=True)
    pen = h.penalty([theta], weight=0.5)
    assert float(pen.detach()) == pytest.approx(0.5 * 1.0)
    pen.backward()  # 2 w (theta - mean)
    assert torch.allclose(theta.grad, torch.tensor([1.0, 0.0]))


def test_one_sided_smoothing_moves_the_optimal_d_to_alpha_over_two():
    """For one point with p = q, the smoothed cost is minimal at D = alpha p / (p + q) = 0.45."""
    cost = OneSidedSmoothing(0.9)
    l = torch.tensor([math.log(0.45 / 0.55)], requires_grad=True, dtype=torch.float64)
    (g,) = torch.autograd.grad(cost(l, l), l)
    assert abs(float(g)) < 1e-12
    x = torch.tensor([0.3, -1.2])
    assert float(OneSidedSmoothing(1.0)(x, FAKE)) == pytest.approx(
        float(discriminator_bce(x, FAKE))
    )
    assert objectives.get("one_sided_smoothing").d_cost == OneSidedSmoothing(0.9)


def test_virtual_batch_norm_by_hand_and_independent_of_the_minibatch():
    h = torch.tensor([0.0, 2.0, 4.0]).reshape(1, 3, 1)  # reference (0, 2), one example 4
    out = virtual_batch_norm(h, n_ref=2, eps=0.0).flatten()
    # reference: mean 1, var 1; example: mean 2, E h^2 = 20/3, var 8/3 over {0, 2, 4}
    assert torch.allclose(out, torch.tensor([-1.0, 1.0, 2 / math.sqrt(8 / 3)]))
    ref = torch.randn(16, 2, 4, generator=torch.Generator().manual_seed(0))
    G = BatchedGenerator(2, 4, (8, 8), seed=0, vbn_reference=ref)
    z = G.sample_noise(5, "cpu")
    alone = G(z[:1])
    assert torch.allclose(G(z)[:1], alone, atol=1e-6)  # batch norm would change with z[1:]
    assert torch.allclose(G(torch.cat([z[:1], 3 * z[1:]]))[:1], alone, atol=1e-6)


# -- Metz et al. 2017 ----------------------------------------------------------------------------
def test_unrolled_steps_are_gradient_steps_differentiated_through():
    torch.manual_seed(0)
    D = nn.Linear(1, 1).double()
    real = torch.tensor([[1.0], [2.0]], dtype=torch.float64)

    def cost(fake: torch.Tensor, k: int) -> torch.Tensor:
        p = unrolled_discriminator(
            D, lambda r, f: discriminator_bce(r.squeeze(1), f.squeeze(1)), real, fake, k, 0.5
        )
        return objectives.get("unrolled_gan").g_cost(functional_call(D, p, (fake,)).squeeze(1))

    fake = torch.tensor([[0.2], [-0.4]], dtype=torch.float64, requires_grad=True)
    p1 = unrolled_discriminator(
        D, lambda r, f: discriminator_bce(r.squeeze(1), f.squeeze(1)), real, fake, 1, 0.5
    )
    d_loss = discriminator_bce(D(real).squeeze(1), D(fake).squeeze(1))
    grads = torch.autograd.grad(d_loss, list(D.parameters()))
    for (_, got), p, g in zip(p1.items(), D.parameters(), grads, strict=True):
        assert torch.allclose(got, p - 0.5 * g)  # one plain gradient step
    (auto,) = torch.autograd.grad(cost(fake, 3), fake)
    eps, fd = 1e-6, torch.zeros(2, dtype=torch.float64)
    for i in range(2):
        e = torch.zeros_like(fake)
        e[i] = eps
        fd[i] = (cost(fake.detach() + e, 3) - cost(fake.detach() - e, 3)) / (2 * eps)
    assert torch.allclose(auto.flatten(), fd, atol=1e-7)  # through all 3 steps
    (plain,) = torch.autograd.grad(cost(fake, 0), fake)
    assert not torch.allclose(plain, auto)  # the lookahead changes G's gradient


def test_unrolled_entry_uses_the_papers_k():
    assert objectives.get("unrolled_gan").stabiliser.unroll_steps == 10
    assert objectives.get("unrolled_gan").tuned(unroll_steps=5).stabiliser.unroll_steps == 5


# -- Mirza & Osindero 2014 -----------------------------------------------------------------------
def test_conditional_generator_carries_its_label_and_labelled_data_theirs():
    G = ConditionalGenerator(2, 4, (8,), classes=8, seed=0)
    z = G.sample_noise(10, "cpu")
    x = G(z)
    assert x.shape == (10, 2, 10) and torch.equal(x[..., 2:], z[..., 4:])
    data = RING8.sample(200, "cpu", seed=0, labelled=True)
    labels = data[:, 2:].argmax(1)
    assert label_accuracy(data[:, :2], labels, RING8.centre_tensor(), RING8.std) > 0.97
    assert label_accuracy(data[:, :2], (labels + 1) % 8, RING8.centre_tensor(), 0.01) == 0.0


# -- every method trains through the one loop on batched seeds ----------------------------------
def test_stabilised_rule_keeps_d_and_g_gradients_apart():
    """After a G update under feature matching or unrolling no gradient is left on D."""
    from replication.training.loop import train
    from replication.training.state import GAN

    for name in ("feature_matching", "unrolled_gan", "historical_averaging"):
        obj = batched(objectives.get(name).tuned(unroll_steps=2))
        G, D = BatchedGenerator(2, 4, (8,), seed=0), BatchedDiscriminator(2, 2, (8,), seed=1)
        gan = GAN(G, D, *obj.optimisers(G, D))
        before = [p.detach().clone() for p in G.parameters()]
        train(
            gan, RING8.sample(64, "cpu", 0, seeds=2), obj, epochs=1, batch_size=16, progress=False
        )
        assert all(p.grad is None for p in D.parameters())
        assert all(not torch.equal(a, b) for a, b in zip(before, G.parameters(), strict=True))
