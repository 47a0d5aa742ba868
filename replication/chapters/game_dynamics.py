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
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from replication.chapters.recipe2014 import Mnist2014Recipe
from replication.config import ConfigError, ExperimentConfig, param
from replication.metrics import game
from replication.nets.toy import Mixture1DGenerator
from replication.runs.cli import TrainRequest
from replication.training.dirac import RULES, VARIANTS, DiracGame, growth_per_step, trajectories
from replication.training.fit_critic import CriticFit, fit_critic

OURS = "our choice"
P_DATA = game.Mixture1D((0.3, 0.7), (-2.0, 2.0), (0.5, 0.8))  # our choice: two unequal modes
P_G_START = game.Mixture1D((1.0,), (0.0,), (1.5,))  # t = 0: one broad Gaussian
MNIST_FIXED = ("simultaneous", "consensus", "rmsprop_simultaneous", "rmsprop_alternating")
MNIST_CONDITIONS = (
    "simultaneous",
    "alternating_k1",
    "alternating_k2",
    "alternating_k5",
    "consensus",
    "rmsprop_simultaneous",
    "rmsprop_alternating",
)


def _is_k_condition(name: str) -> bool:
    k = name.removeprefix("alternating_k")
    return name.startswith("alternating_k") and k.isdigit() and int(k) >= 1


def generator_family(t: float) -> game.Mixture1D:
    """p_g(t) = (1 - t) p_start + t p_data, a density mixture: p_g(1) = p_data, where Theorem 1
    says C(G) = -log 4, and JSD(p_data || p_g(t)) is convex in t with its minimum at t = 1, so C
    falls monotonically along the family (each p_g(t) is itself a Gaussian mixture)."""
    return game.Mixture1D(
        tuple((1 - t) * w for w in P_G_START.weights) + tuple(t * w for w in P_DATA.weights),
        P_G_START.means + P_DATA.means,
        P_G_START.stds + P_DATA.stds,
    )


@dataclass(frozen=True)
class GameDynamicsConfig(ExperimentConfig):
    CHAPTER = "game_dynamics"
    PROFILE_OVERRIDES = {
        "quick": {
            "theorem_generators": 4,
            "theorem_seeds": 3,
            "d_points": 8192,
            "d_epochs": 30,
            "dirac_steps": 300,
            "dirac_starts": 16,
            "ring_seeds": 3,
            "ring_g_steps": 500,
            "ring_eval_every": 250,
            "mnist_g_steps": 50,
            "mnist_seeds": 2,
            "mnist_train_images": 5000,
            "mnist_eval_samples": 500,
            "mnist_parzen_valid": 400,
            "mnist_fid_reference": 1000,
            "mnist_classifier_images": 10000,
            "mnist_classifier_epochs": 1,
        },
    }

    # -- 1. Theorem 1 --
    theorem_generators: int = param(
        5, "fixed generators p_g(t), t evenly from 0 to 1 (t = 1 is p_data)", source=OURS, min=2
    )
    theorem_seeds: int = param(5, "discriminators trained per generator (seeds)", min=2)
    d_points: int = param(16384, "samples of p_data the discriminator trains on", min=256)
    d_epochs: int = param(40, "epochs of discriminator training", source=OURS, min=1)
    d_batch: int = param(256, "minibatch (real rows; as many fresh fake rows)", min=2)
    d_lr: float = param(
        1e-3, "Adam lr of the discriminator (betas of the 'gan' objective)", source=OURS, min=0
    )
    d_hidden: int = param(128, "hidden units of the discriminator MLP", source=OURS, min=1)
    d_depth: int = param(2, "hidden layers of the discriminator MLP", source=OURS, min=1)
    support_fraction: float = param(
        0.01,
        "D is compared with D* where p_data + p_g exceeds this fraction of its maximum (D* is "
        "undetermined where neither distribution puts mass: no sample ever lands there)",
        source=OURS,
        min=0,
        max=1,
    )
    grid_points: int = param(4001, "grid of the numerical integrals", min=101)
    # -- 2. Dirac-GAN --
    dirac_h: float = param(0.1, "step size of every Dirac-GAN run", source=OURS, min=0)
    dirac_steps: int = param(500, "steps per Dirac-GAN run", min=1)
    dirac_starts: int = param(
        32, "starting points per variant and rule (one seed each), run as one batch", min=2
    )
    dirac_r0: float = param(
        1e-3,
        "distance of the starting points from the equilibrium, at random angles: small, so the "
        "measured rate is the linearisation's (the closed forms hold near (0, 0))",
        source=OURS,
        min=0,
    )
    dirac_clip: float = param(1.0, "WGAN clipping: |psi| <= clip", source=OURS, min=0)
    dirac_gp_weight: float = param(
        1.0, "WGAN-GP: weight of (|psi| - 1)^2 / 2 in D's cost", source=OURS, min=0
    )
    dirac_consensus_weight: float = param(
        1.0, "consensus gamma on the Dirac-GAN", source=OURS, min=0
    )
    dirac_plot_start: float = param(
        1.0, "trajectories in the figure start at (theta, psi) = (this, this)", source=OURS
    )
    dirac_plot_steps: int = param(
        400, "steps of the trajectories in the figure", source=OURS, min=1
    )

    # -- 3./4. the ring: Algorithm 1's k and consensus optimisation --
    ring_seeds: int = param(5, "seeds, trained as one batched model", min=2)
    ring_g_steps: int = param(
        6000,
        "generator updates per method",
        source="ours, to fit a CPU budget: the authors' notebook runs 50,000 at lr 1e-4",
        min=1,
    )
    ring_eval_every: int = param(500, "G updates between mode counts in the history", min=1)
    ring_lr: float = param(
        1e-3,
        "RMSProp lr of every method",
        source="ours: 10x the authors' 1e-4 (TheNumericsOfGANs, notebooks/mog-eigval-dist.ipynb) "
        "because we run 6,000 steps, not their 50,000 (lr x steps 6 against their 5)",
        min=0,
    )
    ring_consensus_weight: float = param(
        10.0, "consensus gamma", source="TheNumericsOfGANs notebook and CIFAR runs: reg_param 10"
    )
    ring_batch: int = param(
        512, "minibatch", source="TheNumericsOfGANs notebook: batch_size = 512", min=2
    )
    ring_z_dim: int = param(16, "noise dimension", source="TheNumericsOfGANs notebook: z_dim 16")
    ring_hidden: int = param(
        16, "units per hidden layer of G and D", source="TheNumericsOfGANs notebook: 16", min=1
    )
    ring_depth: int = param(
        4, "hidden ReLU layers of G and D", source="TheNumericsOfGANs notebook: 4", min=1
    )
    ring_points: int = param(
        100000, "ring samples per seed the loop draws minibatches from", source=OURS, min=2
    )
    k_values: str = param(
        "1,2,5",
        "D updates per G update in Algorithm 1 (comma-separated)",
        source="issue: k = 1, 2, 5; Goodfellow et al. 2014 used k = 1",
    )

    # -- 3./4. on MNIST with the 2014 networks (`game_mnist`) --
    mnist_conditions: str = param(
        ",".join(MNIST_CONDITIONS),
        "MNIST conditions (comma-separated): simultaneous and alternating_k<k> with the 2014 SGD "
        "recipe; consensus, rmsprop_simultaneous and rmsprop_alternating with RMSProp",
        source="issue 18, parts 3-4: k = 1, 2, 5 and the 2014 code's simultaneous step; "
        "consensus against simultaneous and alternating RMSProp on the same networks",
    )
    mnist_g_steps: int = param(
        1000,
        "generator updates of every MNIST condition and seed (0: the MNIST part is not run); a "
        "multiple of one pass at k = 1 (mnist_train_images / 100)",
        source="ours, to fit ~45 min on one CPU thread: 7 conditions x 3 seeds cost ~0.7 s per "
        "G update together (measured, 2014 networks, batch 100), so 2 passes over the 50,000 "
        "images at k = 1; the 2014 run trained for hundreds of epochs",
        min=0,
    )
    mnist_seeds: int = param(
        3,
        "seeds per MNIST condition (seed, seed + 1, ...); within a seed every condition starts "
        "from the same weights",
        source=OURS,
        min=2,
    )
    mnist_train_images: int = param(
        50000,
        "MNIST training images (the first n of the 50k split)",
        source="mnist.yaml: MNIST train start 0 stop 50000",
        min=100,
        max=50000,
    )
    mnist_rmsprop_lr: float = param(
        1e-4,
        "RMSProp lr of consensus and of its two baselines",
        source="TheNumericsOfGANs: RMSProp 1e-4 (CIFAR-10 and the mixture of Gaussians)",
        min=0,
    )
    mnist_consensus_weight: float = param(
        10.0, "consensus gamma on MNIST", source="TheNumericsOfGANs: reg_param 10"
    )
    mnist_eval_samples: int = param(
        5000,
        "samples per run, scored by Parzen LL and FID (both depend on the count: compare "
        "values only at one count; Table 1 used 10,000)",
        source="ours: FID's classifier pass is the cost, ~1 s per 1,000 samples on one thread",
        min=10,
        max=10000,
    )
    mnist_parzen_valid: int = param(
        2000,
        "validation images of the Parzen score: the first half chooses sigma (the paper's grid), "
        "the second half is scored",
        source="ours, as the wgan_vs_js chapter's quality score",
        min=4,
        max=10000,
    )
    mnist_fid_reference: int = param(
        10000,
        "validation images whose classifier features are the FID reference",
        source=OURS,
        min=200,
        max=10000,
    )
    mnist_classifier_images: int = param(
        50000,
        "training images of the digit classifier behind FID",
        source=OURS,
        min=100,
        max=50000,
    )
    mnist_classifier_epochs: int = param(
        3,
        "epochs of the digit classifier (Adam 1e-3, batch 128)",
        source="our choice, as the wgan_vs_js chapter: ~99% test accuracy",
        min=1,
    )

    def mnist_condition_list(self) -> list[str]:
        names = [c.strip() for c in self.mnist_conditions.split(",") if c.strip()]
        bad = [c for c in names if c not in MNIST_FIXED and not _is_k_condition(c)]
        if not names or bad or len(set(names)) < len(names):
            raise ConfigError(
                f"mnist_conditions must be distinct names from {MNIST_FIXED} or alternating_k<k> "
                f"(k >= 1), comma-separated; got {self.mnist_conditions!r}"
            )
        return names

    def mnist_pass_g_steps(self) -> int:
        """G updates in one pass over the MNIST images at k = 1 (the 2014 recipe's batch)."""
        return self.mnist_train_images // Mnist2014Recipe().batch_size

    def k_list(self) -> list[int]:
        try:
            ks = [int(k) for k in self.k_values.split(",")]
        except ValueError:
            ks = []
        if not ks or min(ks) < 1:
            raise ConfigError(
                f"k_values must be positive integers like '1,2,5', got {self.k_values!r}"
            )
        return ks

    def check(self) -> None:
        self.k_list()
        self.mnist_condition_list()
        if self.mnist_g_steps % self.mnist_pass_g_steps():
            raise ConfigError(
                f"mnist_g_steps ({self.mnist_g_steps}) must be a multiple of one pass at k = 1 "
                f"(mnist_train_images / batch = {self.mnist_pass_g_steps()})"
            )
        if self.ring_batch > self.ring_points:
            raise ConfigError(
                f"ring_batch ({self.ring_batch}) exceeds ring_points ({self.ring_points})"
            )
        if self.ring_g_steps % self.ring_eval_every:
            raise ConfigError(
                f"ring_g_steps ({self.ring_g_steps}) must be a multiple of ring_eval_every "
                f"({self.ring_eval_every})"
            )
        if self.d_batch > self.d_points:
            raise ConfigError(
                f"d_batch ({self.d_batch}) must not exceed d_points ({self.d_points})"
            )

    def seeds(self, n: int) -> list[int]:
        return list(range(self.seed, self.seed + n))

    def ts(self) -> np.ndarray:
        return np.linspace(0.0, 1.0, self.theorem_generators)

    def critic_fit(self) -> CriticFit:
        return CriticFit(
            "gan", self.d_epochs, self.d_batch, self.d_lr, hidden=self.d_hidden, depth=self.d_depth
        )

    def dirac_game(self, variant: str) -> DiracGame:
        return DiracGame(
            variant, self.dirac_clip, self.dirac_gp_weight, self.dirac_consensus_weight
        )


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
