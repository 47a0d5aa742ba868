"""The objective registry: one entry per GAN variant, the only place its recipe is written.

An `Objective` says what D and G minimise (pure functions of logits or critic values, from
`losses`), which update rule trains them (`steps.UPDATE_RULES`), how many D updates come before
each G update (and how many G updates follow), what keeps a critic Lipschitz (weight clipping
after each step, or a gradient penalty in its cost), the optimiser the variant was published
with, and where all that comes from. Chapters and the toy fits look an entry up by name and
may override its hyperparameters (`tuned`); adding a variant is one `register` call, here or in
the code that wants it.
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
from replication.training.steps import (
    MULTI_G_RULES,
    UPDATE_RULES,
    DiscriminatorCost,
    Penalty,
    check_g_updates,
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
    # G updates, each with new noise, after each D update that ends a critic streak: 1 as in
    # the papers' algorithms, 2 in PacGAN's Stacked MNIST code (alternating, stabilised rules)
    g_updates: int = 1

    def __post_init__(self) -> None:
        if self.update not in UPDATE_RULES:
            raise ValueError(f"{self.name}: update must be one of {list(UPDATE_RULES)}")
        if self.penalty is not None and self.update != "alternating":
            raise ValueError(f"{self.name}: a critic penalty needs the alternating rule")
        if (self.stabiliser is not None) != (self.update == "stabilised"):
            raise ValueError(f"{self.name}: a stabiliser goes with the stabilised rule")
        if (self.consensus_weight != 0.0) != (self.update == "consensus"):
            raise ValueError(f"{self.name}: a consensus weight goes with the consensus rule")
        check_g_updates(self.g_updates)
        sched = self.n_critic
        if self.g_updates != 1 and (sched.warmup_g_iters or sched.every):
            raise ValueError(
                f"{self.name}: g_updates = {self.g_updates} with a critic schedule that changes "
                f"with G's count (warm-up {sched.warmup_g_iters}, every {sched.every}): G's count "
                "moves by g_updates per step, so the schedule would skip its iterations; use "
                "g_updates = 1"
            )
        if self.g_updates != 1 and self.update not in MULTI_G_RULES:
            raise ValueError(
                f"{self.name}: g_updates = {self.g_updates} needs a rule with a G update of its "
                f"own ({sorted(MULTI_G_RULES)}); the {self.update} rule moves G once per step"
            )

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


# The mode-collapse chapter's entries, registered into this registry after the ones above (at
# the end, so that module can import what it needs from this one).
from replication.training import objectives_mode_collapse  # noqa: E402, F401
