"""The game chapter's closed forms against independent ones, the Dirac-GAN simulator against them,
and the consensus update rule of the one loop against the simulator."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
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
    "mnist_g_steps": 0,  # the MNIST part off: its own test below needs the files
}


def test_chapter_config_refuses_bad_k_and_budgets():
    from replication.chapters.game_dynamics_config import GameDynamicsConfig
    from replication.config import ConfigError

    with pytest.raises(ConfigError, match="k_values"):
        GameDynamicsConfig.for_profile("quick", k_values="1,zero")
    with pytest.raises(ConfigError, match="multiple"):
        GameDynamicsConfig.for_profile("quick", ring_g_steps=501)


def test_two_base_seeds_share_no_seed():
    """A sweep over base seeds trains distinct runs: Theorem 1's discriminators and the MNIST
    seeds are 1000 base + s, and no per-seed weight matrix or data column of the ring's batched
    networks under base seed 1 equals one under base seed 0 (range(seed, seed + n) shared all
    but one). Base seed 0 keeps the seeds it had."""
    from replication.chapters import game_ring as ring
    from replication.chapters.game_dynamics_config import GameDynamicsConfig
    from replication.config import ConfigError
    from replication.datasets.toy import RING8

    cfg = [GameDynamicsConfig.for_profile("quick", seed=b, device="cpu") for b in (0, 1)]
    assert cfg[0].seeds(3) == [0, 1, 2] and cfg[0].ring_seed() == 0
    for n in (cfg[0].theorem_seeds, cfg[0].mnist_seeds, 5):
        assert not set(cfg[0].seeds(n)) & set(cfg[1].seeds(n))
    cpu = torch.device("cpu")
    mats: list[list[torch.Tensor]] = [[], []]
    for b in (0, 1):
        G, D = ring._nets(cfg[b], cpu)
        for layer in [*G.net.layers, *D.net.layers]:
            mats[b] += list(layer.weight.detach())
        data = RING8.sample(10, cpu, seed=cfg[b].ring_seed(), seeds=cfg[b].ring_seeds)
        mats[b] += list(data.transpose(0, 1))
    for a in mats[0]:
        assert not any(a.shape == m.shape and torch.equal(a, m) for m in mats[1])
    with pytest.raises(ConfigError, match="ring_seeds"):
        GameDynamicsConfig.for_profile("quick", ring_seeds=501)


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
    for key in ("mnist_k_ablation", "mnist_consensus"):  # said, never left blank
        assert s[key] == "not run: switched off (mnist_g_steps = 0)"
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


# -- 3./4. on MNIST with the 2014 networks ------------------------------------------------------
def _tiny_recipe(seed: int = 0):
    from replication.chapters.recipe2014 import Mnist2014Recipe

    return Mnist2014Recipe(
        seed=seed, device="cpu", g_hidden=16, d_units=8, d_pieces=2, batch_size=50
    )


def _count_optimiser_steps():
    """Every optimiser step from now on, by optimiser (a global post-step hook)."""
    from collections import Counter

    from torch.optim.optimizer import register_optimizer_step_post_hook

    counts: Counter = Counter()
    handle = register_optimizer_step_post_hook(lambda opt, args, kwargs: counts.update([id(opt)]))
    return counts, handle


def test_every_mnist_condition_trains_with_k_d_steps_per_g_step_and_equal_g_steps():
    """On tiny data: each condition moves both networks from the seed's one start, keeps its
    losses finite, makes exactly 8 G updates (two rounds of one pass at k = 1, 200 rows / 50),
    and k D optimiser steps per G step (counted at the optimisers)."""
    from replication.chapters import game_mnist as gm
    from replication.chapters.game_dynamics_config import MNIST_CONDITIONS, GameDynamicsConfig

    cfg = GameDynamicsConfig.for_profile("quick")
    data = torch.rand(200, 64, generator=torch.Generator().manual_seed(3))
    start, _ = gm.build("simultaneous", cfg, _tiny_recipe(), data)
    start_g = [p.detach().clone() for p in start.generator.parameters()]
    start_d = [p.detach().clone() for p in start.discriminator.parameters()]
    for condition in MNIST_CONDITIONS:
        counts, handle = _count_optimiser_steps()
        try:
            gan, diverged = gm.train_condition(
                condition, cfg, data, _tiny_recipe(), g_steps=8, progress=False
            )
        finally:
            handle.remove()
        k = gm.k_of(condition) or 1
        assert not diverged and gan.g_step == 8, condition
        assert counts[id(gan.opt_g)] == 8 and counts[id(gan.opt_d)] == 8 * k, condition
        assert gan.step == 8 * k and len(gan.history) == 2, condition
        for row in gan.history:
            assert math.isfinite(row["d_loss"]) and math.isfinite(row["g_loss"]), condition
        for before, p in zip(start_g, gan.generator.parameters(), strict=True):
            assert before.shape == p.shape
        assert any(
            not torch.equal(b, p) for b, p in zip(start_g, gan.generator.parameters(), strict=True)
        ), condition
        assert any(
            not torch.equal(b, p)
            for b, p in zip(start_d, gan.discriminator.parameters(), strict=True)
        ), condition
        rms = isinstance(gan.opt_d, torch.optim.RMSprop)
        assert rms == (gm.optimiser_of(condition) == gm.RMSPROP), condition


def test_mnist_conditions_start_from_the_same_weights_within_a_seed():
    from replication.chapters import game_mnist as gm
    from replication.chapters.game_dynamics_config import GameDynamicsConfig

    cfg = GameDynamicsConfig.for_profile("quick")
    data = torch.rand(200, 64, generator=torch.Generator().manual_seed(3))
    a, _ = gm.build("alternating_k5", cfg, _tiny_recipe(1), data)
    b, obj = gm.build("consensus", cfg, _tiny_recipe(1), data)
    c, _ = gm.build("consensus", cfg, _tiny_recipe(2), data)
    assert all(
        torch.equal(x, y)
        for x, y in zip(
            a.generator.state_dict().values(), b.generator.state_dict().values(), strict=True
        )
    )
    assert not torch.equal(b.generator.net[0].weight, c.generator.net[0].weight)
    assert obj.consensus_weight == cfg.mnist_consensus_weight
    assert b.opt_g.param_groups[0]["lr"] == cfg.mnist_rmsprop_lr


def test_mnist_g_steps_must_be_whole_passes_and_conditions_known():
    from replication.chapters import game_mnist as gm
    from replication.chapters.game_dynamics_config import GameDynamicsConfig
    from replication.config import ConfigError

    with pytest.raises(ConfigError, match="mnist_conditions"):
        GameDynamicsConfig.for_profile("quick", mnist_conditions="simultaneous,alternating_k0")
    with pytest.raises(ConfigError, match="mnist_conditions"):
        GameDynamicsConfig.for_profile("quick", mnist_conditions="consensus,consensus")
    with pytest.raises(ConfigError, match="one pass"):
        GameDynamicsConfig.for_profile("quick", mnist_g_steps=75)  # 5,000 images: passes of 50
    cfg = GameDynamicsConfig.for_profile("quick", mnist_g_steps=0)
    assert gm.load(cfg) == (None, "switched off (mnist_g_steps = 0)")
    with pytest.raises(ValueError, match="one pass"):
        gm.train_condition("simultaneous", cfg, torch.rand(200, 64), _tiny_recipe(), 6)


def test_mnist_load_says_which_failure_without_a_path(tmp_path, fake_mnist):
    """Missing files and a checksum failure are told apart in the reason the summary records,
    and neither names a folder of this machine."""
    from replication.chapters import game_mnist as gm
    from replication.chapters.game_dynamics_config import GameDynamicsConfig

    folder = fake_mnist.write(tmp_path / "mnist")
    bad = folder / "train-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-3])
    for where, words in ((tmp_path / "nowhere", "files not found"), (folder, "checksum")):
        mnist, why = gm.load(GameDynamicsConfig.for_profile("quick", data_dir=str(where)))
        assert mnist is None and words in why and "MNIST_DIR" in why
        assert str(tmp_path) not in why


def _fake_mnist(n_train: int = 200, n_valid: int = 300):
    from replication.datasets.mnist import MnistSplits

    g = torch.Generator().manual_seed(5)
    return MnistSplits(
        train=torch.rand(n_train, 784, generator=g),
        valid=torch.rand(n_valid, 784, generator=g),
        test=torch.rand(50, 784, generator=g),
        train_labels=torch.arange(n_train) % 10,
        valid_labels=torch.arange(n_valid) % 10,
        test_labels=torch.arange(50) % 10,
        files={},
    )


def test_mnist_run_scores_every_condition_and_seed_and_the_summary_has_its_shape(monkeypatch):
    """`run` on random 784-pixel rows with tiny networks and an untrained classifier: one row
    per condition and seed with finite scores, equal G steps, and the summary's two dicts with
    mean, sd, n, seeds and per-seed values per condition."""
    from replication.chapters import game_mnist as gm
    from replication.chapters.game_dynamics_config import GameDynamicsConfig
    from replication.metrics.classifier import ClassifierScorer, DigitClassifier
    from replication.report import game_mnist as report

    monkeypatch.setattr(gm, "recipe_for", lambda cfg, seed: _tiny_recipe(seed))
    cfg = GameDynamicsConfig.for_profile(
        "quick",
        mnist_train_images=200,
        mnist_g_steps=4,
        mnist_seeds=2,
        mnist_conditions="simultaneous,alternating_k1,alternating_k2,consensus,"
        "rmsprop_simultaneous,rmsprop_alternating",
        mnist_eval_samples=60,
        mnist_parzen_valid=40,
    )
    mnist = _fake_mnist()
    torch.manual_seed(0)
    scorer = ClassifierScorer.fit(DigitClassifier(), mnist.valid[:200])
    recorded = []
    runs = gm.run(cfg, mnist, scorer, record=lambda n, g: recorded.append(n), progress=False)
    ps = runs.per_seed
    assert len(ps) == 12 and len(recorded) == 12
    assert (ps.g_steps == 4).all() and np.isfinite(ps[["fid", "parzen_ll"]]).all().all()
    assert ps.set_index(["condition", "seed"]).d_steps_per_g_step.loc["alternating_k2"].eq(2).all()
    assert set(runs.samples) == set(ps.condition) and runs.samples["consensus"].shape == (36, 784)
    s = report.mnist_summary(ps, cfg, 0.5)
    assert set(s["mnist_k_ablation"]) == {"simultaneous", "alternating_k1", "alternating_k2"}
    assert set(s["mnist_consensus"]) == {"consensus", "rmsprop_simultaneous", "rmsprop_alternating"}
    for r in [*s["mnist_k_ablation"].values(), *s["mnist_consensus"].values()]:
        assert r["n"] == 2 and r["seeds"] == [0, 1] and len(r["fid_per_seed"]) == 2
        assert r["fid_mean"] == pytest.approx(np.mean(r["fid_per_seed"]))
        assert r["parzen_ll_sd"] == pytest.approx(np.std(r["parzen_ll_per_seed"], ddof=1))
        assert r["wall_s_per_g_step"] > 0 and r["g_steps"] == 4
    assert isinstance(s["mnist_k_verdict"], str) and isinstance(s["mnist_consensus_verdict"], str)
    assert (
        report.mnist_summary(None, cfg, None, not_run="switched off")["mnist_k_ablation"]
        == "not run: switched off"
    )


def test_the_fid_classifier_is_the_same_for_every_base_seed(tmp_path):
    """Every seed of a sweep scores in one feature space: the classifier's seed is fixed
    (CLASSIFIER_SEED, 0 as base seed 0 had), not the run's."""
    from replication.chapters import game_mnist as gm
    from replication.chapters.game_dynamics_config import GameDynamicsConfig

    mnist = _fake_mnist(n_train=200)
    weights = []
    for b in (0, 3):
        cfg = GameDynamicsConfig.for_profile(
            "quick", seed=b, mnist_classifier_images=128, mnist_fid_reference=200
        )
        scorer, _ = gm.classifier_scorer(cfg, mnist, tmp_path / str(b), progress=False)
        weights.append(torch.cat([p.flatten() for p in scorer.model.parameters()]))
    assert torch.equal(weights[0], weights[1])


def _scores(fids: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        {"condition": c, "seed": s, "fid": f, "parzen_ll": -f, "diverged": False}
        for c, v in fids.items()
        for s, f in enumerate(v)
    ]
    return pd.DataFrame(rows)


def test_mnist_consensus_verdict_counts_seeds_paired_with_a_tolerance():
    from replication.report import game_mnist as report

    better = _scores(
        {
            "consensus": [10, 11, 12],
            "rmsprop_simultaneous": [20, 21, 22],
            "rmsprop_alternating": [9, 30, 30],
        }
    )
    v = report.mnist_consensus_verdict(better)
    assert v.startswith("consistent with") and "lower FID in all 3 seeds" in v
    assert "lower FID in 2, higher FID in 1, the same in 0 of 3 seeds" in v  # alternating
    worse = _scores({"consensus": [30, 31, 32], "rmsprop_simultaneous": [20, 21, 22]})
    assert report.mnist_consensus_verdict(worse).startswith("not supported")
    tie = _scores({"consensus": [20.05, 21, 22.1], "rmsprop_simultaneous": [20, 21, 22]})
    v = report.mnist_consensus_verdict(tie)
    assert v.startswith("not supported") and "FID the same within tolerance in all 3 seeds" in v
    assert "Parzen LL the same within tolerance in all 3 seeds" in v
    disagree = better.copy()  # lower FID in every seed, but the Parzen LL says the opposite
    disagree.loc[disagree.condition == "consensus", "parzen_ll"] = -100.0
    v = report.mnist_consensus_verdict(disagree)
    assert v.startswith("mixed: FID and Parzen LL disagree") and "lower Parzen LL" in v
    mixed = _scores({"consensus": [10, 30, 22], "rmsprop_simultaneous": [20, 21, 22]})
    assert report.mnist_consensus_verdict(mixed).startswith("mixed")
    assert report.mnist_consensus_verdict(_scores({"consensus": [1, 2]})).startswith("not judged")
    k = report.mnist_k_verdict(
        _scores({"alternating_k1": [20, 21, 22], "alternating_k5": [10, 11, 12]})
    )
    assert k.startswith("best mean FID: k = 5") and "k = 5: lower FID in all 3 seeds" in k


def test_mnist_verdicts_when_every_2014_run_diverged():
    """Every 2014-recipe seed diverged (FID NaN): the verdict says so instead of raising, and
    the findings and summary still come out; one condition all NaN leaves the best to the rest."""
    from replication.chapters import game_mnist as gm
    from replication.chapters.game_dynamics_config import GameDynamicsConfig
    from replication.report import game_mnist as report

    rows = [
        {
            "condition": c,
            "optimiser": gm.optimiser_of(c),
            "seed": s,
            "diverged": True,
            "g_steps": 3,
            "d_steps_per_g_step": 1.0,
            "wall_s_per_g_step": 0.1,
            **gm.NOT_SCORED,
        }
        for c in ("simultaneous", "alternating_k1", "alternating_k5")
        for s in (0, 1)
    ]
    ps = pd.DataFrame(rows)
    assert report.mnist_k_verdict(ps) == "no 2014-recipe run was scored (all diverged)"
    cfg = GameDynamicsConfig.for_profile("quick")
    real = {"fid": 1.0, "parzen_ll": 100.0}
    text = report.mnist_findings(ps, cfg, 0.9, real)
    assert "all diverged" in text and "Diverged (non-finite loss" in text
    assert report.mnist_summary(ps, cfg, 0.9, real)["mnist_k_verdict"].startswith("no 2014")
    part = _scores({"alternating_k1": [20, 21], "alternating_k5": [math.nan, math.nan]})
    assert report.mnist_k_verdict(part).startswith("best mean FID: k = 1")


TINY_GAME_MNIST = {
    **TINY_GAME,
    "mnist_g_steps": 10,
    "mnist_seeds": 2,
    "mnist_train_images": 1000,
    "mnist_conditions": "simultaneous,alternating_k2,consensus,rmsprop_simultaneous",
    "mnist_eval_samples": 100,
    "mnist_parzen_valid": 40,
    "mnist_fid_reference": 200,
    "mnist_classifier_images": 1000,
    "mnist_classifier_epochs": 1,
}


@pytest.mark.slow
def test_notebook_runs_the_mnist_part_with_the_real_files(tmp_path):
    """With MNIST present (MNIST_DIR), the notebook trains the MNIST conditions with the 2014
    networks and writes their per-condition records, figures and verdicts."""
    import json

    from replication.datasets.mnist import DatasetError, locate_mnist
    from replication.publish import execute as notebooks

    try:
        locate_mnist()
    except DatasetError:
        pytest.skip("MNIST files not found (set MNIST_DIR)")
    notebooks.execute(
        "game_dynamics",
        "quick",
        TINY_GAME_MNIST,
        results_dir=tmp_path,
        run_name="t",
        progress=False,
    )
    run = tmp_path / "game_dynamics" / "t"
    s = json.loads((run / "summary.json").read_text())
    assert set(s["mnist_k_ablation"]) == {"simultaneous", "alternating_k2"}
    assert set(s["mnist_consensus"]) == {"consensus", "rmsprop_simultaneous"}
    k2 = s["mnist_k_ablation"]["alternating_k2"]
    assert k2["d_steps_per_g_step"] == 2 and k2["g_steps"] == 10 and k2["n"] == 2
    assert s["mnist_consensus_verdict"] and s["mnist_k_verdict"].startswith("best mean FID")
    assert s["mnist_real_images_scores"]["fid"] < min(
        r["fid_mean"] for r in s["mnist_consensus"].values()
    )
    assert 0 <= k2["d_real_per_seed"][0] <= 1 and len(k2["d_fake_per_seed"]) == 2
    per_seed = pd.read_csv(run / "mnist_per_seed.csv")
    assert len(per_seed) == 8 and (per_seed.g_steps == 10).all()
    for name in ("mnist_quality", "mnist_samples"):
        assert (run / "figures" / f"{name}.png").stat().st_size > 5_000, name
    prov = json.loads((run / "provenance.json").read_text())
    assert prov["training"]["mnist_consensus_seed1"]["epochs"] == 1  # one pass of 10 G steps


def test_results_table_has_mnist_rows_only_when_the_run_has_them():
    from replication.report import results_table as rt

    rec = {"fid_mean": 30.0, "fid_sd": 1.0, "n": 3}
    s = {
        "profile": "paper",
        "mnist_g_steps": 1000,
        "mnist_k_ablation": {"simultaneous": rec, "alternating_k5": rec},
        "mnist_consensus": {"consensus": rec, "rmsprop_simultaneous": rec},
        "mnist_consensus_verdict": "mixed (against simultaneous RMSProp: ...)",
    }
    k_row, con_row = rt._game_mnist(s)
    assert "k = 5 30.0 ± 1.0" in k_row["ours"] and "(n = 3)" in k_row["ours"]
    assert con_row["verdict"] == "mixed (by seed)"
    assert rt._game_mnist({**s, "profile": "quick"})[1]["verdict"].startswith("not judged")
    off = "not run: switched off (mnist_g_steps = 0)"
    assert rt._game_mnist({"mnist_k_ablation": off, "mnist_consensus": off}) == []
