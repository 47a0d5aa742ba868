"""The objective registry: one entry per GAN variant, the only place its recipe is written.

An `Objective` says what D and G minimise (pure functions of logits or critic values, from
`losses`), which update rule trains them (`steps.UPDATE_RULES`), how many D updates come before
each G update, what keeps a critic Lipschitz (weight clipping after each step, or a gradient
penalty in its cost), the optimiser the variant was published with, and where all that comes
from. Chapters and the toy fits look an entry up by name and may override its hyperparameters
(`tuned`); adding a variant is one `register` call, here or in the code that wants it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import torch
from torch import nn

from replication.training.losses import (
    GENERATOR_COSTS,
    GeneratorCost,
    critic_wasserstein,
    discriminator_bce,
    generator_nonsaturating,
    generator_wasserstein,
    gradient_penalty,
    js_estimate,
    seed_separable,
)
from replication.training.optim import ClassicMomentumSGD
from replication.training.stabilisers import Stabiliser
from replication.training.state import GAN
from replication.training.steps import UPDATE_RULES, DiscriminatorCost, Penalty
from replication.training.variants import (
    EbganMargin,
    FganBound,
    FganDiscriminator,
    FganGenerator,
    OneSidedSmoothing,
    ebgan_generator,
)

WGAN = "Arjovsky, Chintala & Bottou 2017, Algorithm 1"
WGAN_CODE = "WassersteinGAN main.py (martinarjovsky)"
WGAN_GP = "Gulrajani et al. 2017, Algorithm 1"
GAN2014 = "Goodfellow et al. 2014, Algorithm 1 (k = 1), and its code: AdversaryCost2"


# -- the pieces an objective is made of ----------------------------------------------------------
@dataclass(frozen=True)
class CriticSchedule:
    """D updates before the next G update, given the G updates so far: `n`, except
    `warmup_critic` in the first `warmup_g_iters` and every `every`-th G iteration (0: never).

    WGAN's released code: `Diters = 100 if gen_iterations < 25 or gen_iterations % 500 == 0
    else 5`, so the critic starts near optimal and is brought back there every 500 iterations."""

    n: int = 1
    warmup_g_iters: int = 0
    warmup_critic: int = 1
    every: int = 0

    def __call__(self, g_iters: int) -> int:
        if g_iters < self.warmup_g_iters or (self.every > 0 and g_iters % self.every == 0):
            return self.warmup_critic
        return self.n


@torch.no_grad()
def clip_weights_(module: nn.Module, c: float) -> None:
    """Clamp every parameter of the critic to [-c, c]: WGAN's crude Lipschitz constraint."""
    for p in module.parameters():
        p.clamp_(-c, c)


class Constraint(Protocol):
    def prepare(self, critic: nn.Module) -> None:
        """Impose the constraint on a freshly initialised critic."""
        ...

    def __call__(self, gan: GAN) -> None:
        """Impose it again after an update."""
        ...


@dataclass(frozen=True)
class ClipWeights:
    """Weight clipping at `c`. We clamp at initialisation and after every update; the released
    code clamps before each critic update instead, so there the generator update that follows
    sees the last critic step unclipped. Same constraint, one step apart."""

    c: float

    def prepare(self, critic: nn.Module) -> None:
        clip_weights_(critic, self.c)

    def __call__(self, gan: GAN) -> None:
        clip_weights_(gan.discriminator, self.c)


@dataclass(frozen=True)
class GradientPenalty:
    """`weight` * E (||grad f(x_hat)|| - 1)^2, added to the critic's cost (`losses`)."""

    weight: float

    def __call__(self, critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return gradient_penalty(critic, real, fake, self.weight)


@dataclass(frozen=True)
class Optimiser:
    """An optimiser class with its published lr and options; both nets get one each."""

    kind: type[torch.optim.Optimizer]
    lr: float
    options: tuple[tuple[str, Any], ...] = ()
    source: str = ""

    def __call__(
        self, params: Iterable[torch.Tensor], lr: float | None = None
    ) -> torch.optim.Optimizer:
        return self.kind(params, lr=self.lr if lr is None else lr, **dict(self.options))


@seed_separable
def js_divergence(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """JSD = log 2 - J(D): exact at the optimal discriminator, a lower bound otherwise."""
    return js_estimate(discriminator_bce(real_logits, fake_logits))


@seed_separable
def wasserstein_estimate(real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    """W1 = E f(x) - E f(G(z)) at the optimal 1-Lipschitz critic (a lower bound otherwise)."""
    return -critic_wasserstein(real_out, fake_out)


# -- the objective -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Objective:
    """One GAN variant. `tunable` maps a hyperparameter name a config may set to the field it
    sets: (field of the objective, field of that part, or "" for the objective's own)."""

    name: str
    label: str
    d_cost: DiscriminatorCost
    g_cost: GeneratorCost
    update: str  # "simultaneous" (the 2014 code) or "alternating" (DCGAN, WGAN)
    optimiser: Optimiser
    source: str
    n_critic: CriticSchedule = CriticSchedule()  # alternating rule only
    constraint: Constraint | None = None
    penalty: Penalty | None = None
    g_cost_scale: float = 1.0
    divergence: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    tunable: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    consensus_weight: float = 0.0  # consensus rule only: gamma of g + gamma grad(1/2 ||g||^2)
    stabiliser: Stabiliser | None = None  # stabilised rule only: Salimans / Metz hooks

    def __post_init__(self) -> None:
        if self.update not in UPDATE_RULES:
            raise ValueError(f"{self.name}: update must be one of {list(UPDATE_RULES)}")
        if self.penalty is not None and self.update != "alternating":
            raise ValueError(f"{self.name}: a critic penalty needs the alternating rule")
        if (self.stabiliser is not None) != (self.update == "stabilised"):
            raise ValueError(f"{self.name}: a stabiliser goes with the stabilised rule")
        if (self.consensus_weight != 0.0) != (self.update == "consensus"):
            raise ValueError(f"{self.name}: a consensus weight goes with the consensus rule")

    def tuned(self, **values: float | str) -> Objective:
        """This objective with the hyperparameters it has set to `values`. A chapter passes all
        of its own (clip, gp_weight, ...); each objective takes those in its `tunable`."""
        unknown = set(values) - {h for o in _REGISTRY.values() for h in o.tunable}
        if unknown:
            raise KeyError(f"no registered objective has hyperparameter(s) {sorted(unknown)}")
        obj = self
        for name, value in values.items():
            if name in self.tunable:
                part, attr = self.tunable[name]
                new = replace(getattr(obj, part), **{attr: value}) if attr else value
                obj = replace(obj, **{part: new})
        return obj

    def prepare_critic(self, critic: nn.Module) -> None:
        """Constrain a fresh critic before its first step (the released WGAN code does)."""
        if self.constraint is not None:
            self.constraint.prepare(critic)

    def optimisers(
        self, generator: nn.Module, discriminator: nn.Module, lr: float | None = None
    ) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        """(opt_g, opt_d), the published optimiser at its lr unless `lr` is given."""
        return self.optimiser(generator.parameters(), lr), self.optimiser(
            discriminator.parameters(), lr
        )


class UnknownObjective(LookupError):
    """No objective of that name is registered."""


_REGISTRY: dict[str, Objective] = {}


def register(obj: Objective, replace_existing: bool = False) -> Objective:
    """Add `obj` under its name; a second entry of one name is refused unless replacing."""
    if obj.name in _REGISTRY and not replace_existing:
        raise ValueError(f"objective {obj.name!r} is already registered")
    _REGISTRY[obj.name] = obj
    return obj


def unregister(name: str) -> None:
    """Remove an entry (for tests and notebooks that try a variant)."""
    _REGISTRY.pop(name, None)


def get(name: str) -> Objective:
    if name not in _REGISTRY:
        raise UnknownObjective(f"unknown objective {name!r}; known: {', '.join(names())}")
    return _REGISTRY[name]


def names() -> list[str]:
    return list(_REGISTRY)


# -- the entries ---------------------------------------------------------------------------------
_SGD2014 = Optimiser(
    ClassicMomentumSGD, 0.1, (("momentum", 0.5),), "pylearn2 SGD, classic momentum (mnist.yaml)"
)
for _cost in GENERATOR_COSTS:  # the loss-saturation chapter trains each; the Parzen ones use NS
    register(
        Objective(
            name=f"gan2014_{_cost}",
            label=f"GAN 2014, {_cost} G cost",
            d_cost=discriminator_bce,
            g_cost=GENERATOR_COSTS[_cost],
            update="simultaneous",
            optimiser=_SGD2014,
            source=GAN2014,
            g_cost_scale=2.0,  # AdversaryCost2: g_obj = BCE(1, D(G(z))), without the tutorial's 1/2
            divergence=js_divergence,
            tunable={"g_cost_scale": ("g_cost_scale", "")},
        )
    )

register(
    Objective(
        name="gan",
        label="GAN (JS)",
        d_cost=discriminator_bce,
        g_cost=generator_nonsaturating,
        update="alternating",
        optimiser=Optimiser(
            torch.optim.Adam, 2e-4, (("betas", (0.5, 0.999)),), "DCGAN (Radford et al. 2016)"
        ),
        source="DCGAN (Radford et al. 2016): one D update, then one G update, non-saturating G",
        divergence=js_divergence,
    )
)

register(
    Objective(
        name="wgan",
        label="WGAN (clipping)",
        d_cost=critic_wasserstein,
        g_cost=generator_wasserstein,
        update="alternating",
        optimiser=Optimiser(torch.optim.RMSprop, 5e-5, (), f"{WGAN}: RMSprop, 5e-5"),
        source=f"{WGAN}; critic schedule from {WGAN_CODE}",
        n_critic=CriticSchedule(n=5, warmup_g_iters=25, warmup_critic=100, every=500),
        constraint=ClipWeights(0.01),
        divergence=wasserstein_estimate,
        tunable={
            "n_critic": ("n_critic", "n"),
            "warmup_critic": ("n_critic", "warmup_critic"),
            "clip": ("constraint", "c"),
        },
    )
)

register(
    Objective(
        name="wgan_gp",
        label="WGAN-GP",
        d_cost=critic_wasserstein,
        g_cost=generator_wasserstein,
        update="alternating",
        optimiser=Optimiser(
            torch.optim.Adam, 1e-4, (("betas", (0.0, 0.9)),), f"{WGAN_GP}: Adam 1e-4, (0, 0.9)"
        ),
        source=WGAN_GP,
        n_critic=CriticSchedule(n=5),
        penalty=GradientPenalty(10.0),
        divergence=wasserstein_estimate,
        tunable={"n_critic": ("n_critic", "n"), "gp_weight": ("penalty", "weight")},
    )
)


def discriminator_bce_unhalved(
    real_logits: torch.Tensor, fake_logits: torch.Tensor
) -> torch.Tensor:
    """BCE(real) + BCE(fake), without `discriminator_bce`'s 1/2: the consensus authors' d_loss
    (their train.py, gan_type "standard"). The scale matters here: it sets the weight of the
    consensus term against the gradient, so their reg_param 10 holds for their losses."""
    return 2.0 * discriminator_bce(real_logits, fake_logits)


CONSENSUS = "Mescheder, Nowozin & Geiger 2017; code TheNumericsOfGANs (optimizer.py, train.py)"
register(
    Objective(
        name="gan_consensus",
        label="GAN, consensus optimisation",
        d_cost=discriminator_bce_unhalved,
        g_cost=generator_nonsaturating,
        update="consensus",
        optimiser=Optimiser(
            torch.optim.RMSprop,
            1e-4,
            (("alpha", 0.9), ("eps", 1e-10)),  # tf.train.RMSPropOptimizer's decay and epsilon
            f"{CONSENSUS}: RMSProp 1e-4 (CIFAR-10 and the mixture of Gaussians)",
        ),
        source=f"{CONSENSUS}: RMSProp on g + reg_param grad(1/2 ||g||^2), reg_param 10",
        g_cost_scale=2.0,  # their g_loss: BCE(1, D(G(z))) without the tutorial's 1/2
        divergence=js_divergence,
        consensus_weight=10.0,
        tunable={"consensus_weight": ("consensus_weight", "")},
    )
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
    "encoder codes of the generated batch; w = 0.1 is our choice, as reimplementations use "
    "(torchgan's EnergyBasedPullingAwayTerm pt_ratio, eriklindernoren/PyTorch-GAN's "
    "lambda_pt): the paper's value was not found in the text searched",
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
    f"{SALIMANS}, Sec. 3.4: real targets 0.9, fake targets 0",
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
