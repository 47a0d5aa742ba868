"""The MNIST adversarial net of Goodfellow et al. 2014 as one config block and a builder.

Every value names its source; "mnist.yaml" is the paper's released configuration
(github.com/goodfeli/adversarial), "AdversaryCost2" its cost in adversarial/__init__.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from replication.config import ExperimentConfig, param
from replication.nets.mlp2014 import (
    Discriminator,
    Generator,
    init_output_bias_from_marginals_,
    init_uniform_,
)
from replication.training import objectives
from replication.training.loop import train
from replication.training.optim import ClassicMomentumSGD
from replication.training.schedules import Schedule, pylearn2_schedule
from replication.training.state import GAN

Y = "mnist.yaml"


@dataclass(frozen=True)
class Mnist2014Recipe(ExperimentConfig):
    noise_dim: int = param(100, "dimension of z", source=f"{Y}: nvis 100", min=1)
    noise: str = param(
        "uniform",
        "distribution of z: uniform on [-sqrt 3, sqrt 3] or gaussian N(0, 1)",
        source=f"{Y} history: 'uniform' in 600ee5c (2014-06-09), none (the Generator default, "
        "gaussian) in 068bb03 (06-17), 'uniform' again in f77a509 (06-18, 'uniform noise turned "
        "out to be ok')",
        choices=("uniform", "gaussian"),
    )
    bias_clip: float = param(
        1e-7,
        "G's output bias starts at logit(mean training pixel clipped to [c, 1-c])",
        source="mnist.yaml: init_bias from pylearn2.models.dbm.init_sigmoid_bias_from_marginals, "
        "whose init_sigmoid_bias_from_array clips the mean at 1e-7",
        min=1e-12,
        max=0.5,
    )
    g_hidden: int = param(
        1200, "units in each of G's two ReLU layers", source=f"{Y}: h0, h1 dim 1200", min=1
    )
    g_irange: float = param(
        0.05, "G weights ~ U(-irange, irange)", source=f"{Y}: irange .05", min=0
    )
    d_units: int = param(240, "maxout units per D layer", source=f"{Y}: num_units 240", min=1)
    d_pieces: int = param(5, "pieces per maxout unit", source=f"{Y}: num_pieces 5", min=1)
    d_irange: float = param(
        0.005, "D weights ~ U(-irange, irange)", source=f"{Y}: irange .005", min=0
    )
    d_input_keep: float = param(
        0.8,
        "dropout: probability of keeping a pixel (kept pixels x1.25)",
        source="mnist.yaml: discriminator_input_include_probs h0 .8, scale 1.25",
        min=0.01,
        max=1,
    )
    d_hidden_keep: float = param(
        0.5,
        "dropout: probability of keeping a hidden unit (kept x2)",
        source="mnist.yaml: discriminator_default_input_include_prob .5, scale 2",
        min=0.01,
        max=1,
    )
    batch_size: int = param(100, "minibatch size", source=f"{Y}: batch_size 100", min=1)
    lr: float = param(0.1, "initial learning rate", source=f"{Y}: learning_rate .1", min=0)
    lr_decay: float = param(
        1.000004,
        "lr divided by this after every update",
        source=f"{Y}: ExponentialDecay decay_factor 1.000004",
        min=1,
    )
    min_lr: float = param(1e-6, "floor of the learning rate", source=f"{Y}: min_lr .000001", min=0)
    momentum_start: float = param(
        0.5, "momentum in epoch 1", source=f"{Y}: init_momentum .5", min=0, max=1
    )
    momentum_final: float = param(
        0.7,
        "momentum from the saturate epoch on",
        source=f"{Y}: MomentumAdjustor final_momentum .7",
        min=0,
        max=1,
    )
    momentum_saturate_epoch: int = param(
        250,
        "epoch at which momentum reaches its final value",
        source=f"{Y}: MomentumAdjustor saturate 250",
        min=1,
    )
    g_cost_scale: float = param(
        2.0,
        "G's cost is this times the tutorial's 1/2-scaled J(G)",
        source="AdversaryCost2: g_obj = BCE(1, D(G(z))), no 1/2 factor",
        min=0,
    )
    train_images: int = param(
        50000,
        "training images used (the first n of the 50k split)",
        source=f"{Y}: MNIST train start 0 stop 50000",
        min=100,
        max=50000,
    )

    def schedule(self) -> Schedule:
        return pylearn2_schedule(self)

    def fingerprint(self) -> dict:
        """What a checkpoint must agree on to be resumed (budgets and location may change)."""
        skip = {"device", "data_dir", "epochs", "time_budget_minutes", "eval_every"}
        return {k: v for k, v in self.as_dict().items() if k not in skip}


def build_gan(cfg: Mnist2014Recipe, train: torch.Tensor, device: torch.device) -> GAN:
    """Models and optimisers initialised as the 2014 code did, seeded by `cfg.seed`."""
    torch.manual_seed(cfg.seed)
    G = Generator(cfg.noise_dim, cfg.g_hidden, train.shape[1], noise=cfg.noise)
    D = Discriminator(
        train.shape[1], cfg.d_units, cfg.d_pieces, cfg.d_input_keep, cfg.d_hidden_keep
    )
    init_uniform_(G, cfg.g_irange)
    init_uniform_(D, cfg.d_irange)
    init_output_bias_from_marginals_(G, train.cpu(), eps=cfg.bias_clip)
    G, D = G.to(device), D.to(device)
    # pylearn2 trained both nets with one SGD; two optimisers with the same schedule are the same
    opt_g = ClassicMomentumSGD(G.parameters(), lr=cfg.lr, momentum=cfg.momentum_start)
    opt_d = ClassicMomentumSGD(D.parameters(), lr=cfg.lr, momentum=cfg.momentum_start)
    return GAN(G, D, opt_g, opt_d)


def train_with_recipe(
    gan: GAN, data: torch.Tensor, cfg: Mnist2014Recipe, g_cost: str, **kwargs
) -> GAN:
    """The 2014 training run for `cfg.epochs` epochs with the named generator cost; `kwargs` go
    to `train.train` (checkpoints, callbacks, selection, budget)."""
    return train(
        gan,
        data,
        objectives.get(f"gan2014_{g_cost}").tuned(g_cost_scale=cfg.g_cost_scale),
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        schedule=cfg.schedule(),
        fingerprint=cfg.fingerprint(),
        **kwargs,
    )
