"""The mode-collapse chapter's entries of the objective registry (`objectives`): the minimax
GAN, EBGAN with and without the pulling-away term, four f-GANs, Salimans et al.'s techniques,
the unrolled and the conditional GAN. Split from `objectives.py` to keep each module small; they
are registered into the same registry when `objectives` is imported (its last line imports
this module), so every caller sees one list of names, in the same order as before.
"""

from __future__ import annotations

from typing import Any

import torch

from replication.training.losses import (
    GENERATOR_COSTS,
    discriminator_bce,
    generator_nonsaturating,
)
from replication.training.objectives import Objective, Optimiser, js_divergence, register
from replication.training.stabilisers import Stabiliser
from replication.training.variants import (
    EbganMargin,
    FganBound,
    FganDiscriminator,
    FganGenerator,
    OneSidedSmoothing,
    ebgan_generator,
)

# -- the mode-collapse chapter's methods (sources in each entry; hyperparameters a paper does not
# give are marked "chosen" and set by the chapter's config) ------------------------------------
_DCGAN_ADAM = Optimiser(
    torch.optim.Adam, 2e-4, (("betas", (0.5, 0.999)),), "DCGAN (Radford et al. 2016)"
)
SALIMANS = "Salimans et al. 2016, Improved techniques for training GANs"


def _toy_gan(name: str, label: str, source: str, **fields: Any) -> Objective:
    """A GAN variant with the alternating rule, DCGAN's Adam and the JS estimate unless set."""
    base: dict[str, Any] = {
        "d_cost": discriminator_bce,
        "g_cost": generator_nonsaturating,
        "update": "alternating",
        "optimiser": _DCGAN_ADAM,
        "divergence": js_divergence,
    }
    return register(Objective(name=name, label=label, source=source, **{**base, **fields}))


_toy_gan(
    "gan_minimax",
    "GAN, minimax G cost",
    "Goodfellow et al. 2014, Eq. 1: G minimises E log(1 - D(G(z))); alternating, DCGAN's Adam",
    g_cost=GENERATOR_COSTS["minimax"],
)
_toy_gan(
    "ebgan",
    "EBGAN (margin loss, autoencoder D)",
    "Zhao, Mathieu & LeCun 2017, Eq. 1-2: L_D = D(x) + [m - D(G(z))]^+, L_G = D(G(z)), "
    "D(x) an autoencoder's reconstruction error; m chosen by the chapter",
    d_cost=EbganMargin(1.0),
    g_cost=ebgan_generator,
    divergence=None,
    tunable={"margin": ("d_cost", "margin")},
)
_toy_gan(
    "ebgan_pt",
    "EBGAN with the pulling-away term",
    "Zhao, Mathieu & LeCun 2017, Eq. 1-2 and Sec. 2.4: EBGAN's costs, G's + w f_PT(S), S the "
    "encoder codes of the generated batch; w = 0.1 as Sec. 2.4 ('a weight of 0.1 is "
    "associated with it'), in G's cost only",
    d_cost=EbganMargin(1.0),
    g_cost=ebgan_generator,
    divergence=None,
    update="stabilised",
    stabiliser=Stabiliser(pull_away_weight=0.1),
    tunable={
        "margin": ("d_cost", "margin"),
        "pull_away_weight": ("stabiliser", "pull_away_weight"),
    },
)
for _f, _label in (
    ("kl", "KL"),
    ("reverse_kl", "reverse KL"),
    ("js", "Jensen-Shannon"),
    ("pearson", "Pearson chi^2"),
):
    _toy_gan(
        f"fgan_{_f}",
        f"f-GAN, {_label}",
        "Nowozin, Cseke & Tomioka 2016, Eq. 6 with Table 2's output activation and conjugate; "
        "G maximises E g_f(V(G(z))) (Sec. 3.2)",
        d_cost=FganDiscriminator(_f),
        g_cost=FganGenerator(_f),
        divergence=FganBound(_f),
    )
_toy_gan(
    "feature_matching",
    "Feature matching",
    f"{SALIMANS}, Sec. 3.1: G minimises ||E f(x) - E f(G(z))||^2 on D's last hidden layer",
    update="stabilised",
    stabiliser=Stabiliser(feature_matching=True),
)
_toy_gan(
    "minibatch_discrimination",
    "Minibatch discrimination",
    f"{SALIMANS}, Sec. 3.2: D's minibatch layer (in the network); real and fake minibatches "
    "pass D separately",
    update="stabilised",
    stabiliser=Stabiliser(),
)
_toy_gan(
    "historical_averaging",
    "Historical averaging",
    f"{SALIMANS}, Sec. 3.3: each cost + w ||theta - mean of past thetas||^2; w chosen",
    update="stabilised",
    stabiliser=Stabiliser(history_weight=1.0),
    tunable={"history_weight": ("stabiliser", "history_weight")},
)
_toy_gan(
    "one_sided_smoothing",
    "One-sided label smoothing",
    f"{SALIMANS}, Sec. 3.4: positive targets smoothed to alpha ('like .9'; the paper gives no "
    "value used, their released ImageNet code smooths to 0.75), 0.9 here; fake targets 0",
    d_cost=OneSidedSmoothing(0.9),
)
_toy_gan(
    "virtual_batch_norm",
    "Virtual batch normalisation",
    f"{SALIMANS}, Sec. 3.5: G's hidden layers normalised by a fixed reference batch "
    "(in the network)",
)
_toy_gan(
    "unrolled_gan",
    "Unrolled GAN",
    "Metz, Poole, Pfau & Sohl-Dickstein 2017, Eq. 5-7: G minimises the GAN value f at D's "
    "parameters after k updates of D's own Adam, differentiated through them (the authors' "
    "demo, poolio/unrolled_gan); k = 10 as their Figure 1; minimax G cost when k = 0",
    g_cost=GENERATOR_COSTS["minimax"],
    update="stabilised",
    stabiliser=Stabiliser(unroll_steps=10, unroll_optimiser="adam"),
    tunable={
        "unroll_steps": ("stabiliser", "unroll_steps"),
        "unroll_optimiser": ("stabiliser", "unroll_optimiser"),
        "unroll_lr": ("stabiliser", "unroll_lr"),
    },
)
_toy_gan(
    "conditional_gan",
    "Conditional GAN",
    "Mirza & Osindero 2014, Eq. 2: the label y is an input of both G and D (in the networks)",
)
