"""WGAN vs JS: closed forms against independent computations, the critic losses, the gradient
penalty, the alternating update rule in the one loop, and optimal-discriminator estimates."""

from __future__ import annotations

import math
import types

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.optimize import linprog
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy, spearmanr

from replication.chapters.wgan_vs_js import WganVsJsConfig, build, loss_setup
from replication.config import ConfigError
from replication.metrics.divergences import parallel_lines, parallel_lines_grad
from replication.nets.toy import (
    CriticFit,
    LineGenerator,
    Mlp,
    estimate,
    fit_critic,
    lines_real,
)
from replication.training.critic import clip_weights_, constant_critic_iters, wgan_critic_iters
from replication.training.loop import GAN, train
from replication.training.losses import (
    critic_wasserstein,
    discriminator_bce,
    generator_nonsaturating,
    generator_wasserstein,
    gradient_penalty,
)

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
    rule = wgan_critic_iters(5, 25, 100, 500)
    assert [rule(g) for g in (0, 24, 25, 499, 500, 501, 1000)] == [100, 100, 5, 5, 100, 5, 100]
    assert constant_critic_iters(3)(7) == 3


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
    train(
        gan,
        real,
        epochs=2,
        batch_size=64,
        g_cost=g_cost,
        d_cost=d_cost,
        n_critic=constant_critic_iters(1),
        progress=False,
    )
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
        epochs=epochs,
        batch_size=cfg.batch_size,
        round_g_iters=cfg.eval_every,
        trace=True,
        checkpoint_dir=ckpt,
        fingerprint={"loss": loss},
        progress=False,
        **loss_setup(cfg, loss),
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


def _scores(
    fid: float,
    classes: float,
    g_step: int = 3000,
    cs: float | None = None,
    diversity: float = 0.8,
) -> pd.Series:
    """Scores of a run; the classifier score defaults to that of confident samples (it can
    never exceed the effective classes: exp(H(p(y)) - E H(p(y|x))))."""
    cs = 0.95 * classes if cs is None else cs
    assert cs <= classes
    return pd.Series(
        {
            "fid": fid,
            "effective_classes": classes,
            "classifier_score": cs,
            "diversity": diversity,
            "quality": 0.0,
            "g_step": g_step,
        }
    )


def test_run_state_tells_collapse_from_failure():
    from replication.chapters.wgan_vs_js import _state

    assert _state(_scores(50, 9.5)) == "learns"
    # one clear digit, varied strokes: classifier score ~1, but sure of each sample: collapse
    assert _state(_scores(900, 1.06, cs=1.0)) == "collapsed"
    # one picture repeated, whatever the classifier says
    assert _state(_scores(900, 4.0, cs=1.0, diversity=0.05)) == "collapsed"
    # varied noise the classifier cannot read (perplexity 4.4 / 1.01): fails
    assert _state(_scores(1100, 4.48, cs=1.01)) == "fails"


def test_robustness_verdict_judges_each_run_before_comparing_fids():
    from replication.chapters.wgan_vs_js import _robustness_verdict, robustness_status

    # both make varied noise no classifier reads as digits: no FID race
    gan, wgan = _scores(1212.8, 3.6, cs=1.0), _scores(1000.0, 4.1, cs=1.0)
    text = _robustness_verdict(gan, wgan)
    assert "not reproduced" in text and "neither learns" in text
    assert robustness_status(gan, wgan) == "no"
    # the GAN collapsed (one picture repeated), WGAN learns: the paper's claim
    gan, wgan = _scores(300, 1.1, cs=1.05, diversity=0.05), _scores(400, 8)
    assert robustness_status(gan, wgan) == "yes"
    text = _robustness_verdict(gan, wgan)
    assert "as the paper reports" in text and "The GAN collapses" in text
    # collapse read from the classes too, when the classifier is sure of each sample
    assert robustness_status(_scores(300, 1.2), _scores(400, 8)) == "yes"
    # both learn: FID decides, by more than a fifth, and WGAN ahead is the claim only in part
    assert robustness_status(_scores(1000, 8), _scores(300, 8)) == "partly"
    assert "in part" in _robustness_verdict(_scores(1000, 8), _scores(300, 8))
    assert "the GAN is ahead" in _robustness_verdict(_scores(300, 8), _scores(1000, 8))
    assert "within a fifth" in _robustness_verdict(_scores(300, 8), _scores(330, 8))
    # WGAN fails where the GAN learns
    assert "opposite" in _robustness_verdict(_scores(300, 8), _scores(1000, 8, cs=1.1))
    # early or at the full budget: said which
    assert "not the full one" in _robustness_verdict(_scores(300, 8), _scores(330, 8), target=20000)
    full = _robustness_verdict(_scores(300, 8, 20000), _scores(330, 8, 20000), target=20000)
    assert "at the full budget" in full


def test_recent_scores_average_the_last_checkpoints_up_to_a_step():
    from replication.chapters.wgan_vs_js import _recent

    t = pd.DataFrame({"g_step": [500, 1000, 1500, 2000], "fid": [900.0, 1200.0, 600.0, 30.0]})
    r = _recent(t, 1500)
    assert r.fid == pytest.approx(900.0) and r.g_step == 1500 and r.checkpoints == 3


def test_spread_is_zero_for_one_repeated_image_and_grid_diversity_is_relative(tmp_path):
    from replication.chapters.wgan_vs_js import grid_diversity, spread

    one = torch.rand(1, 784).repeat(64, 1)
    assert spread(one) == pytest.approx(0.0, abs=1e-9)
    x = torch.rand(64, 784)
    torch.save(x, tmp_path / "samples_0000500.pt")
    torch.save(one, tmp_path / "samples_0001000.pt")
    d = grid_diversity(tmp_path, [500, 1000, 1500], spread(x))
    assert d[0] == pytest.approx(1.0) and d[1] == pytest.approx(0.0, abs=1e-9)
    assert np.isnan(d[2])  # no grid saved: unknown, not zero


def test_jsd_verdict_follows_the_sign_of_the_papers_claim():
    from replication.chapters.wgan_vs_js import _jsd_verdict

    # signed so that + = falls as samples improve (like a loss)
    assert "does not expect" in _jsd_verdict(0.8)
    assert "Fig. 4" in _jsd_verdict(-0.8)  # rises as samples improve: what the paper shows
    assert "as the paper claims" in _jsd_verdict(0.1)
    assert "cannot be judged" in _jsd_verdict(float("nan"))


def test_loss_curve_median_is_trailing():
    from replication.chapters.wgan_vs_js import loss_curve

    trace = pd.DataFrame({"g_step": [1, 2, 3, 4, 5], "d_loss": [-1.0, -2.0, -3.0, -100.0, -5.0]})
    c = loss_curve(trace, "wgan", 3)
    # the value at step 3 does not see the spike at step 4
    assert c.filtered.tolist()[:3] == [1.0, 1.5, 2.0]
    assert c.filtered.iloc[3] == 3.0


def test_correlations_report_whether_parzen_and_fid_agree():
    from replication.chapters.wgan_vs_js import correlations

    t = pd.DataFrame(
        {
            "loss_filtered": [3.0, 2.0, 1.0, 0.5],
            "quality": [-300.0, -200.0, -100.0, -50.0],  # improving
            "fid": [900.0, 600.0, 300.0, 100.0],  # improving
        }
    )
    corr = correlations({"run": t}).loc["run"]
    assert corr.spearman_parzen == pytest.approx(-1) and corr.spearman_fid == pytest.approx(1)
    assert corr.spearman_parzen_vs_fid == pytest.approx(-1)


def _table(fid_start: float, steps: int = 4) -> pd.DataFrame:
    g = [500 * (i + 1) for i in range(steps)]
    return pd.DataFrame(
        {
            "g_step": g,
            "loss_filtered": [3.0 - 0.5 * i for i in range(steps)],
            "quality": [-300.0 + 50 * i for i in range(steps)],
            "fid": [fid_start - 100 * i for i in range(steps)],
            "classifier_score": [4.0] * steps,
            "effective_classes": [8.0] * steps,
        }
    )


def test_findings_and_summary_of_a_partly_trained_paper_run():
    """A time budget can stop the paper profile after some runs: the page and summary.json say
    which runs exist and how far they got, and make no claim about the missing ones."""
    from replication.chapters.wgan_vs_js import (
        correlations,
        final_scores,
        summary_metrics,
        training_findings,
    )

    cfg = WganVsJsConfig.for_profile("paper")
    tables = {"gan-dcgan": _table(900, steps=40), "wgan-dcgan": _table(800, steps=3)}
    corr = correlations(tables)
    text = training_findings(corr, tables, cfg)
    assert "wgan-dcgan 1500, gan-dcgan 20000" in text
    assert "*Not yet trained* (time budget): wgan_gp-dcgan." in text
    assert "WGAN-GP" not in text.split("Not yet trained")[1]
    assert "Robustness** (mlp generator): not shown yet" in text
    summary = summary_metrics(cfg, corr, final_scores(tables), 0.99)
    assert summary["corr_wgan_gp_loss_vs_fid"] is None
    assert summary["corr_gan_js_vs_fid"] == pytest.approx(1.0)
    assert summary["final_g_iters"] == {"gan-dcgan": 20000, "wgan-dcgan": 1500}
    assert training_findings(corr.iloc[:0], {}, cfg).startswith("No main run")


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
    from replication.chapters.wgan_vs_js import correlations, final_scores, summary_metrics

    real = {"quality": 100.0, "fid": 16.0, "classifier_score": 9.5, "effective_classes": 9.9}
    final = final_scores({}, real)
    summary = summary_metrics(cfg, correlations({}), final, 0.99)
    assert summary["corr_wgan_loss_vs_fid"] is None and summary["final_fid"] == {}
    assert summary["real_images_scores"]["FID"] == 16.0


def test_robustness_is_judged_where_both_runs_have_been_and_nan_is_not_a_verdict():
    from replication.chapters.wgan_vs_js import correlations, training_findings

    cfg = WganVsJsConfig.for_profile("paper")
    gan_mlp = _table(900, steps=40)  # finished: FID falls to 900 - 3900 < 0 ...
    gan_mlp["fid"] = [300.0] * 40  # ... say a flat 300
    wgan_mlp = _table(1000, steps=2)  # stopped by the budget after 1,000 iterations
    tables = {
        "gan-dcgan": _table(900, steps=2),  # two checkpoints: no correlation yet
        "gan-mlp": gan_mlp,
        "wgan-mlp": wgan_mlp,
    }
    gan_mlp.loc[:1, "fid"] = 2000.0  # up to 1,000 iterations the GAN was far behind
    text = training_findings(correlations(tables), tables, cfg)
    assert "compared at 1000 generator iterations, the furthest both runs have reached" in text
    assert "GAN FID 2000.0" in text and "WGAN clearly ahead by FID" in text
    assert "cannot be judged" in text and "nan" not in text


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


def test_sample_grids_stop_at_the_checkpoint_a_run_reached(tmp_path):
    from replication.chapters.wgan_vs_js import samples_figure

    (tmp_path / "gan-dcgan").mkdir()
    for step in (500, 1000, 1500):  # 1500: written by a session killed before its checkpoint
        torch.save(torch.rand(64, 784), tmp_path / "gan-dcgan" / f"samples_{step:07d}.pt")
    fig = samples_figure(tmp_path, ["gan-dcgan"], upto={"gan-dcgan": 1000})
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[-1] == "gan-dcgan, G iter 1000" and not any("1500" in t for t in titles)
    fig = samples_figure(tmp_path, ["gan-dcgan"])
    assert [ax.get_title() for ax in fig.axes][-1] == "gan-dcgan, G iter 1500"


def test_spearman_interval_covers_the_value_and_excludes_zero_only_for_a_real_trend():
    from replication.chapters.wgan_vs_js import spearman_interval

    rng = np.random.default_rng(0)
    x = np.arange(40.0)
    y = x + rng.normal(0, 5, 40)
    lo, hi = spearman_interval(x, y)
    assert 0.5 < lo <= spearmanr(x, y).statistic <= hi <= 1.0
    lo, hi = spearman_interval(x, rng.normal(size=40))
    assert lo < 0 < hi
    assert all(np.isnan(spearman_interval(x[:19], x[:19])))  # fewer than four blocks
    # circular blocks: the first and last pairs are drawn like the others, so a run whose
    # relation lives in its first checkpoints keeps it in the interval
    y = np.r_[np.linspace(10, 1, 8), rng.normal(1, 0.01, 32)]
    lo, hi = spearman_interval(x, y)
    assert lo <= spearmanr(x, y).statistic <= hi


def test_claims_table_quotes_each_claim_with_a_known_verdict():
    from replication.chapters.wgan_vs_js import claims_table, correlations, second_half

    cfg = WganVsJsConfig.for_profile("paper")
    rising = _table(900, steps=40)  # loss falls while FID falls: tracks
    tables = {"wgan-dcgan": rising, "gan-dcgan": _table(900, steps=40)}
    tables["gan-dcgan"]["loss_filtered"] = np.linspace(0.1, 0.5, 40)  # JSD rises: Fig. 4
    errors = {
        "parallel_lines_max_abs_err_w1": 0.07,
        "parallel_lines_min_abs_w1_gp_grad_off0": 0.98,
        "parallel_lines_max_abs_err_js": 1e-4,
        "parallel_lines_max_abs_js_grad": 0.02,
    }
    grads = pd.DataFrame(
        {
            "model": ["GAN (JS)", "WGAN-GP"],
            "mean |d output / dx| at fake samples": [1e-5, 1.2],
        }
    )
    t = claims_table(
        errors, grads, correlations(tables), correlations(second_half(tables)), tables, cfg
    )
    labels = t["claim (published)"].str.extract(r"\((.*)\)$")[0]
    verdict = dict(zip(labels, t["agrees?"], strict=True))
    assert t["agrees?"].iloc[0] == "yes" and t["agrees?"].iloc[1] == "yes"
    assert verdict["clipped WGAN"] == "yes" and verdict["GAN"] == "yes"
    assert verdict["WGAN-GP"] == "cannot be judged"  # not trained
    assert t["agrees?"].iloc[-1] == "cannot be judged"  # robustness runs missing


def test_findings_read_the_jsd_sign_under_both_scores_and_in_the_second_half():
    from replication.chapters.wgan_vs_js import (
        correlations,
        second_half,
        summary_metrics,
        training_findings,
    )

    cfg = WganVsJsConfig.for_profile("paper", robust_generator="dcgan")
    improving = _table(900, steps=40)  # Parzen rises, FID falls throughout
    gan = improving.copy()
    gan["loss_filtered"] = np.linspace(0.05, 0.1, 40)  # the JSD creeps up: the paper's Fig. 4
    tables = {"gan-dcgan": gan, "wgan-dcgan": improving}
    corr, late = correlations(tables), correlations(second_half(tables))
    text = training_findings(corr, tables, cfg, late=late)
    parzen, fid, half = [ln for ln in text.split("\n") if ln.startswith("- ")][:3]
    for line in (parzen, fid, half):
        assert "rises while samples improve" in line, line
        assert "WGAN critic estimate" in line and "tracks it" in line
    assert "Second half" in half and "(20 checkpoints)" in half
    final = pd.DataFrame(
        {"generator iterations": [20000, 20000], "Parzen LL (nats)": [0.0, 0.0]},
        index=["gan-dcgan", "wgan-dcgan"],
    ).assign(**{"FID": 1.0, "effective classes": 9.0, "sample diversity": 1.0})
    s = summary_metrics(cfg, corr, final, 0.99, late)
    assert s["corr_gan_js_vs_fid_second_half"] == pytest.approx(-1.0)
    assert s["corr_wgan_loss_vs_fid_second_half"] == pytest.approx(1.0)
    assert s["corr_wgan_gp_loss_vs_fid_second_half"] is None  # not trained
    assert s["median_window"] == cfg.median_window and "negative" in s["corr_sign_convention"]
