"""GAN losses as small pure functions of discriminator logits.

On logits every log D and log(1 - D) is a softplus, which neither underflows nor saturates in
floating point: log D = -softplus(-l), log(1 - D) = -softplus(l).

Generator costs follow Goodfellow's NIPS 2016 tutorial, including its factor 1/2:
    minimax          J = 1/2 log(1 - D(G(z)))
    non-saturating   J = -1/2 log D(G(z))
    max likelihood   J = -1/2 exp(logit D(G(z))) = -1/2 D / (1 - D)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

GeneratorCost = Callable[[torch.Tensor], torch.Tensor]


def discriminator_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """J(D) = -1/2 E log D(x) - 1/2 E log(1 - D(G(z))), as AdversaryCost2's d_obj."""
    return 0.5 * (F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean())


def generator_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    return -0.5 * F.softplus(fake_logits).mean()


def generator_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    return 0.5 * F.softplus(-fake_logits).mean()


def generator_max_likelihood(fake_logits: torch.Tensor) -> torch.Tensor:
    return -0.5 * torch.exp(fake_logits).mean()


GENERATOR_COSTS: dict[str, GeneratorCost] = {
    "minimax": generator_minimax,
    "nonsaturating": generator_nonsaturating,
    "max_likelihood": generator_max_likelihood,
}

LABELS = {
    "minimax": "Minimax",
    "nonsaturating": "Non-saturating heuristic",
    "max_likelihood": "Maximum likelihood cost",
}


def closed_form_cost(name: str, d: torch.Tensor) -> torch.Tensor:
    """The tutorial's J(G) as a function of D = D(G(z)) in (0, 1), per sample."""
    if name == "minimax":
        return 0.5 * torch.log1p(-d)
    if name == "nonsaturating":
        return -0.5 * torch.log(d)
    if name == "max_likelihood":
        return -0.5 * d / (1 - d)
    raise KeyError(f"unknown generator cost {name!r}; known: {list(GENERATOR_COSTS)}")


def closed_form_logit_grad(name: str, d: torch.Tensor) -> torch.Tensor:
    """dJ/dl with l = logit D: the signal the generator receives through the discriminator.

    Minimax -D/2 vanishes as D -> 0 (saturation: D confidently rejects the samples); the
    non-saturating -(1 - D)/2 is largest there; max likelihood -D/(2(1 - D)) vanishes too.
    """
    if name == "minimax":
        return -0.5 * d
    if name == "nonsaturating":
        return -0.5 * (1 - d)
    if name == "max_likelihood":
        return -0.5 * d / (1 - d)
    raise KeyError(f"unknown generator cost {name!r}; known: {list(GENERATOR_COSTS)}")
