"""WGAN vs JS: closed forms against independent computations, the critic losses, the gradient
penalty, the alternating update rule in the one loop, and optimal-discriminator estimates."""

from __future__ import annotations

import math
import types
from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy.optimize import linprog
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy

from replication.chapters.wgan_vs_js import WganVsJsConfig, build, objective_for
from replication.config import ConfigError
from replication.datasets.toy import lines_real
from replication.metrics.divergences import parallel_lines, parallel_lines_grad
from replication.nets.toy import LineGenerator, Mlp
from replication.training import objectives
from replication.training.fit_critic import CriticFit, estimate, fit_critic
from replication.training.loop import train
from replication.training.losses import (
    critic_wasserstein,
    discriminator_bce,
    generator_nonsaturating,
    generator_wasserstein,
    gradient_penalty,
)
from replication.training.objectives import CriticSchedule, clip_weights_
from replication.training.state import GAN

CPU = torch.device("cpu")


# -- closed forms on the parallel lines, against independent discrete computations --------------
def _discretised(theta: float, m: int = 8):
    """P0 and P_theta as m equal atoms each on their segments; points and weights."""
    y = (np.arange(m) + 0.5) / m
    p0 = np.stack([np.zeros(m), y], axis=1)
    pt = np.stack([np.full(m, theta), y], axis=1)
    return p0, pt


def _w1_lp(a: np.ndarray, b: np.ndarray) -> float:
    """Earth mover distance between two uniform point clouds by linear programming."""
    m = len(a)
    cost = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2).ravel()
    rows = [np.kron(np.eye(m)[i], np.ones(m)) for i in range(m)]
    cols = [np.kron(np.ones(m), np.eye(m)[j]) for j in range(m)]
    res = linprog(cost, A_eq=np.array(rows + cols), b_eq=np.full(2 * m, 1 / m), bounds=(0, None))
    return float(res.fun)


@pytest.mark.parametrize("theta", [-0.7, -0.1, 0.0, 0.3, 1.0])
def test_parallel_lines_closed_forms_match_independent_computations(theta):
    cf = parallel_lines(theta)
    p0, pt = _discretised(theta)
    assert float(cf["w1"]) == pytest.approx(_w1_lp(p0, pt), abs=1e-9)
    # JS, KL, TV on the union of atoms: disjoint for theta != 0, identical for theta == 0
    atoms = {tuple(x) for x in np.concatenate([p0, pt])}
    order = sorted(atoms)
    p = np.array([1 / 8 if a in {tuple(x) for x in p0} else 0 for a in order])
    q = np.array([1 / 8 if a in {tuple(x) for x in pt} else 0 for a in order])
    p, q = p / p.sum(), q / q.sum()
    assert float(cf["js"]) == pytest.approx(jensenshannon(p, q) ** 2, abs=1e-12)
    assert float(cf["kl"]) == entropy(p, q)
    assert float(cf["kl_reverse"]) == entropy(q, p)
    assert float(cf["tv"]) == pytest.approx(0.5 * np.abs(p - q).sum(), abs=1e-12)


def test_parallel_lines_gradients():
    g = parallel_lines_grad(np.array([-0.5, 0.25]))
    np.testing.assert_array_equal(g["w1"], [-1, 1])
    np.testing.assert_array_equal(g["js"], [0, 0])


# -- losses ----------------------------------------------------------------------------------------
def test_critic_losses_are_the_wasserstein_dual():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-1.0, 0.0])
    assert float(critic_wasserstein(real, fake)) == pytest.approx(-0.5 - 2.0)
    assert float(generator_wasserstein(fake)) == pytest.approx(0.5)


def test_gradient_penalty_matches_a_direct_per_sample_autograd_computation():
    torch.manual_seed(0)
    critic = Mlp(5, hidden=7, depth=2)
    real, fake = torch.randn(6, 5), torch.randn(6, 5)
    torch.manual_seed(42)
    gp = gradient_penalty(critic, real, fake, weight=3.0)
    torch.manual_seed(42)
    eps = torch.rand(6, 1)  # the same draw the penalty makes
    direct = []
    for i in range(6):
        x = (eps[i] * real[i] + (1 - eps[i]) * fake[i]).unsqueeze(0).requires_grad_(True)
        (g,) = torch.autograd.grad(critic(x).sum(), x)
        direct.append((g.norm() - 1) ** 2)
    assert float(gp.detach()) == pytest.approx(3.0 * float(torch.stack(direct).mean()), rel=1e-6)
    # differentiable w.r.t. the critic's weights (it is minimised with them)
    grads = torch.autograd.grad(gp, list(critic.parameters()), allow_unused=True)
    grads = [g for g in grads if g is not None]  # the output bias does not move the slope
    assert all(torch.isfinite(g).all() for g in grads) and any(g.abs().sum() > 0 for g in grads)


def test_gradient_penalty_is_zero_for_a_unit_slope_linear_critic():
    lin = torch.nn.Linear(4, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.6, 0.8, 0.0, 0.0]]))

    def critic(x):
        return lin(x).squeeze(1)

    assert float(gradient_penalty(critic, torch.randn(8, 4), torch.randn(8, 4)).detach()) < 1e-10


def test_clip_weights_clamps_every_parameter():
    m = Mlp(3)
    clip_weights_(m, 0.01)
    assert all(float(p.detach().abs().max()) <= 0.01 for p in m.parameters())


def test_wgan_critic_schedule_follows_the_released_code():
    rule = objectives.get("wgan").n_critic
    assert [rule(g) for g in (0, 24, 25, 499, 500, 501, 1000)] == [100, 100, 5, 5, 100, 5, 100]
    assert CriticSchedule(3)(7) == 3


# -- each loss lowers its own objective in the one loop ------------------------------------------
@pytest.mark.parametrize("kind", ["gan", "wgan", "wgan_gp"])
def test_a_few_critic_steps_lower_the_critics_own_objective(kind):
    real = lines_real(512, CPU, 0)
    G = LineGenerator(0.5)
    fixed_fake = G(G.sample_noise(512, CPU, torch.Generator().manual_seed(3))).detach()
    d_cost = discriminator_bce if kind == "gan" else critic_wasserstein

    def objective(D):
        value = d_cost(D(real), D(fixed_fake))
        if kind == "wgan_gp":  # its objective includes the penalty (at fixed random points)
            torch.manual_seed(7)
            value = value + gradient_penalty(D, real, fixed_fake)
        return float(value.detach())

    torch.manual_seed(0)
    before = objective(Mlp(2, 128, 2))  # fit_critic starts from this same seeded init
    D = fit_critic(CriticFit(kind, epochs=3, batch_size=64, lr=1e-3), real, G, seed=0)
    assert objective(D) < before - 1e-4
    if kind == "wgan":
        assert all(float(p.detach().abs().max()) <= 0.01 + 1e-9 for p in D.parameters())


@pytest.mark.parametrize(
    ("g_cost", "d_cost"),
    [(generator_nonsaturating, discriminator_bce), (generator_wasserstein, critic_wasserstein)],
)
def test_generator_steps_lower_the_generators_own_objective(g_cost, d_cost):
    torch.manual_seed(0)
    real = lines_real(256, CPU, 0)
    G = LineGenerator(0.8)
    D = Mlp(2, 32, 1)
    z = G.sample_noise(256, CPU, torch.Generator().manual_seed(1))
    before = float(g_cost(D(G(z))).detach())
    gan = GAN(G, D, torch.optim.SGD(G.parameters(), lr=0.05), torch.optim.SGD(D.parameters(), 0))
    one_to_one = replace(objectives.get("gan"), g_cost=g_cost, d_cost=d_cost)  # n_critic = 1
    train(gan, real, one_to_one, epochs=2, batch_size=64, progress=False)
    assert gan.g_step == 8 and float(g_cost(D(G(z))).detach()) < before


# -- optimal discriminators against known divergences ----------------------------------------------
def test_optimal_discriminator_js_estimate_matches_closed_form():
    """U[0, 1] vs U[0.5, 1.5]: JSD = ½ log 2 exactly (the mixture is 1 on the overlap, ½
    elsewhere). Tolerance 0.02 nats: the estimate is a lower bound reached up to D's fit."""
    gen = torch.Generator().manual_seed(0)
    real = torch.rand(4096, 1, generator=gen)

    class Shifted(LineGenerator):
        def forward(self, z):
            return z + self.theta

    G = Shifted(0.5)
    D = fit_critic(CriticFit("gan", epochs=120, lr=3e-3, hidden=128), real, G, seed=0)
    held = torch.rand(16384, 1, generator=gen)
    value, grads = estimate("gan", D, held, G)
    assert value == pytest.approx(0.5 * math.log(2), abs=0.02)


def test_parallel_lines_estimates_jsd_flat_and_w1_linear():
    real, held = lines_real(4096, CPU, 0), lines_real(8192, CPU, 1)
    G = LineGenerator(0.5)
    js, js_grad = estimate("gan", fit_critic(CriticFit("gan", epochs=40), real, G), held, G)
    assert js == pytest.approx(math.log(2), abs=0.01) and abs(js_grad["theta"]) < 0.05
    D = fit_critic(CriticFit("wgan_gp", epochs=120, lr=3e-4), real, G)
    w, w_grad = estimate("wgan_gp", D, held, G)
    assert w == pytest.approx(0.5, abs=0.1) and w_grad["theta"] == pytest.approx(1.0, abs=0.15)


# -- the alternating rule in the one loop: rounds, trace, resume ---------------------------------
def _tiny_wgan_cfg(**kw):
    values = dict(dim=4, noise_dim=8, batch_size=16, g_iters=6, eval_every=3, warmup_critic=3)
    values.update(kw)
    return WganVsJsConfig.for_profile("quick", device="cpu", **values)


def _run(cfg, loss, data, ckpt, epochs):
    gan = build(cfg, loss, "dcgan", CPU)
    return train(
        gan,
        data,
        objective_for(cfg, loss),
        epochs=epochs,
        batch_size=cfg.batch_size,
        round_g_iters=cfg.eval_every,
        trace=True,
        checkpoint_dir=ckpt,
        fingerprint={"loss": loss},
        progress=False,
    )


@pytest.mark.parametrize("loss", ["gan", "wgan", "wgan_gp"])
def test_rounds_count_generator_iterations_and_resume_exactly(loss, tmp_path):
    cfg = _tiny_wgan_cfg()
    data = torch.rand(100, 784, generator=torch.Generator().manual_seed(0))
    full = _run(cfg, loss, data, tmp_path / "A", epochs=2)
    assert full.g_step == 6 and [r["g_step"] for r in full.history] == [3, 6]
    assert [t["g_step"] for t in full.trace] == list(range(1, 7))
    critic_steps = {"gan": 6, "wgan": 3 * 6, "wgan_gp": 5 * 6}[loss]  # warm-up 3 for WGAN
    assert full.step == critic_steps
    _run(cfg, loss, data, tmp_path / "B", epochs=1)
    torch.manual_seed(123)
    resumed = _run(cfg, loss, data, tmp_path / "B", epochs=2)
    for a, b in zip(
        full.generator.state_dict().values(), resumed.generator.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)
    assert resumed.trace == full.trace


def test_config_rejects_bad_values_before_compute():
    with pytest.raises(ConfigError, match="theta_grid_size"):
        WganVsJsConfig.for_profile("quick", theta_grid_size=10)
    with pytest.raises(ConfigError, match="multiple of eval_every"):
        WganVsJsConfig.for_profile("quick", g_iters=101, eval_every=50)
    with pytest.raises(ConfigError, match="generator"):
        WganVsJsConfig.for_profile("quick", generator="resnet")


def test_spread_is_zero_for_one_repeated_image_and_grid_diversity_is_relative(tmp_path):
    from replication.chapters.wgan_vs_js import grid_diversity
    from replication.metrics.curves import spread

    one = torch.rand(1, 784).repeat(64, 1)
    assert spread(one) == pytest.approx(0.0, abs=1e-9)
    x = torch.rand(64, 784)
    torch.save(x, tmp_path / "samples_0000500.pt")
    torch.save(one, tmp_path / "samples_0001000.pt")
    d = grid_diversity(tmp_path, [500, 1000, 1500], spread(x))
    assert d[0] == pytest.approx(1.0) and d[1] == pytest.approx(0.0, abs=1e-9)
    assert np.isnan(d[2])  # no grid saved: unknown, not zero


def test_zero_budget_evaluates_without_training(tmp_path):
    from replication.chapters.wgan_vs_js import MnistRuns, progress_table, train_runs

    cfg = WganVsJsConfig.for_profile("quick", time_budget_minutes=0, device="cpu")
    assert not cfg.differs_from_profile()  # a budget does not make a run custom
    mnist = types.SimpleNamespace(train=torch.rand(256, 784), valid=torch.rand(64, 784))
    runs = train_runs(cfg, mnist, scorer=None, ckpt_root=tmp_path, progress=False)
    assert isinstance(runs, MnistRuns) and runs.tables == {} and runs.main == []
    table = progress_table(runs, cfg)
    assert list(table["generator iterations"]) == [0] * len(table)
    assert not table.complete.any()
    # nothing trained: the tables and summary are empty, not an error
    from replication.chapters.wgan_vs_js import final_scores, summary_metrics
    from replication.metrics.curves import correlations

    real = {"quality": 100.0, "fid": 16.0, "classifier_score": 9.5, "effective_classes": 9.9}
    final = final_scores({}, real)
    summary = summary_metrics(cfg, correlations({}), final, 0.99)
    assert summary["corr_wgan_loss_vs_fid"] is None and summary["final_fid"] == {}
    assert summary["real_images_scores"]["FID"] == 16.0


def test_train_command_selects_runs_and_refuses_unknown_ones_before_loading_data(tmp_path, capsys):
    from replication.__main__ import main
    from replication.chapters.wgan_vs_js import train_runs

    args = ["train", "wgan_vs_js", "--profile", "quick", "--results-dir", str(tmp_path)]
    args += ["-p", "data_dir", str(tmp_path / "no-mnist-here")]
    assert main([*args, "--runs", "gan-dcgan,nope"]) == 2  # the run name, not the data, fails
    assert "unknown run(s) ['nope']" in capsys.readouterr().err
    assert main(["train", "parzen_mnist", "--runs", "gan-dcgan"]) == 2
    cfg = WganVsJsConfig.for_profile("quick", time_budget_minutes=0, device="cpu")
    mnist = types.SimpleNamespace(train=torch.rand(256, 784), valid=torch.rand(64, 784))
    runs = train_runs(cfg, mnist, None, tmp_path, progress=False, only=["wgan-mlp"])
    assert list(runs.gans) == ["wgan-mlp"]
