"""The objective registry: each entry's costs against closed forms, and a variant added from
outside (least squares GAN) training through the same code paths as the book's GANs."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from replication.chapters.recipe2014 import build_gan
from replication.datasets.toy import gaussian_real
from replication.nets.toy import Mlp, ShiftedGaussian
from replication.training import objectives
from replication.training.fit_critic import CriticFit, fit_critic
from replication.training.loop import train
from replication.training.objectives import (
    ClipWeights,
    CriticSchedule,
    GradientPenalty,
    Objective,
    Optimiser,
    UnknownObjective,
)
from replication.training.optim import ClassicMomentumSGD
from replication.training.state import GAN

CPU = torch.device("cpu")
REAL = torch.tensor([-2.0, 0.0, 0.5, 3.0])  # logits / critic values of real rows
FAKE = torch.tensor([-4.0, -1.0, 1.0])  # of fake rows (another count: means are per set)


def _d(logits: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(logits.double())


# -- the book's entries against closed forms ------------------------------------------------------
def test_the_book_has_its_variants():
    assert {"gan2014_minimax", "gan2014_nonsaturating", "gan", "wgan", "wgan_gp"} <= set(
        objectives.names()
    )


@pytest.mark.parametrize("name", ["gan2014_minimax", "gan2014_nonsaturating", "gan"])
def test_gan_discriminator_cost_is_the_binary_cross_entropy(name):
    expected = -0.5 * torch.log(_d(REAL)).mean() - 0.5 * torch.log1p(-_d(FAKE)).mean()
    got = objectives.get(name).d_cost(REAL, FAKE)
    assert float(got) == pytest.approx(float(expected), rel=1e-6)


@pytest.mark.parametrize(
    ("name", "closed_form"),
    [
        ("gan2014_minimax", lambda d: 0.5 * torch.log1p(-d).mean()),
        ("gan2014_nonsaturating", lambda d: -0.5 * torch.log(d).mean()),
        ("gan2014_max_likelihood", lambda d: -0.5 * (d / (1 - d)).mean()),
        ("gan", lambda d: -0.5 * torch.log(d).mean()),
    ],
)
def test_gan_generator_costs_are_the_tutorials(name, closed_form):
    obj = objectives.get(name)
    assert float(obj.g_cost(FAKE)) == pytest.approx(float(closed_form(_d(FAKE))), rel=1e-6)


def test_the_2014_entries_are_the_2014_code():
    for cost in ("minimax", "nonsaturating", "max_likelihood"):
        obj = objectives.get(f"gan2014_{cost}")
        assert obj.update == "simultaneous" and obj.g_cost_scale == 2.0  # AdversaryCost2, no 1/2
        assert obj.constraint is None and obj.penalty is None
        assert obj.optimiser.kind is ClassicMomentumSGD
    assert objectives.get("gan2014_minimax").tuned(g_cost_scale=1.0).g_cost_scale == 1.0


@pytest.mark.parametrize("name", ["wgan", "wgan_gp"])
def test_critic_costs_are_the_wasserstein_dual(name):
    obj = objectives.get(name)
    assert float(obj.d_cost(REAL, FAKE)) == pytest.approx(float(FAKE.mean() - REAL.mean()))
    assert float(obj.g_cost(FAKE)) == pytest.approx(float(-FAKE.mean()))
    assert float(obj.divergence(REAL, FAKE)) == pytest.approx(float(REAL.mean() - FAKE.mean()))


def test_js_divergence_of_an_undecided_discriminator_is_zero():
    """D = 1/2 everywhere (logits 0): J(D) = log 2, so the JSD estimate log 2 - J(D) is 0."""
    zeros = torch.zeros(5)
    assert float(objectives.get("gan").divergence(zeros, zeros)) == pytest.approx(0.0, abs=1e-7)
    big = torch.full((5,), 30.0)  # D sure of both sets: JSD = log 2
    assert float(objectives.get("gan").divergence(big, -big)) == pytest.approx(math.log(2))


def test_recipes_and_optimisers_are_those_the_chapters_trained_with():
    gan, wgan, gp = (objectives.get(n) for n in ("gan", "wgan", "wgan_gp"))
    assert gan.update == wgan.update == gp.update == "alternating"
    assert gan.n_critic == CriticSchedule(1) and gan.constraint is None and gan.penalty is None
    assert (gan.optimiser.kind, gan.optimiser.lr) == (torch.optim.Adam, 2e-4)
    assert dict(gan.optimiser.options) == {"betas": (0.5, 0.999)}
    assert wgan.n_critic == CriticSchedule(5, 25, 100, 500) and wgan.constraint == ClipWeights(0.01)
    assert (wgan.optimiser.kind, wgan.optimiser.lr, wgan.optimiser.options) == (
        torch.optim.RMSprop,
        5e-5,
        (),
    )
    assert gp.n_critic == CriticSchedule(5) and gp.penalty == GradientPenalty(10.0)
    assert (gp.optimiser.kind, gp.optimiser.lr) == (torch.optim.Adam, 1e-4)
    assert dict(gp.optimiser.options) == {"betas": (0.0, 0.9)}


def test_tuning_sets_only_the_hyperparameters_an_objective_has():
    hyper = {"clip": 0.05, "gp_weight": 3.0, "n_critic": 2, "warmup_critic": 7}
    wgan = objectives.get("wgan").tuned(**hyper)
    assert wgan.constraint == ClipWeights(0.05) and wgan.n_critic == CriticSchedule(2, 25, 7, 500)
    gp = objectives.get("wgan_gp").tuned(**hyper)
    assert gp.penalty == GradientPenalty(3.0) and gp.n_critic == CriticSchedule(2)
    assert objectives.get("gan").tuned(**hyper) == objectives.get("gan")
    assert objectives.get("wgan").constraint == ClipWeights(0.01)  # the entry is unchanged
    with pytest.raises(KeyError, match="clipp"):
        objectives.get("wgan").tuned(clipp=0.1)


def test_an_unknown_name_is_a_clear_error():
    with pytest.raises(UnknownObjective, match=r"unknown objective 'lsgan2'; known: .*wgan_gp"):
        objectives.get("lsgan2")
    with pytest.raises(UnknownObjective, match="lsgan2"):
        CriticFit("lsgan2")  # before any compute
    with pytest.raises(ValueError, match="already registered"):
        objectives.register(objectives.get("wgan"))


# -- a variant from outside: least squares GAN (Mao et al. 2017) ---------------------------------
def ls_discriminator(real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    """1/2 E (D(x) - 1)^2 + 1/2 E D(G(z))^2."""
    return 0.5 * ((real_out - 1) ** 2).mean() + 0.5 * (fake_out**2).mean()


def ls_generator(fake_out: torch.Tensor) -> torch.Tensor:
    """1/2 E (D(G(z)) - 1)^2."""
    return 0.5 * ((fake_out - 1) ** 2).mean()


LSGAN = Objective(
    name="lsgan",
    label="LSGAN",
    d_cost=ls_discriminator,
    g_cost=ls_generator,
    update="alternating",
    optimiser=Optimiser(torch.optim.Adam, 1e-3, (("betas", (0.5, 0.999)),), "test"),
    source="Mao et al. 2017, Eq. 9 (a = 0, b = c = 1)",
)


@pytest.fixture
def lsgan():
    assert "lsgan" not in objectives.names()  # nothing else in the package knows it
    objectives.register(LSGAN)
    yield objectives.get("lsgan")
    objectives.unregister("lsgan")


def _params(*modules: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for m in modules for p in m.parameters()]


def _moved(before: list[torch.Tensor], *modules: torch.nn.Module) -> bool:
    after = [p.detach() for m in modules for p in m.parameters()]
    return all(not torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_lsgan_costs_against_closed_forms(lsgan):
    r, f = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])
    assert float(lsgan.d_cost(r, f)) == pytest.approx(0.5 * 0.5 + 0.5 * 2.0)
    assert float(lsgan.g_cost(f)) == pytest.approx(0.5 * 1.0)
    assert float(lsgan.d_cost(torch.ones(3), torch.zeros(3))) == 0.0  # D's optimum a = 0, b = 1


def test_lsgan_trains_a_toy_generator_and_critic_in_the_one_loop(lsgan):
    real = gaussian_real(512, -1.0, 0.5, CPU, seed=0)
    torch.manual_seed(0)
    G, D = ShiftedGaussian(1.0, 0.5), Mlp(1, 16, 1)
    gan = GAN(G, D, *lsgan.optimisers(G, D))
    before = _params(G, D)
    train(gan, real, lsgan, epochs=2, batch_size=64, progress=False)
    assert gan.g_step == gan.step == 16 and _moved(before, G, D)
    assert all(math.isfinite(v) for r in gan.history for v in (r["d_loss"], r["g_loss"]))
    # the toy fit of a D alone against a frozen G, as the WGAN chapter fits its critics
    torch.manual_seed(0)
    init = _params(Mlp(1, 16, 1))
    D = fit_critic(CriticFit("lsgan", epochs=2, batch_size=64, hidden=16, depth=1), real, G)
    assert _moved(init, D) and float(G.mean.detach()) == float(gan.generator.mean.detach())


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_lsgan_trains_the_2014_nets_on_mnist_shaped_data(lsgan, tiny_cfg, tiny_data, update):
    gan = build_gan(tiny_cfg(), tiny_data, CPU)  # the 2014 nets at tiny width; D outputs raw
    before = _params(gan.generator, gan.discriminator)
    train(gan, tiny_data, replace(lsgan, update=update), epochs=2, batch_size=50, progress=False)
    assert gan.g_step == 8 and _moved(before, gan.generator, gan.discriminator)
    assert all(math.isfinite(r["d_loss"]) and math.isfinite(r["g_loss"]) for r in gan.history)
    flat = torch.rand(300, 784, generator=torch.Generator().manual_seed(1))  # MNIST's width
    wide = build_gan(tiny_cfg(), flat, CPU)
    before = _params(wide.generator, wide.discriminator)
    train(wide, flat, lsgan, epochs=1, batch_size=100, progress=False)
    assert wide.g_step == 3 and _moved(before, wide.generator, wide.discriminator)
