"""GAN losses as small pure functions of discriminator logits.

On logits every log D and log(1 - D) is a softplus, which neither underflows nor saturates in
floating point: log D = -softplus(-l), log(1 - D) = -softplus(l).

Generator costs follow Goodfellow's NIPS 2016 tutorial, including its factor 1/2:
    minimax          J = 1/2 log(1 - D(G(z)))
    non-saturating   J = -1/2 log D(G(z))
    max likelihood   J = -1/2 exp(logit D(G(z))) = -1/2 D / (1 - D)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

GeneratorCost = Callable[[torch.Tensor], torch.Tensor]


def seed_separable(cost: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    """Mark a cost that is affine in means over rows of elementwise terms: on the outputs
    [B, S] of S seeds, S * cost is then the sum of the S seeds' own costs, which
    `training.batched` computes without `torch.vmap` (a test checks each marked cost)."""
    cost.seed_separable = True  # type: ignore[attr-defined]
    return cost


@seed_separable
def discriminator_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """J(D) = -1/2 E log D(x) - 1/2 E log(1 - D(G(z))), as AdversaryCost2's d_obj."""
    return 0.5 * (F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean())


@seed_separable
def generator_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    return -0.5 * F.softplus(fake_logits).mean()


@seed_separable
def generator_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    return 0.5 * F.softplus(-fake_logits).mean()


@seed_separable
def generator_max_likelihood(fake_logits: torch.Tensor) -> torch.Tensor:
    return -0.5 * torch.exp(fake_logits).mean()


@seed_separable
def critic_wasserstein(real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    """WGAN critic: maximise E f(x) - E f(G(z)), written as a cost to minimise.

    For a 1-Lipschitz f at its optimum, -cost is W1 (Kantorovich-Rubinstein duality).
    """
    return fake_out.mean() - real_out.mean()


@seed_separable
def generator_wasserstein(fake_out: torch.Tensor) -> torch.Tensor:
    return -fake_out.mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    weight: float = 10.0,
) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): weight * E (||grad f(x_hat)|| - 1)^2 at random points
    x_hat on the segments between real and fake samples; differentiable w.r.t. the critic."""
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device)
    x_hat = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return weight * ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def js_estimate(d_loss: float | torch.Tensor) -> float | torch.Tensor:
    """JSD estimate from `discriminator_bce` (which carries the 1/2): at the optimal D,
    d_loss = log 2 - JSD, so JSD = log 2 - d_loss (a lower bound for any other D)."""
    return math.log(2.0) - d_loss


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
