"""The game and its dynamics: Theorem 1 of Goodfellow et al. 2014 measured, the Dirac-GAN of
Mescheder, Geiger & Nowozin 2018 under simultaneous and alternating steps, Algorithm 1's k, and
consensus optimisation (Mescheder, Nowozin & Geiger 2017) on the ring of Gaussians.

1. For fixed 1-D generators with closed-form densities, a discriminator trained in the one loop
   (G frozen) against D* = p_data / (p_data + p_g), and its V(D, G) against C(G).
2. The Dirac-GAN from many starting points at once (`training.dirac`): measured per-step rates
   beside the closed forms of `metrics.game`.
3./4. The ring (`game_ring`): k = 1, 2, 5 and the simultaneous step; consensus against
   simultaneous and alternating RMSProp. The same on MNIST with the 2014 networks
   (`game_mnist`), seed by seed.

Figures and the reading are in `replication/report/game_dynamics.py`.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import torch

from replication.chapters.game_dynamics_config import (
    P_DATA,
    P_G_START,
    GameDynamicsConfig,
    generator_family,
)
from replication.metrics import game
from replication.nets.toy import Mixture1DGenerator
from replication.runs.cli import TrainRequest
from replication.training.dirac import RULES, VARIANTS, growth_per_step, trajectories
from replication.training.fit_critic import fit_critic


# -- 1. Theorem 1 ------------------------------------------------------------------------------
def _grid(cfg: GameDynamicsConfig) -> np.ndarray:
    spans = [P_DATA.span(), P_G_START.span()]
    return np.linspace(min(s[0] for s in spans), max(s[1] for s in spans), cfg.grid_points)


def _generator(m: game.Mixture1D) -> Mixture1DGenerator:
    return Mixture1DGenerator(m.weights, m.means, m.stds)


def theorem1(
    cfg: GameDynamicsConfig, device: torch.device, progress: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per generator p_g(t) and seed: a discriminator trained in the one loop against the frozen
    generator; its D(x) on the grid; V(D, G) by integration against the exact densities.

    Returns (per seed: t, seed, V, max |D - D*|; curves: x, p_data, p_g(t), D*(t), D(t, seed)).
    """
    from tqdm import tqdm

    x = _grid(cfg)
    pd_ = P_DATA.pdf(x)
    xt = torch.tensor(x, dtype=torch.float32, device=device).unsqueeze(1)
    real = _generator(P_DATA).to(device).sample(cfg.d_points, device, seed=cfg.seed + 1000)
    rows, curves = [], {"x": x, "p_data": pd_}
    jobs = [(t, s) for t in cfg.ts() for s in cfg.seeds(cfg.theorem_seeds)]
    for t, s in tqdm(jobs, desc="Theorem 1: D against fixed G", disable=not progress):
        pg = generator_family(float(t)).pdf(x)
        d_star = game.optimal_discriminator(pd_, pg)
        D = fit_critic(cfg.critic_fit(), real, _generator(generator_family(float(t))).to(device), s)
        with torch.no_grad():
            d = torch.sigmoid(D.eval()(xt).double()).cpu().numpy()
        support = (pd_ + pg) > cfg.support_fraction * (pd_ + pg).max()
        mix = 0.5 * (pd_ + pg)  # where the samples D trained on lie
        rows.append(
            {
                "t": float(t),
                "seed": s,
                "v_of_trained_d": game.value(pd_, pg, d, x),
                "max_abs_d_minus_d_star": float(np.abs(d - d_star)[support].max()),
                "mean_abs_d_minus_d_star": float(
                    np.trapezoid(mix * np.abs(d - np.nan_to_num(d_star)), x)
                ),
            }
        )
        curves[f"p_g t={t:.2f}"] = pg
        curves[f"d_star t={t:.2f}"] = d_star
        curves[f"d t={t:.2f} seed={s}"] = d
    return pd.DataFrame(rows), pd.DataFrame(curves)


def theorem1_table(per_seed: pd.DataFrame, cfg: GameDynamicsConfig) -> pd.DataFrame:
    """Per generator: JSD, C(G) = -log 4 + 2 JSD, V(D, G) of the trained D (mean, sd, n) and
    the error C(G) - V (never negative in theory: V(D*, G) is the maximum)."""
    x = _grid(cfg)
    pd_ = P_DATA.pdf(x)
    out = []
    for t, grp in per_seed.groupby("t"):
        pg = generator_family(float(t)).pdf(x)
        c = game.c_of_g(pd_, pg, x)
        v = grp.v_of_trained_d
        out.append(
            {
                "t": t,
                "jsd": game.jsd(pd_, pg, x),
                "c_of_g": c,
                "v_mean": v.mean(),
                "v_sd": v.std(ddof=1),
                "n": len(v),
                "c_minus_v_mean": c - v.mean(),
                "max_abs_err_c_minus_v": float((c - v).abs().max()),
                "max_abs_d_minus_d_star_mean": grp.max_abs_d_minus_d_star.mean(),
                "max_abs_d_minus_d_star_sd": grp.max_abs_d_minus_d_star.std(ddof=1),
                "mean_abs_d_minus_d_star_mean": grp.mean_abs_d_minus_d_star.mean(),
            }
        )
    return pd.DataFrame(out)


# -- 2. the Dirac-GAN ---------------------------------------------------------------------------
def closed_form_rate(cfg: GameDynamicsConfig, variant: str, rule: str) -> float:
    """The per-step factor the linearisation at (0, 0) predicts, or NaN where there is none
    (WGAN-GP's penalty is not differentiable at psi = 0; consensus with alternating steps is not
    the authors' method and has no closed form here)."""
    h = cfg.dirac_h
    if variant == "wgan_gp" or (variant == "consensus" and rule == "alternating"):
        return math.nan
    if variant == "consensus":
        return game.consensus_growth(h, game.F_PRIME_0["gan"], cfg.dirac_consensus_weight)
    a = game.F_PRIME_0["wgan" if variant == "wgan_clip" else "gan"]
    return (
        game.simultaneous_growth(h, a) if rule == "simultaneous" else game.alternating_growth(h, a)
    )


def _starts(cfg: GameDynamicsConfig) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(cfg.seed)
    ang = 2 * math.pi * torch.rand(cfg.dirac_starts, generator=gen, dtype=torch.float64)
    return cfg.dirac_r0 * torch.cos(ang), cfg.dirac_r0 * torch.sin(ang)


def dirac_rates(cfg: GameDynamicsConfig) -> pd.DataFrame:
    """Per variant and rule: the measured per-step factor (r_T / r_0)^(1/T) over all starting
    points (mean, sd, n), the closed form, and how many runs converged (r_T < r_0 / 10)."""
    theta0, psi0 = _starts(cfg)
    rows = []
    for variant in VARIANTS:
        for rule in RULES:
            path = trajectories(
                cfg.dirac_game(variant), theta0, psi0, cfg.dirac_h, cfg.dirac_steps, rule
            )
            g = growth_per_step(path)
            r = path.norm(dim=1)
            rows.append(
                {
                    "variant": variant,
                    "rule": rule,
                    "growth_mean": float(g.mean()),
                    "growth_sd": float(g.std()),
                    "n": len(g),
                    "closed_form": closed_form_rate(cfg, variant, rule),
                    "converged": int((r[-1] < cfg.dirac_r0 / 10).sum()),
                    "final_r_over_r0_mean": float((r[-1] / r[0]).mean()),
                }
            )
    return pd.DataFrame(rows)


def dirac_paths(cfg: GameDynamicsConfig) -> dict[tuple[str, str], np.ndarray]:
    """The figure's trajectories: per variant and rule, (steps + 1, 2) from the plot start."""
    s = torch.tensor([cfg.dirac_plot_start], dtype=torch.float64)
    return {
        (v, rule): trajectories(cfg.dirac_game(v), s, s, cfg.dirac_h, cfg.dirac_plot_steps, rule)[
            :, :, 0
        ].numpy()
        for v in VARIANTS
        for rule in RULES
    }


def dirac_field(
    cfg: GameDynamicsConfig, variant: str, lim: float = 2.0, n: int = 17
) -> tuple[np.ndarray, ...]:
    """(theta, psi, theta', psi') on an n x n grid of [-lim, lim]^2, for the quiver plot."""
    t, p = torch.meshgrid(
        torch.linspace(-lim, lim, n, dtype=torch.float64),
        torch.linspace(-lim, lim, n, dtype=torch.float64),
        indexing="xy",
    )
    dt, dp = cfg.dirac_game(variant).field(t.flatten(), p.flatten())
    return t.numpy(), p.numpy(), dt.reshape(n, n).numpy(), dp.reshape(n, n).numpy()


def batched_vs_per_seed(cfg: GameDynamicsConfig, repeats: int = 3) -> dict[str, float]:
    """The Dirac-GAN's simultaneous runs for all starting points as one batch against a loop over
    them, one start per call, in this process (best of `repeats`); the ratio is the speed-up."""
    theta0, psi0 = _starts(cfg)
    g = cfg.dirac_game("gan")

    def batched() -> None:
        trajectories(g, theta0, psi0, cfg.dirac_h, cfg.dirac_steps, "simultaneous")

    def per_seed() -> None:
        for i in range(len(theta0)):
            trajectories(
                g, theta0[i : i + 1], psi0[i : i + 1], cfg.dirac_h, cfg.dirac_steps, "simultaneous"
            )

    def best(fn: object) -> float:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()  # type: ignore[operator]
            times.append(time.perf_counter() - t0)
        return min(times)

    tb, tp = best(batched), best(per_seed)
    return {
        "bench_runs": len(theta0),
        "bench_steps": cfg.dirac_steps,
        "bench_batched_s": tb,
        "bench_per_seed_s": tp,
        "bench_batched_speedup": tp / tb,
    }


def train_cli(req: TrainRequest) -> None:
    """Nothing here trains for long: the notebook computes everything (a few minutes)."""
    raise SystemExit(
        "game_dynamics has no separate training step: run "
        "`python -m replication notebook game_dynamics --profile quick`"
    )
