"""The WGAN chapter's parameters, each with its source (Arjovsky et al. 2017 and the released
WassersteinGAN code; Gulrajani et al. 2017 for the gradient penalty)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from replication.config import ConfigError, ExperimentConfig, param
from replication.nets.wgan2017 import GENERATORS
from replication.training import objectives
from replication.training.fit_critic import CriticFit

W = "Arjovsky et al. 2017"
WC = "WassersteinGAN main.py (martinarjovsky)"
GP = "Gulrajani et al. 2017, Algorithm 1"
LOSSES = ("gan", "wgan", "wgan_gp")  # the chapter's runs; their recipes are in the registry
LOSS_LABELS = {loss: objectives.get(loss).label for loss in LOSSES}


@dataclass(frozen=True)
class WganVsJsConfig(ExperimentConfig):
    CHAPTER = "wgan_vs_js"
    # a time budget changes when training stops (each run reports how far it got), not the runs
    BUDGET_FIELDS = ("device", "data_dir", "time_budget_minutes")
    PROFILE_OVERRIDES = {
        "quick": {
            "theta_grid_size": 11,
            "g_iters": 500,
            "eval_every": 50,
            "dim": 32,
            "quality_samples": 1000,
            "quality_valid": 1000,
            "median_window": 11,
        },
    }

    # -- 1 and 2: toy problems
    theta_grid_size: int = param(41, "theta values on [-1, 1] (odd: includes 0)", min=3)
    toy_points: int = param(4096, "real points each toy discriminator trains on", min=256)
    toy_epochs: int = param(
        120, "passes over the toy points (batch 256) to reach near-optimality", min=1
    )
    toy_lr_gan: float = param(1e-3, "Adam(0.5, 0.999) lr of the toy discriminator", min=0)
    toy_lr_wgan: float = param(
        1e-3,
        "RMSprop lr of the toy clipped critic",
        source="our choice: 5e-5 (images) would need ~20x more steps on the toys",
        min=0,
    )
    toy_lr_gp: float = param(
        3e-4,
        "Adam(0, 0.9) lr of the toy GP critic",
        source="our choice: 1e-3 sometimes lost the critic at theta = 0.5 (dead units)",
        min=0,
    )
    gauss_real_mean: float = param(
        -2.0, "mean of the real Gaussian", source="our choice: the paper gives no values"
    )
    gauss_fake_mean: float = param(
        2.0, "mean of the fake Gaussian", source="our choice: the paper gives no values"
    )
    gauss_std: float = param(
        0.3, "std of both Gaussians", source="our choice: far apart = no overlap", min=1e-3
    )
    # -- 3: MNIST
    generator: str = param(
        "dcgan", "generator of the main runs", choices=tuple(GENERATORS), source=f"{W}, Sec. 4"
    )
    robust_generator: str = param(
        "mlp",
        "generator of the robustness runs",
        choices=tuple(GENERATORS),
        source=f"{W}, Fig. 7: 4-layer ReLU MLP, 512 units, no batch norm; released "
        "models/mlp.py: 3 hidden layers, linear output",
    )
    noise_dim: int = param(100, "dimension of z ~ N(0, I)", source=f"{WC}: nz 100", min=1)
    dim: int = param(64, "channels of the conv nets (d, 2d)", source=f"{WC}: ngf = ndf = 64", min=4)
    batch_size: int = param(64, "minibatch size", source=f"{W}, Algorithm 1: m = 64", min=2)
    g_iters: int = param(
        20000,
        "generator iterations of each run",
        source="our choice: the paper's axes run past 1e5 on LSUN; MNIST needs fewer",
        min=1,
    )
    eval_every: int = param(
        500, "generator iterations between quality checkpoints (and sample grids)", min=1
    )
    time_budget_minutes: float | None = param(
        None,
        "training time for all MNIST runs together (they run in turn); stops after the quality "
        "checkpoint that crosses it, and a re-run resumes; 0 evaluates what is trained",
        min=0,
    )
    wgan_lr: float = param(5e-5, "RMSprop lr (G and critic)", source=f"{W}, Alg. 1: 5e-5", min=0)
    clip: float = param(0.01, "critic weights clamped to [-c, c]", source=f"{W}, Alg. 1", min=0)
    n_critic: int = param(5, "critic updates per G update", source=f"{W}, Alg. 1", min=1)
    warmup_critic: int = param(
        100,
        "critic updates per G update in the first 25 and every 500th G iteration",
        source=f"{WC}: Diters = 100",
        min=1,
    )
    gp_weight: float = param(10.0, "gradient penalty weight lambda", source=GP, min=0)
    gp_lr: float = param(1e-4, "Adam lr, betas (0, 0.9)", source=GP, min=0)
    gan_lr: float = param(
        2e-4, "Adam lr of the GAN, betas (0.5, 0.999)", source="DCGAN (Radford et al. 2016)", min=0
    )
    quality_samples: int = param(
        10000,
        "samples scored at each quality checkpoint (as many real test images are the reference)",
        min=10,
        max=10000,
    )
    quality_valid: int = param(
        2000,
        "validation images: first half chooses sigma, second half is scored",
        min=4,
        max=10000,
    )
    median_window: int = param(
        101,
        "median filter window of the loss curves: the last N generator iterations (trailing, so "
        "the value at a checkpoint uses nothing after it)",
        source=f"{W}, Figs. 3-4 median-filter their curves (window not given)",
        min=1,
    )
    classifier_epochs: int = param(
        3,
        "epochs of the digit classifier behind FID and the classifier score (Adam 1e-3, batch "
        "128, the 50,000 training images)",
        source="our choice: ~99% test accuracy",
        min=1,
    )
    fid_reference: int = param(
        10000,
        "validation images whose classifier features are the FID reference",
        min=200,
        max=10000,
    )

    def check(self) -> None:
        if self.theta_grid_size % 2 == 0:
            raise ConfigError("theta_grid_size must be odd so that the grid contains theta = 0")
        if self.g_iters % self.eval_every:
            raise ConfigError(
                f"g_iters ({self.g_iters}) must be a multiple of eval_every ({self.eval_every})"
            )
        if self.gauss_real_mean == self.gauss_fake_mean:
            raise ConfigError("gauss_real_mean and gauss_fake_mean must differ")

    def thetas(self) -> np.ndarray:
        return np.linspace(-1.0, 1.0, self.theta_grid_size)

    def fits(self) -> dict[str, CriticFit]:
        common = {"epochs": self.toy_epochs}
        return {
            "gan": CriticFit("gan", lr=self.toy_lr_gan, **common),
            "wgan": CriticFit("wgan", lr=self.toy_lr_wgan, clip=self.clip, **common),
            "wgan_gp": CriticFit("wgan_gp", lr=self.toy_lr_gp, gp_weight=self.gp_weight, **common),
        }
