"""The two update rules of the book's GANs, and how an objective picks one.

simultaneous: the 2014 code's step (AdversaryCost2, k = 1): D and G from one minibatch.
alternating:  DCGAN/WGAN: n_critic updates of D, then g_updates (usually one) of G, each with
              new noise. PacGAN's Stacked MNIST code (after DCGAN-tensorflow) makes two G
              updates, both on the noise of the D update; we draw new noise for each, as for one.
consensus:    the simultaneous gradients plus weight * grad(1/2 ||g||^2) (Mescheder et al. 2017).

A step returns [d_loss, g_loss, D(x) stat, D(G(z)) stat] as one device tensor: no host sync.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from replication.training.losses import GeneratorCost, discriminator_bce
from replication.training.state import GAN

if TYPE_CHECKING:
    from replication.training.objectives import Objective

DiscriminatorCost = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Penalty = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]

# the rules that can make several G updates after a D update (`Objective.g_updates`); the others
# move G once per step by construction (simultaneous, consensus) and refuse g_updates != 1
MULTI_G_RULES: set[str] = {"alternating"}


def check_g_updates(g_updates: int) -> None:
    """Refuse a G update count below one (bool and float included) before any compute."""
    if isinstance(g_updates, bool) or not isinstance(g_updates, int) or g_updates < 1:
        raise ValueError(f"g_updates must be an integer >= 1, got {g_updates!r}")


def simultaneous_step(
    gan: GAN,
    x: torch.Tensor,
    g_cost: GeneratorCost,
    d_cost: DiscriminatorCost = discriminator_bce,
    g_cost_scale: float = 1.0,
    update_g: bool = True,
) -> torch.Tensor:
    """One update of the 2014 code (AdversaryCost2, k = 1): D's and G's gradients come from the
    same minibatch, the same samples and the same dropout masks, and are applied together.

    Returns [d_loss, g_loss, mean D(x), mean D(G(z))] as one device tensor (no host sync).
    """
    G, D = gan.generator, gan.discriminator
    z = G.sample_noise(x.shape[0], x.device)
    fake = G(z)
    logits = D(torch.cat([x, fake]))  # one pass; dropout masks are drawn per row anyway
    real_l, fake_l = logits[: x.shape[0]], logits[x.shape[0] :]
    d_loss = d_cost(real_l, fake_l)
    g_loss = g_cost_scale * g_cost(fake_l)
    d_params = [p for p in D.parameters()]
    d_grads = torch.autograd.grad(d_loss, d_params, retain_graph=update_g)
    for p, g in zip(d_params, d_grads, strict=True):
        p.grad = g
    if update_g:
        g_params = [p for p in G.parameters()]
        for p, g in zip(g_params, torch.autograd.grad(g_loss, g_params), strict=True):
            p.grad = g
        gan.opt_g.step()
        gan.g_step += 1
    gan.opt_d.step()
    with torch.no_grad():
        return torch.stack(
            [d_loss, g_loss, torch.sigmoid(real_l).mean(), torch.sigmoid(fake_l).mean()]
        )


def alternating_step(
    gan: GAN,
    x: torch.Tensor,
    g_cost: GeneratorCost,
    d_cost: DiscriminatorCost,
    n_critic: Callable[[int], int],
    penalty: Penalty | None = None,
    update_g: bool = True,
    g_updates: int = 1,
) -> torch.Tensor:
    """One D (critic) update on `x` against fresh samples; then, once D has had
    `n_critic(generator updates so far)` updates since G's last, `g_updates` G updates, each
    with new noise (WGAN Algorithm 1; with n_critic = 1 the DCGAN schedule; g_updates = 2 is
    PacGAN's Stacked MNIST code). Every G update counts in `gan.g_step`.

    Returns [d_loss (without penalty), g_loss of the last G update (0 when G did not move),
    mean D(x), mean D(G(z))] with D's raw outputs (logits, or critic values), as one device
    tensor.
    """
    check_g_updates(g_updates)
    G, D = gan.generator, gan.discriminator
    with torch.no_grad():
        fake = G(G.sample_noise(x.shape[0], x.device))
    out = D(torch.cat([x, fake]))
    real_o, fake_o = out[: x.shape[0]], out[x.shape[0] :]
    d_loss = d_cost(real_o, fake_o)
    total = d_loss if penalty is None else d_loss + penalty(D, x, fake)
    gan.opt_d.zero_grad(set_to_none=True)
    total.backward()
    gan.opt_d.step()
    gan.critic_streak += 1
    g_loss = torch.zeros((), device=x.device)
    if update_g and gan.critic_streak >= n_critic(gan.g_step):
        gan.critic_streak = 0
        d_params = list(D.parameters())
        for p in d_params:
            p.requires_grad_(False)  # G's backward need not fill D's gradients
        for _ in range(g_updates):
            g_loss = g_cost(D(G(G.sample_noise(x.shape[0], x.device))))
            gan.opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            gan.opt_g.step()
            gan.g_step += 1
        for p in d_params:
            p.requires_grad_(True)
    with torch.no_grad():
        return torch.stack([d_loss.detach(), g_loss.detach(), real_o.mean(), fake_o.mean()])


def consensus_step(
    gan: GAN,
    x: torch.Tensor,
    g_cost: GeneratorCost,
    d_cost: DiscriminatorCost,
    weight: float,
    g_cost_scale: float = 1.0,
    update_g: bool = True,
) -> torch.Tensor:
    """Consensus optimisation (Mescheder, Nowozin & Geiger 2017): the simultaneous step's
    gradients g of both costs from one minibatch, each parameter moved along
    g + weight * grad(1/2 ||g||^2), as the authors' `ConsensusOptimizer` (TheNumericsOfGANs,
    consensus_gan/optimizer.py). The second term costs a second backward pass through the
    gradient graph. Returns [d_loss, g_loss, mean D(x), mean D(G(z))] as one device tensor.
    """
    G, D = gan.generator, gan.discriminator
    fake = G(G.sample_noise(x.shape[0], x.device))
    logits = D(torch.cat([x, fake]))
    real_l, fake_l = logits[: x.shape[0]], logits[x.shape[0] :]
    d_loss = d_cost(real_l, fake_l)
    g_loss = g_cost_scale * g_cost(fake_l)
    params = list(D.parameters())
    grads = list(torch.autograd.grad(d_loss, params, create_graph=True))
    if update_g:
        g_params = list(G.parameters())
        params += g_params
        grads += torch.autograd.grad(g_loss, g_params, create_graph=True)
    half_sq_norm = 0.5 * sum((g * g).sum() for g in grads)
    j_grads = torch.autograd.grad(half_sq_norm, params, allow_unused=True)
    for p, g, j in zip(params, grads, j_grads, strict=True):
        p.grad = (g if j is None else g + weight * j).detach()
    gan.opt_d.step()
    if update_g:
        gan.opt_g.step()
        gan.g_step += 1
    with torch.no_grad():
        return torch.stack(
            [
                d_loss.detach(),
                g_loss.detach(),
                torch.sigmoid(real_l).mean(),
                torch.sigmoid(fake_l).mean(),
            ]
        )


@dataclass(frozen=True)
class UpdateRule:
    """One training update of `gan` on the minibatch `x`, and the names of the stats it returns
    (the history's columns)."""

    step: Callable[[GAN, torch.Tensor], torch.Tensor]
    names: tuple[str, str, str, str]


def _simultaneous(obj: Objective, train_generator: bool) -> UpdateRule:
    def step(gan: GAN, x: torch.Tensor) -> torch.Tensor:
        return simultaneous_step(
            gan, x, obj.g_cost, obj.d_cost, obj.g_cost_scale, update_g=train_generator
        )

    return UpdateRule(step, ("d_loss", "g_loss", "d_real", "d_fake"))


def _alternating(obj: Objective, train_generator: bool) -> UpdateRule:
    scale, g_cost = obj.g_cost_scale, obj.g_cost
    cost = g_cost if scale == 1.0 else (lambda f: scale * g_cost(f))

    def step(gan: GAN, x: torch.Tensor) -> torch.Tensor:
        return alternating_step(
            gan,
            x,
            cost,
            obj.d_cost,
            obj.n_critic,
            obj.penalty,
            update_g=train_generator,
            g_updates=obj.g_updates,
        )

    return UpdateRule(step, ("d_loss", "g_loss", "critic_real", "critic_fake"))


def _consensus(obj: Objective, train_generator: bool) -> UpdateRule:
    def step(gan: GAN, x: torch.Tensor) -> torch.Tensor:
        return consensus_step(
            gan,
            x,
            obj.g_cost,
            obj.d_cost,
            obj.consensus_weight,
            obj.g_cost_scale,
            update_g=train_generator,
        )

    return UpdateRule(step, ("d_loss", "g_loss", "d_real", "d_fake"))


# an objective names its rule; a new rule is one entry here
UPDATE_RULES: dict[str, Callable[[Objective, bool], UpdateRule]] = {
    "simultaneous": _simultaneous,
    "alternating": _alternating,
    "consensus": _consensus,
}


def update_rule(obj: Objective, train_generator: bool = True) -> UpdateRule:
    """The step `obj` trains with; `train_generator=False` trains D alone against a frozen G."""
    return UPDATE_RULES[obj.update](obj, train_generator)
