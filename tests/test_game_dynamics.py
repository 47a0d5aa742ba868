"""The game chapter's closed forms against independent ones, the Dirac-GAN simulator against them,
and the consensus update rule of the one loop against the simulator."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from replication.metrics import game
from replication.training import objectives
from replication.training.dirac import DiracGame, growth_per_step, trajectories
from replication.training.loop import train
from replication.training.state import GAN


# -- Theorem 1 on the line --------------------------------------------------------------------
def test_optimal_discriminator_of_equal_variance_gaussians_is_logistic():
    """Two Gaussians of one variance: log p_d/p_g is linear in x, so D* is a sigmoid of it."""
    x = np.linspace(-6, 6, 101)
    pd_, pg = game.Mixture1D((1.0,), (1.0,), (1.5,)), game.Mixture1D((1.0,), (-0.5,), (1.5,))
    d = game.optimal_discriminator(pd_.pdf(x), pg.pdf(x))
    s2 = 1.5**2
    logit = (1.0 - (-0.5)) / s2 * x - (1.0**2 - 0.5**2) / (2 * s2)
    np.testing.assert_allclose(d, 1 / (1 + np.exp(-logit)), rtol=1e-10)


def test_jsd_of_shifted_uniforms_is_shift_times_log2():
    """U[0,1] against U[a, 1+a]: the overlap contributes 0, each part alone a/2 log 2 twice."""
    x = np.linspace(-1, 3, 400_001)
    for a in (0.0, 0.25, 0.6, 1.0, 1.5):
        p = ((x >= 0) & (x <= 1)).astype(float)
        q = ((x >= a) & (x <= 1 + a)).astype(float)
        assert game.jsd(p, q, x) == pytest.approx(min(a, 1.0) * math.log(2), abs=2e-4)


def test_c_of_g_is_v_at_d_star_and_minus_log4_at_p_data():
    """Theorem 1 two ways: -log 4 + 2 JSD equals V(D*, G) integrated directly."""
    pd_ = game.Mixture1D((0.5, 0.5), (-2.0, 2.0), (0.5, 0.5))
    x = np.linspace(-10, 10, 40_001)
    for pg in (
        game.Mixture1D((1.0,), (0.0,), (1.0,)),
        game.Mixture1D((0.3, 0.7), (-1, 3), (1, 0.4)),
    ):
        a, b = pd_.pdf(x), pg.pdf(x)
        assert game.c_of_g(a, b, x) == pytest.approx(
            game.value(a, b, game.optimal_discriminator(a, b), x), abs=1e-7
        )
        assert game.c_of_g(a, b, x) > -game.LOG4
    a = pd_.pdf(x)
    assert game.c_of_g(a, a, x) == pytest.approx(-game.LOG4, abs=1e-9)


def test_mixture_rejects_bad_weights():
    with pytest.raises(ValueError, match="sum to 1"):
        game.Mixture1D((0.5, 0.6), (0, 1), (1, 1))


# -- Dirac-GAN closed forms ---------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["gan", "nsgan", "wgan_clip"])
def test_dirac_jacobian_at_equilibrium_has_eigenvalues_plus_minus_i_fprime0(variant):
    g = DiracGame(variant, clip=10.0)
    a = game.F_PRIME_0[g.kind]

    def field(z: torch.Tensor) -> torch.Tensor:
        return torch.stack(g.field(z[:1], z[1:])).squeeze(1)

    jac = torch.autograd.functional.jacobian(field, torch.zeros(2, dtype=torch.float64))
    eig = np.sort_complex(np.linalg.eigvals(jac.numpy()))
    np.testing.assert_allclose(eig, np.sort_complex(game.jacobian_eigenvalues(a)), atol=1e-12)


def test_consensus_jacobian_has_the_closed_form_eigenvalues():
    g = DiracGame("consensus", consensus_weight=0.7)

    def field(z: torch.Tensor) -> torch.Tensor:
        return torch.stack(g.field(z[:1], z[1:])).squeeze(1)

    jac = torch.autograd.functional.jacobian(field, torch.zeros(2, dtype=torch.float64))
    eig = np.sort_complex(np.linalg.eigvals(jac.numpy()))
    closed = np.sort_complex(game.consensus_eigenvalues(0.5, 0.7))
    np.testing.assert_allclose(eig, closed, atol=1e-6)
    assert (closed.real < 0).all()


def test_linear_step_matrices_have_the_closed_form_radii():
    h, a = 0.3, 0.5
    sim = np.eye(2) + h * np.array([[0, -a], [a, 0]])
    assert np.abs(np.linalg.eigvals(sim)).max() == pytest.approx(game.simultaneous_growth(h, a))
    assert game.alternating_growth(h, a) == pytest.approx(1.0, abs=1e-12)
    assert game.alternating_growth(5.0, a) > 1.0  # h a > 2: alternating steps diverge too
    jw = np.array([[0, -a], [a, 0]]) - 0.7 * a * a * np.eye(2)
    rad = np.abs(np.linalg.eigvals(np.eye(2) + h * jw)).max()
    assert rad == pytest.approx(game.consensus_growth(h, a, 0.7)) and rad < 1


def test_dirac_trajectories_match_the_closed_form_rates():
    """Batched: 16 starting points near (0, 0), each with its own angle."""
    ang = torch.linspace(0, 2 * math.pi, 17, dtype=torch.float64)[:-1]
    t0, p0 = 1e-3 * torch.cos(ang), 1e-3 * torch.sin(ang)
    h = 0.2
    sim = growth_per_step(trajectories(DiracGame("gan"), t0, p0, h, 200, "simultaneous"))
    np.testing.assert_allclose(sim.numpy(), game.simultaneous_growth(h, 0.5), rtol=1e-6)
    wgan = growth_per_step(
        trajectories(DiracGame("wgan_clip", clip=1.0), t0, p0, h, 200, "simultaneous")
    )
    np.testing.assert_allclose(wgan.numpy(), game.simultaneous_growth(h, 1.0), rtol=1e-12)
    alt = trajectories(DiracGame("gan"), t0, p0, h, 2000, "alternating").norm(dim=1)
    assert (alt.max(0).values < 1.2e-3).all() and (alt.min(0).values > 0.8e-3).all()  # bounded
    con = growth_per_step(
        trajectories(DiracGame("consensus", consensus_weight=1.0), t0, p0, h, 200, "simultaneous")
    )
    np.testing.assert_allclose(con.numpy(), game.consensus_growth(h, 0.5, 1.0), rtol=1e-3)


def test_dirac_rejects_unknown_variant_and_rule():
    with pytest.raises(ValueError, match="variant"):
        DiracGame("lsgan")
    with pytest.raises(ValueError, match="rule"):
        trajectories(DiracGame("gan"), torch.ones(1), torch.ones(1), 0.1, 1, "sideways")


# -- consensus through the one loop ---------------------------------------------------------------
class _DiracG(nn.Module):
    """G = delta_theta."""

    def __init__(self, theta: float) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.tensor([theta], dtype=torch.float64))

    def sample_noise(self, n, device, generator=None):
        return torch.zeros(n, 1, dtype=torch.float64, device=device)

    def forward(self, z):
        return z + self.theta


class _DiracD(nn.Module):
    """Logit(real) = psi x: the sign of psi is the opposite of Mescheder et al.'s."""

    def __init__(self, psi: float) -> None:
        super().__init__()
        self.psi = nn.Parameter(torch.tensor([psi], dtype=torch.float64))

    def forward(self, x):
        return (x * self.psi).squeeze(1)


def test_consensus_update_rule_in_the_loop_follows_the_dirac_simulator():
    """The loop's consensus rule with plain SGD on the Dirac-GAN: the project's costs are the
    authors' losses with psi -> -psi, so gradient steps of size lr follow the simulator's
    field with step lr (unhalved costs) and the same gamma."""
    gamma, lr, steps = 0.8, 0.1, 25
    obj = objectives.get("gan_consensus").tuned(consensus_weight=gamma)
    obj = objectives.replace(obj, g_cost=objectives.GENERATOR_COSTS["minimax"])
    G, D = _DiracG(1.0), _DiracD(-0.5)
    gan = GAN(G, D, torch.optim.SGD(G.parameters(), lr=lr), torch.optim.SGD(D.parameters(), lr=lr))
    train(
        gan, torch.zeros(4, 1, dtype=torch.float64), obj, epochs=steps, batch_size=4, progress=False
    )
    path = trajectories(
        DiracGame("consensus", consensus_weight=gamma),
        torch.tensor([1.0], dtype=torch.float64),
        torch.tensor([0.5], dtype=torch.float64),
        lr,
        steps,
        "simultaneous",
    )
    assert float(G.theta.detach()) == pytest.approx(float(path[-1, 0, 0]), rel=1e-9)
    assert -float(D.psi.detach()) == pytest.approx(float(path[-1, 1, 0]), rel=1e-9)


def test_consensus_weight_needs_the_consensus_rule():
    with pytest.raises(ValueError, match="consensus"):
        objectives.replace(objectives.get("gan"), consensus_weight=1.0)


# -- the chapter end to end, tiny ----------------------------------------------------------------
TINY_GAME = {
    "theorem_generators": 2,
    "theorem_seeds": 2,
    "d_points": 512,
    "d_epochs": 1,
    "d_batch": 128,
    "grid_points": 501,
    "dirac_steps": 20,
    "dirac_starts": 2,
    "dirac_plot_steps": 10,
    "ring_seeds": 2,
    "ring_g_steps": 4,
    "ring_eval_every": 2,
    "ring_points": 1024,
    "ring_batch": 64,
    "k_values": "1,2",
}


def test_chapter_config_refuses_bad_k_and_budgets():
    from replication.chapters.game_dynamics import GameDynamicsConfig
    from replication.config import ConfigError

    with pytest.raises(ConfigError, match="k_values"):
        GameDynamicsConfig.for_profile("quick", k_values="1,zero")
    with pytest.raises(ConfigError, match="multiple"):
        GameDynamicsConfig.for_profile("quick", ring_g_steps=501)


def test_notebook_runs_and_writes_the_summary_keys(tmp_path):
    """The notebook with a tiny budget: every summary key the issue asks for, finite closed
    forms, and the two ring comparisons per method with their seed counts."""
    import json

    from replication.publish import execute as notebooks

    notebooks.execute(
        "game_dynamics", "quick", TINY_GAME, results_dir=tmp_path, run_name="t", progress=False
    )
    s = json.loads((tmp_path / "game_dynamics" / "t" / "summary.json").read_text())
    for key in (
        "optimal_d_max_abs_err",
        "c_of_g_max_abs_err",
        "dirac_simultaneous_growth_per_step",
        "dirac_simultaneous_growth_closed_form",
        "dirac_consensus_converges",
        "k_ablation",
        "consensus_vs_simultaneous",
        "profile",
        "device",
        "git_commit",
    ):
        assert key in s, key
    assert s["dirac_simultaneous_growth_closed_form"] == pytest.approx(
        math.sqrt(1 + 0.05**2)
    )  # h a

    assert set(s["k_ablation"]) == {"simultaneous", "alternating_k1", "alternating_k2"}
    assert all(r["seeds"] == 2 for r in s["consensus_vs_simultaneous"].values())
    assert s["c_of_g_at_p_data"] == pytest.approx(-math.log(4), abs=1e-6)


def test_ring_verdict_needs_all_modes_in_most_seeds_for_convergence():
    from replication.report import results_table as rt

    def r(modes: float, all8: int) -> dict:
        return {"modes_mean": modes, "all_8_modes": all8, "seeds": 5}

    con = {"consensus": r(8, 4), "simultaneous": r(3, 0), "alternating_k1": r(2, 1)}
    assert rt._ring_verdict(con) == rt.REPRODUCED
    con["consensus"] = r(5, 1)
    assert rt._ring_verdict(con).startswith(rt.PARTLY)
    con["consensus"] = r(2, 0)
    assert rt._ring_verdict(con) == rt.NOT_REPRODUCED
    con["consensus"], con["simultaneous"] = r(8, 5), r(8, 3)  # simultaneous converges too
    assert rt._ring_verdict(con) == rt.NOT_REPRODUCED  # no more modes on average either
