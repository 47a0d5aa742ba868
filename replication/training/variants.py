"""Costs of the stabilisation variants that are pure functions of the discriminator's output:
EBGAN's margin loss on energies, one-sided label smoothing, and f-GAN's variational bound.

EBGAN (Zhao, Mathieu & LeCun 2017, Eq. 1-2): D outputs an energy (an autoencoder's
reconstruction error); L_D = D(x) + [m - D(G(z))]^+, L_G = D(G(z)).

One-sided label smoothing (Salimans et al. 2016, Sec. 3.4): D's target for real data is
alpha = 0.9 instead of 1, for fake data still 0; the optimal D becomes alpha p / (p + q).

f-GAN (Nowozin, Cseke & Tomioka 2016, Eq. 6 and Table 2): D outputs an unconstrained V; the
output activation g_f maps it into the domain of f*, the conjugate of the generator function f;
D maximises F = E_P g_f(V(x)) - E_Q f*(g_f(V(x))), which at its optimum equals D_f(P || Q). The
generator maximises E_Q g_f(V(G(z))), the paper's Sec. 3.2 alternative to minimising F (as the
non-saturating GAN cost), here written as a cost to minimise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from replication.training.losses import seed_separable

ONE_SIDED_ALPHA = 0.9  # Salimans et al. 2016, Sec. 3.4: "replaces the 0 and 1 targets ... by .9"


# -- EBGAN -----------------------------------------------------------------------------------
def ebgan_discriminator(margin: float) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """L_D = E D(x) + E [m - D(G(z))]^+ on energies D >= 0."""

    def cost(real_energy: torch.Tensor, fake_energy: torch.Tensor) -> torch.Tensor:
        return real_energy.mean() + F.relu(margin - fake_energy).mean()

    cost.__doc__ = f"EBGAN discriminator cost, margin m = {margin}"
    return cost


@seed_separable
def ebgan_generator(fake_energy: torch.Tensor) -> torch.Tensor:
    """L_G = E D(G(z)): the generator lowers the energy of its samples."""
    return fake_energy.mean()


@dataclass(frozen=True)
class EbganMargin:
    """The EBGAN discriminator cost at margin m, as a value (so an objective can tune m)."""

    seed_separable: ClassVar[bool] = True  # affine in row means (`losses.seed_separable`)

    margin: float

    def __call__(self, real_energy: torch.Tensor, fake_energy: torch.Tensor) -> torch.Tensor:
        return ebgan_discriminator(self.margin)(real_energy, fake_energy)


# -- one-sided label smoothing ---------------------------------------------------------------
@dataclass(frozen=True)
class OneSidedSmoothing:
    """-1/2 [alpha E log D(x) + (1 - alpha) E log(1 - D(x))] - 1/2 E log(1 - D(G(z))): the
    binary cross-entropy with target alpha for real rows and 0 for fake ones (with the 1/2 of
    `losses.discriminator_bce`, which it equals at alpha = 1)."""

    seed_separable: ClassVar[bool] = True  # affine in row means (`losses.seed_separable`)

    alpha: float = ONE_SIDED_ALPHA

    def __call__(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        a = self.alpha
        real = a * F.softplus(-real_logits) + (1 - a) * F.softplus(real_logits)
        return 0.5 * (real.mean() + F.softplus(fake_logits).mean())


# -- f-GAN -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FDivergence:
    """One row of Nowozin et al.'s Tables 1-2: generator function f(u), its conjugate f*(t),
    the output activation g_f(v) and the domain of f* (an open interval)."""

    name: str
    f: Callable[[torch.Tensor], torch.Tensor]
    conjugate: Callable[[torch.Tensor], torch.Tensor]
    activation: Callable[[torch.Tensor], torch.Tensor]
    domain: tuple[float, float]


LOG2 = math.log(2.0)

F_DIVERGENCES: dict[str, FDivergence] = {
    "kl": FDivergence(
        "Kullback-Leibler",
        f=lambda u: u * torch.log(u),
        conjugate=lambda t: torch.exp(t - 1),
        activation=lambda v: v,
        domain=(-math.inf, math.inf),
    ),
    "reverse_kl": FDivergence(
        "Reverse KL",
        f=lambda u: -torch.log(u),
        conjugate=lambda t: -1 - torch.log(-t),
        activation=lambda v: -torch.exp(-v),
        domain=(-math.inf, 0.0),
    ),
    "pearson": FDivergence(
        "Pearson chi^2",
        f=lambda u: (u - 1) ** 2,
        conjugate=lambda t: t**2 / 4 + t,
        activation=lambda v: v,
        domain=(-math.inf, math.inf),
    ),
    "js": FDivergence(
        "Jensen-Shannon",
        f=lambda u: -(u + 1) * torch.log((1 + u) / 2) + u * torch.log(u),
        conjugate=lambda t: -torch.log(2 - torch.exp(t)),
        activation=lambda v: LOG2 - F.softplus(-v),
        domain=(-math.inf, LOG2),
    ),
}


@dataclass(frozen=True)
class FganDiscriminator:
    """-F = -(E_P g_f(V(x)) - E_Q f*(g_f(V(G(z))))), a cost for D to minimise."""

    seed_separable: ClassVar[bool] = True  # affine in row means (`losses.seed_separable`)

    divergence: str

    def __call__(self, real_v: torch.Tensor, fake_v: torch.Tensor) -> torch.Tensor:
        d = F_DIVERGENCES[self.divergence]
        return -(d.activation(real_v).mean() - d.conjugate(d.activation(fake_v)).mean())


@dataclass(frozen=True)
class FganGenerator:
    """-E_Q g_f(V(G(z))): the generator's cost of Nowozin et al. Sec. 3.2."""

    seed_separable: ClassVar[bool] = True  # affine in row means (`losses.seed_separable`)

    divergence: str

    def __call__(self, fake_v: torch.Tensor) -> torch.Tensor:
        return -F_DIVERGENCES[self.divergence].activation(fake_v).mean()


@dataclass(frozen=True)
class FganBound:
    """F itself: the variational lower bound on D_f(P || Q) at the current D."""

    seed_separable: ClassVar[bool] = True  # affine in row means (`losses.seed_separable`)

    divergence: str

    def __call__(self, real_v: torch.Tensor, fake_v: torch.Tensor) -> torch.Tensor:
        return -FganDiscriminator(self.divergence)(real_v, fake_v)
