"""Each stabilisation method's cost or hook against a case with a known answer."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

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
    pulling_away,
    stabilised_step,
)
from replication.training.state import GAN
from replication.training.steps import update_rule
from replication.training.unrolling import (
    AdamLookahead,
    adam_step,
    unrolled_discriminator,
    unrolled_generator_cost,
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
    ae = BatchedAutoencoder(2, 2, (4,), 2, (4,), seed=0, in_scale=0.25)
    x = RING8.sample(5, "cpu", seed=0, seeds=2)
    for s in range(2):
        recon = ae.seed_module(s)(x[:, s])
        want = ((recon - x[:, s]) ** 2).mean(1)
        assert torch.allclose(ae(x)[:, s], want, atol=1e-6)
    assert (ae(x) >= 0).all()


def test_pulling_away_term_by_hand():
    """f_PT = mean over ordered pairs i != j of cos^2: orthogonal codes 0, identical codes 1."""
    assert float(pulling_away(torch.eye(3))) == 0.0
    assert float(pulling_away(torch.tensor([[2.0, 1.0]] * 4))) == pytest.approx(1.0)
    # (1, 0), (0, 1), (1, 1): cos^2 0, 1/2, 1/2 over the 3 pairs, each counted twice, / (3 * 2)
    codes = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert float(pulling_away(codes)) == pytest.approx(1 / 3)
    assert float(pulling_away(torch.tensor([[0.0, 0.0], [1.0, 0.0]]))) == 0.0  # zero code
    both = torch.stack([torch.eye(2), torch.ones(2, 2)], 1)  # [B, S, w]: seeds 0 and 1
    assert float(pulling_away(both)) == pytest.approx(0.0 + 1.0)
    with pytest.raises(ValueError, match="at least 2"):
        pulling_away(torch.ones(1, 3))


def test_ebgan_pt_adds_the_weighted_term_on_the_encoders_code():
    ae = BatchedAutoencoder(2, 2, (6,), 3, (6,), seed=0)
    x = RING8.sample(5, "cpu", seed=0, seeds=2)
    code = ae.features(x)
    assert code.shape == (5, 2, 3)  # the code, not the decoder's last hidden layer
    for s in range(2):
        assert torch.allclose(code[:, s], ae.encoder.seed_module(s)(x[:, s]), atol=1e-6)
    assert (code < 0).any()  # linear: no ReLU zeroes the code's directions
    obj = objectives.get("ebgan_pt")
    assert obj.stabiliser.pull_away_weight == 0.1
    assert obj.tuned(pull_away_weight=0.5).stabiliser.pull_away_weight == 0.5
    assert obj.g_cost is objectives.get("ebgan").g_cost
    assert obj.d_cost == objectives.get("ebgan").d_cost


def test_ebgan_pt_at_weight_zero_steps_as_ebgan_and_adds_w_f_pt():
    """One step from the same state and noise (EBGAN's alternating rule, EBGAN-PT's stabilised
    one): at w = 0 G's gradient is EBGAN's; at w = 0.1 it differs, and G's logged cost exceeds
    EBGAN's by 0.1 f_PT, in [0, 0.1] per seed."""

    def step(name: str, **tune) -> tuple[list[torch.Tensor], float]:
        obj = batched(objectives.get(name).tuned(**tune))
        G = BatchedGenerator(2, 4, (8,), seed=0)
        D = BatchedAutoencoder(2, 2, (8,), 2, (8,), seed=1)
        gan = GAN(G, D, *obj.optimisers(G, D))
        torch.manual_seed(0)
        out = update_rule(obj).step(gan, RING8.sample(16, "cpu", 0, seeds=2))
        return [p.grad.clone() for p in G.parameters()], float(out[1])

    (plain, l0), (zero, l1), (pt, l2) = (
        step("ebgan"),
        step("ebgan_pt", pull_away_weight=0.0),
        step("ebgan_pt"),
    )
    assert all(torch.allclose(a, b, atol=1e-7) for a, b in zip(plain, zero, strict=True))
    assert l1 == pytest.approx(l0, rel=1e-6)
    assert not all(torch.allclose(a, b) for a, b in zip(plain, pt, strict=True))
    assert 0.0 < l2 - l0 <= 0.1 * 2 + 1e-6  # two seeds, each f_PT <= 1


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
REAL = torch.tensor([[1.0], [2.0], [0.5]], dtype=torch.float64)


def _bce(r: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    return discriminator_bce(r.squeeze(1), f.squeeze(1))


def _warm_d(seed: int = 0, steps: int = 3) -> tuple[nn.Module, torch.optim.Adam]:
    """A small D and its Adam after a few real steps, so the moments are not zero."""
    torch.manual_seed(seed)
    D = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    opt = torch.optim.Adam(D.parameters(), lr=0.05, betas=(0.5, 0.999), eps=1e-8)
    for i in range(steps):
        fake = torch.randn(3, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(i))
        opt.zero_grad()
        _bce(D(REAL), D(fake)).backward()
        opt.step()
    return D, opt


def _central_differences(cost, x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """d cost / d x by central differences, one element at a time, flattened."""
    fd = torch.zeros(x.numel(), dtype=x.dtype)
    for i in range(x.numel()):
        e = torch.zeros_like(x).flatten()
        e[i] = eps
        e = e.view_as(x)
        fd[i] = (cost(x + e) - cost(x - e)) / (2 * eps)
    return fd


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_unrolled_adam_step_is_torch_adams_step(dtype):
    D, opt = _warm_d()
    D, fake = D.to(dtype), torch.tensor([[0.2], [-0.4]], dtype=dtype)
    opt = torch.optim.Adam(D.parameters(), lr=0.05, betas=(0.5, 0.999), eps=1e-8)
    for _ in range(2):  # warm state in this dtype
        opt.zero_grad()
        _bce(D(REAL.to(dtype)), D(fake)).backward()
        opt.step()
    before = [p.detach().clone() for p in D.parameters()]
    state = {k: v.clone() for k, v in opt.state[next(D.parameters())].items()}
    ahead = AdamLookahead(opt, list(D.parameters()))
    p1 = unrolled_discriminator(D, _bce, REAL.to(dtype), fake, 1, ahead)
    assert all(torch.equal(a, b) for a, b in zip(before, D.parameters(), strict=True))
    assert all(torch.equal(v, opt.state[next(D.parameters())][k]) for k, v in state.items())
    opt.zero_grad()
    _bce(D(REAL.to(dtype)), D(fake)).backward()
    opt.step()  # the real optimiser, one step from the same state
    tol = {"atol": 1e-14, "rtol": 0} if dtype == torch.float64 else {"atol": 1e-7, "rtol": 0}
    for got, want in zip(p1.values(), D.parameters(), strict=True):
        assert torch.allclose(got, want, **tol)


def test_first_adam_step_moves_every_parameter_by_the_learning_rate():
    """From zero moments, m / sqrt(v) after bias correction is g / |g|: each parameter moves by
    lr * g / (|g| + eps), about lr whatever the gradient's size; a plain step moves it lr * g."""
    p, g = [torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)], torch.tensor([1e-3, -5.0, 0.0])
    g = [g.double()]
    zeros = [torch.zeros(3, dtype=torch.float64)]
    (new,), _, _ = adam_step(p, g, zeros, zeros, 1, 1e-4, (0.5, 0.999), 1e-8)
    want = p[0] - 1e-4 * g[0] / (g[0].abs() + 1e-8)
    assert torch.allclose(new, want, atol=1e-14, rtol=0)
    assert torch.allclose((p[0] - new)[:2].abs(), torch.full((2,), 1e-4).double(), rtol=1e-4)
    assert new[2] == p[0][2]  # no gradient ever: no move, and no NaN in its gradient below
    g0 = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    zero = [torch.zeros(1, dtype=torch.float64)]
    (moved,), _, _ = adam_step([g0 + 1], [g0], zero, zero, 1, 0.1, (0.5, 0.999), 1e-8)
    (grad,) = torch.autograd.grad(moved.sum(), g0)
    assert torch.isfinite(grad).all()


def test_unrolled_generator_cost_at_k_0_is_the_gan_value():
    """k = 0: the value f(G, D) = 1/2 E log D(x) + the minimax G cost; the real term does not
    depend on G, so G's gradient is the minimax cost's."""
    D, opt = _warm_d()
    fake = torch.tensor([[0.2], [-0.4]], dtype=torch.float64, requires_grad=True)
    got = unrolled_generator_cost(D, _bce, REAL, fake, 0, AdamLookahead(opt, list(D.parameters())))
    g_cost = objectives.get("unrolled_gan").g_cost
    plain = g_cost(D(fake).squeeze(1))
    real_term = 0.5 * torch.log(torch.sigmoid(D(REAL))).mean()
    assert float(got.detach()) == pytest.approx(float((plain + real_term).detach()), rel=1e-12)
    (a,) = torch.autograd.grad(got, fake)
    (b,) = torch.autograd.grad(plain, fake)
    assert torch.allclose(a, b, atol=1e-15)


@pytest.mark.parametrize("k", [1, 3])
def test_unrolled_adam_is_differentiated_through_its_steps(k):
    """G's gradient of the surrogate through k Adam steps equals central finite differences."""
    D, opt = _warm_d()

    def cost(fake: torch.Tensor) -> torch.Tensor:
        return unrolled_generator_cost(
            D, _bce, REAL, fake, k, AdamLookahead(opt, list(D.parameters()))
        )

    fake = torch.tensor([[0.2], [-0.4]], dtype=torch.float64, requires_grad=True)
    (auto,) = torch.autograd.grad(cost(fake), fake)
    fd = _central_differences(cost, fake.detach())
    assert torch.allclose(auto.flatten(), fd, atol=1e-7, rtol=1e-5)
    (plain,) = torch.autograd.grad(unrolled_generator_cost(D, _bce, REAL, fake, 0, 0.0), fake)
    assert not torch.allclose(plain, auto, atol=1e-6)  # the lookahead changes G's gradient


def test_plain_unrolled_steps_are_gradient_steps_differentiated_through():
    torch.manual_seed(0)
    D = nn.Linear(1, 1).double()
    fake = torch.tensor([[0.2], [-0.4]], dtype=torch.float64, requires_grad=True)
    p1 = unrolled_discriminator(D, _bce, REAL, fake, 1, 0.5)
    grads = torch.autograd.grad(_bce(D(REAL), D(fake)), list(D.parameters()))
    for got, p, g in zip(p1.values(), D.parameters(), grads, strict=True):
        assert torch.allclose(got, p - 0.5 * g)  # one plain gradient step

    def cost(f: torch.Tensor) -> torch.Tensor:
        return unrolled_generator_cost(D, _bce, REAL, f, 3, 0.5)

    (auto,) = torch.autograd.grad(cost(fake), fake)
    fd = _central_differences(cost, fake.detach())
    assert torch.allclose(auto.flatten(), fd, atol=1e-7)


def test_batched_unrolled_adam_gives_each_seed_its_own_gradient():
    """On seed-batched parameters the unrolled Adam and G's gradient are each seed's own: the
    same as a separate D with its own Adam that took the same real step."""
    S = 3
    obj = batched(objectives.get("gan_minimax"))
    G, D = BatchedGenerator(S, 4, (8,), seed=0), BatchedDiscriminator(S, 2, (8,), seed=1)
    real = RING8.sample(16, "cpu", seed=0, seeds=S)
    fake0 = G(G.sample_noise(16, "cpu")).detach()
    seps = [D.net.seed_module(s) for s in range(S)]
    opt = torch.optim.Adam(D.parameters(), lr=1e-2, betas=(0.5, 0.999))
    opt.zero_grad()
    obj.d_cost(D(real), D(fake0)).backward()
    opt.step()
    fake = G(G.sample_noise(16, "cpu")).detach().requires_grad_(True)
    ahead = AdamLookahead(opt, list(D.parameters()))
    (got,) = torch.autograd.grad(unrolled_generator_cost(D, obj.d_cost, real, fake, 3, ahead), fake)
    one = objectives.get("gan_minimax").d_cost
    for s, Ds in enumerate(seps):
        o = torch.optim.Adam(Ds.parameters(), lr=1e-2, betas=(0.5, 0.999))
        one(Ds(real[:, s]).squeeze(1), Ds(fake0[:, s]).squeeze(1)).backward()
        o.step()
        f = fake[:, s].detach().requires_grad_(True)

        def cost_s(r, x, Ds=Ds):
            return one(r.squeeze(1), x.squeeze(1))

        c = unrolled_generator_cost(
            Ds, cost_s, real[:, s], f, 3, AdamLookahead(o, list(Ds.parameters()))
        )
        (want,) = torch.autograd.grad(c, f)
        assert torch.allclose(got[:, s], want, atol=1e-6)


def test_unrolling_leaves_the_real_d_update_an_ordinary_adam_step():
    """One stabilised step of the unrolled GAN moves D exactly as the plain GAN's step does (same
    noise) and leaves D's Adam state as that step left it; only G's update differs."""

    def step(name: str) -> GAN:
        obj = batched(objectives.get(name).tuned(unroll_steps=3))
        G, D = BatchedGenerator(2, 4, (8,), seed=0), BatchedDiscriminator(2, 2, (8,), seed=1)
        gan = GAN(G, D, *obj.optimisers(G, D))
        torch.manual_seed(0)
        stabilised_step(gan, RING8.sample(16, "cpu", 0, seeds=2), obj, (HistoricalAverage(),) * 2)
        return gan

    unrolled, plain = step("unrolled_gan"), step("minibatch_discrimination")  # plain D here
    d_pairs = zip(
        unrolled.discriminator.parameters(), plain.discriminator.parameters(), strict=True
    )
    for a, b in d_pairs:
        assert torch.equal(a, b)
        sa, sb = unrolled.opt_d.state[a], plain.opt_d.state[b]
        assert all(torch.equal(sa[k], sb[k]) for k in ("exp_avg", "exp_avg_sq", "step"))
    g_moved = [
        not torch.equal(a, b)
        for a, b in zip(unrolled.generator.parameters(), plain.generator.parameters(), strict=True)
    ]
    assert any(g_moved)


def test_unrolled_entry_unrolls_ds_adam_with_the_papers_k():
    st = objectives.get("unrolled_gan").stabiliser
    assert (st.unroll_steps, st.unroll_optimiser) == (10, "adam")
    assert objectives.get("unrolled_gan").tuned(unroll_steps=5).stabiliser.unroll_steps == 5
    D, _ = _warm_d()
    with pytest.raises(TypeError, match="Adam"):
        AdamLookahead(torch.optim.SGD(D.parameters(), lr=0.1), list(D.parameters()))


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
