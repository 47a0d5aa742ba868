"""WGAN's critic schedule and weight clipping (Arjovsky, Chintala & Bottou 2017, Algorithm 1 and
the authors' released code, github.com/martinarjovsky/WassersteinGAN, main.py)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def wgan_critic_iters(
    n_critic: int = 5, warmup_g_iters: int = 25, warmup_critic: int = 100, every: int = 500
) -> Callable[[int], int]:
    """Critic updates before the next generator update, given the generator updates so far.

    The released code: `Diters = 100 if gen_iterations < 25 or gen_iterations % 500 == 0 else 5`,
    so the critic starts near optimal and is brought back there every 500 generator iterations.
    """

    def rule(g_iters: int) -> int:
        if g_iters < warmup_g_iters or (every > 0 and g_iters % every == 0):
            return warmup_critic
        return n_critic

    return rule


def constant_critic_iters(n: int) -> Callable[[int], int]:
    def rule(g_iters: int) -> int:
        return n

    return rule


@torch.no_grad()
def clip_weights_(module: nn.Module, c: float) -> None:
    """Clamp every parameter of the critic to [-c, c]: WGAN's crude Lipschitz constraint.

    We clamp at initialisation and after every update (`train`'s `after_step`); the released
    code clamps before each critic update instead, so there the generator update that follows
    sees the last critic step unclipped. Same constraint, one step apart."""
    for p in module.parameters():
        p.clamp_(-c, c)
