"""The game chapter's parameters, each with its source, and its fixed 1-D densities (split from
`game_dynamics.py`, which holds the compute)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from replication.chapters.recipe2014 import Mnist2014Recipe
from replication.config import ConfigError, ExperimentConfig, param
from replication.metrics import game
from replication.training.dirac import DiracGame
from replication.training.fit_critic import CriticFit

OURS = "our choice"
# Runs of different base seeds never share a seed (a sweep over base seeds 0-2 must not train
# one seed twice, as range(seed, seed + n) did): run s of base seed b is SEED_STRIDE * b + s,
# so base seed 0 keeps 0, 1, 2, ... (as mode_collapse_images.run_seed).
SEED_STRIDE = 1000
# The ring's batched networks seed layer i of seed s from base + 1000 i + s, D's from base +
# 500 + 1000 i + s, its data from base + s (`nets.batched`, `datasets.toy`): a base seed's
# block is wider there, and `check` keeps every network inside it.
RING_SEED_STRIDE = 100_000
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
        source="ours, to fit about an hour on one CPU thread: a quick run (4eecc8a, shared "
        "CPU) measured ~1.0 s per G update for one seed's 7 conditions together, so 3 seeds x "
        "1,000 updates ~ 50 min of training (scoring aside); 2 passes over the 50,000 images "
        "at k = 1, where the 2014 run trained for hundreds of epochs",
        min=0,
    )
    mnist_seeds: int = param(
        3,
        "seeds per MNIST condition (1000 seed, 1000 seed + 1, ...: no two base seeds share "
        "one); within a seed every condition starts from the same weights",
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
        if max(self.theorem_seeds, self.mnist_seeds) > SEED_STRIDE:
            raise ConfigError(
                f"theorem_seeds and mnist_seeds must be at most {SEED_STRIDE}: the runs of base "
                f"seed b are {SEED_STRIDE} b + 0, 1, ..."
            )
        if self.ring_seeds > 500 or 1000 * self.ring_depth + 500 + self.ring_seeds > (
            RING_SEED_STRIDE
        ):
            raise ConfigError(
                f"ring_seeds ({self.ring_seeds}) must be at most 500 and ring_depth "
                f"({self.ring_depth}) small enough that the ring's networks, seeded base + 1000 "
                f"i + s (D: + 500), stay inside a base seed's block of {RING_SEED_STRIDE:,}"
            )
        if self.d_batch > self.d_points:
            raise ConfigError(
                f"d_batch ({self.d_batch}) must not exceed d_points ({self.d_points})"
            )

    def seeds(self, n: int) -> list[int]:
        """The seeds of n runs (Theorem 1's discriminators, the MNIST part's seeds)."""
        return [SEED_STRIDE * self.seed + s for s in range(n)]

    def ring_seed(self) -> int:
        """The ring's base seed: seed s of its batched networks and data is this + s."""
        return RING_SEED_STRIDE * self.seed

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
