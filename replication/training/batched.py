"""Objectives for batched seeds: S independent GANs held as one module pair (`nets.batched`),
trained by the one loop as if it were one GAN.

The networks' outputs are [batch, S]. An objective's costs are means over rows; here each seed's
cost is taken over its own column and the S costs are summed, so the gradient that reaches seed
s's parameters is exactly the gradient of seed s's own cost (the seeds share no parameter), and
an optimiser whose update is per element (Adam, RMSprop, SGD) moves each seed as if it trained
alone. The loop's reported losses are then sums over seeds; `per_seed` divides them back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import torch

from replication.training.objectives import Objective

Cost = Callable[..., torch.Tensor]


def seed_sum(cost: Cost) -> Cost:
    """cost applied to each seed's column of every argument ([batch, S] tensors), summed.
    A cost marked `seed_separable` (affine in means over rows) is S times its value on all
    columns at once; any other goes through `torch.vmap`, which must be able to map it. The
    first is the same sum without vmap's Python overhead per call (about 1 ms a step here)."""

    if getattr(cost, "seed_separable", False):

        def summed(*outs: torch.Tensor) -> torch.Tensor:
            return outs[0].shape[1] * cost(*outs)

    else:
        per_seed = torch.vmap(cost, in_dims=1)  # one batched call, not a Python loop over seeds

        def summed(*outs: torch.Tensor) -> torch.Tensor:
            return per_seed(*outs).sum()

    summed.__doc__ = f"sum over seeds of: {cost.__doc__ or cost.__name__}"
    return summed


def per_seed_gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    weight: float,
) -> torch.Tensor:
    """WGAN-GP's penalty per seed, summed: rows [B, S, d]; the gradient norm of seed s's critic
    is taken over d only (a flattened norm would mix the seeds)."""
    eps = torch.rand(real.shape[0], real.shape[1], 1, device=real.device)
    x_hat = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return weight * ((grad.norm(dim=-1) - 1) ** 2).mean(0).sum()


class _SeedPenalty:
    def __init__(self, weight: float) -> None:
        self.weight = weight

    def __call__(self, critic, real, fake):  # noqa: ANN001 - the Penalty protocol
        return per_seed_gradient_penalty(critic, real, fake, self.weight)


def batched(obj: Objective) -> Objective:
    """`obj` for S seeds at once: costs and divergence summed over per-seed costs; a gradient
    penalty taken per seed. Weight clipping is elementwise and needs no change."""
    penalty = obj.penalty
    if penalty is not None:
        weight = getattr(penalty, "weight", None)
        if weight is None:
            raise ValueError(f"{obj.name}: no per-seed form of its penalty {penalty!r}")
        penalty = _SeedPenalty(weight)
    return replace(
        obj,
        name=f"{obj.name}[seeds]",
        d_cost=seed_sum(obj.d_cost),
        g_cost=seed_sum(obj.g_cost),
        divergence=None if obj.divergence is None else seed_sum(obj.divergence),
        penalty=penalty,
    )


def per_seed(value: float, seeds: int) -> float:
    """A loss the loop logged for the batched module, as the mean per seed."""
    return value / seeds
