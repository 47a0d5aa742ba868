"""The TFD chapter's parameters, each with its source (`tfd_pretrain/*.yaml` and `parzen_ll.py`
of goodfeli/adversarial); the chapter's compute is in `parzen_tfd.py`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from replication.config import ConfigError, ExperimentConfig, param
from replication.training.schedules import Schedule, pylearn2_schedule

PRE = "tfd_pretrain/pretrain.yaml"
TRN = "tfd_pretrain/train.yaml"
BOTH = "pretrain.yaml and train.yaml"
P = "parzen_ll.py of goodfeli/adversarial"
PAPER = "Goodfellow et al. 2014, Table 1"


@dataclass(frozen=True)
class ParzenTfdConfig(ExperimentConfig):
    CHAPTER = "parzen_tfd"
    BUDGET_FIELDS = ("device", "data_dir", "time_budget_minutes", "checkpoint_every_minutes")
    PROFILE_OVERRIDES = {
        "quick": {
            "g_hidden": 1000,
            "stack_hidden": 1000,
            "d_units": 240,
            "max_train_images": 5000,
        },
    }

    dataset: str = param(
        "auto",
        "'tfd' (the licensed TFD_48x48.mat), a public stand-in ('olivetti', 'frey'), or 'auto': "
        "TFD when the file is found, else the Olivetti stand-in",
        choices=("auto", "tfd", "olivetti", "frey"),
    )
    n_folds: int = param(
        5, "folds evaluated (0..n-1)", source=f"{PAPER}: ± across folds", min=1, max=5
    )
    noise_dim: int = param(
        100,
        "dimension of z ~ N(0, I)",
        source=f"{PRE}: nvis 100; adversarial.Generator noise='gaussian' (default)",
        min=1,
    )
    g_hidden: int = param(
        8000,
        "units of G's ReLU layer and of its sigmoid layer",
        source=f"{PRE}: h0 dim 8000, h1 dim 8000",
        min=1,
    )
    g_irange: float = param(
        0.05, "G weights ~ U(-irange, irange)", source=f"{BOTH}: irange .05", min=0
    )
    g_h1_bias: float = param(
        -2.0, "initial bias of G's sigmoid hidden layers", source=f"{BOTH}: h1 init_bias -2.0"
    )
    g_out_sparse_init: int = param(
        100,
        "G's output layer: inputs with N(0,1) weights per pixel, others 0; bias = "
        "logit(mean pixel)",
        source=f"{PRE}: y sparse_init 100, init_sigmoid_bias_from_marginals",
        min=1,
    )
    stack_hidden: int = param(
        8000,
        "ReLU units of the block stacked in front for stage 2",
        source=f"{TRN}: h0 dim 8000 (then h1 sigmoid dim 100)",
        min=1,
    )
    max_col_norm: float = param(
        1.9365,
        "L2 cap on the weights into each unit, every layer of both nets, after every update",
        source=f"{BOTH}: max_col_norm 1.9365",
        min=0,
    )
    d_units: int = param(1200, "maxout units per D layer", source=f"{BOTH}: num_units 1200", min=1)
    d_pieces: int = param(5, "pieces per maxout unit", source=f"{BOTH}: num_pieces 5", min=1)
    d_irange: float = param(
        0.005, "D weights ~ U(-irange, irange)", source=f"{BOTH}: irange .005", min=0
    )
    d_input_keep: float = param(
        0.8,
        "dropout: probability of keeping a pixel (kept x1.25)",
        source=f"{BOTH}: discriminator_input_include_probs h0 .8",
        min=0.01,
        max=1,
    )
    d_hidden_keep: float = param(
        0.5,
        "dropout: probability of keeping a hidden unit (kept x2)",
        source=f"{BOTH}: discriminator_default_input_include_prob .5",
        min=0.01,
        max=1,
    )
    batch_size: int = param(100, "minibatch size", source=f"{BOTH}: batch_size 100", min=1)
    lr: float = param(
        0.05, "initial learning rate (each stage)", source=f"{BOTH}: learning_rate .05", min=0
    )
    lr_decay: float = param(
        1.000004,
        "lr divided by this after every update",
        source=f"{BOTH}: ExponentialDecay decay_factor 1.000004",
        min=1,
    )
    min_lr: float = param(
        1e-6, "floor of the learning rate", source=f"{BOTH}: min_lr .000001", min=0
    )
    momentum_start: float = param(
        0.5, "momentum in epoch 1", source=f"{BOTH}: init_momentum .5", min=0, max=1
    )
    momentum_final: float = param(
        0.7,
        "momentum from the saturate epoch on",
        source=f"{BOTH}: MomentumAdjustor final_momentum .7",
        min=0,
        max=1,
    )
    momentum_saturate_epoch: int = param(
        250,
        "epoch at which momentum reaches its final value (never reached in 50 + 22 epochs)",
        source=f"{BOTH}: MomentumAdjustor saturate 250",
        min=1,
    )
    g_cost_scale: float = param(
        2.0,
        "G's cost is this times the tutorial's 1/2-scaled J(G)",
        source="AdversaryCost2 (as on MNIST)",
        min=0,
    )
    pretrain_epochs: int = param(
        50,
        "epochs of stage 1 (the 3-layer generator)",
        source=f"{PRE}: EpochCounter max_epochs 50",
        min=0,
    )
    train_epochs: int = param(
        22,
        "epochs of stage 2 (block stacked in front, fresh D)",
        source=f"{TRN}: EpochCounter max_epochs 22",
        min=0,
    )
    max_train_images: int | None = param(
        None,
        "use at most the first n images of the generator's training split (None: all)",
        source="our budget knob; TFD's unlabeled split has about 98,000 images",
        min=100,
    )
    n_samples: int = param(
        10000, "generator samples = Parzen centres, per fold", source=f"{P}: -n 10000", min=2
    )
    sigma_min_log10: float = param(
        -1.0, "sigma grid: logspace(min, max, n)", source=f"{P}: --sigma_start -1"
    )
    sigma_max_log10: float = param(
        0.0, "sigma grid: logspace(min, max, n)", source=f"{P}: --sigma_end 0"
    )
    sigma_grid_size: int = param(10, "sigma grid size", source=f"{P}: --cross_val 10", min=1)
    time_budget_minutes: float | None = param(
        None, "stop training after the epoch that crosses this (all folds); re-run resumes", min=0
    )

    checkpoint_every_minutes: float = param(
        5.0,
        "write last.pt at most this often (and when training stops); 0 = every epoch. A save "
        "of the paper-size nets is ~0.8 GB, longer than a stand-in epoch",
        min=0,
    )

    def check(self) -> None:
        if self.sigma_min_log10 > self.sigma_max_log10:
            raise ConfigError("sigma_min_log10 must not exceed sigma_max_log10")

    def sigmas(self) -> torch.Tensor:
        return torch.logspace(
            self.sigma_min_log10, self.sigma_max_log10, self.sigma_grid_size, dtype=torch.float64
        )

    def schedule(self) -> Schedule:
        return pylearn2_schedule(self)

    def fingerprint(self) -> dict[str, Any]:
        """What a training checkpoint must agree on (budgets, evaluation and location may
        change)."""
        skip = set(self.BUDGET_FIELDS) | {
            "n_folds",
            "n_samples",
            "sigma_min_log10",
            "sigma_max_log10",
            "sigma_grid_size",
            "pretrain_epochs",  # stage 1 may be extended; stage 2 records the epochs it built on
            "train_epochs",
        }
        return {k: v for k, v in self.as_dict().items() if k not in skip}
