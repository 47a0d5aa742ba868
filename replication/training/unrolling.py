"""The unrolled GAN's lookahead (Metz, Poole, Pfau & Sohl-Dickstein 2017): D's parameters after
k more updates on its cost, kept differentiable with respect to the generator's samples, so that
G's cost at the unrolled D (the surrogate f_K of their Eq. 5-7) sees how D would answer.

Two kinds of unrolled update:

adam   D's own optimiser, as the authors' demo does (poolio/unrolled_gan: the update ops of a
       Keras Adam on D, copied k times with `graph_replace`). The lookahead starts from the
       optimiser's current moments and step count and carries them through the k steps, as the
       demo's copied graph does. The step is `torch.optim.Adam`'s (a test compares), written
       out of place so autograd sees it; the real optimiser and D are not touched.
sgd    plain gradient steps of a given size (the paper's Eq. 6 as written).

Adam moves each parameter by about its learning rate whatever the gradient's size; plain steps
of D's learning rate (1e-4) barely move D, which is why the chapter unrolls Adam.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call

Params = dict[str, torch.Tensor]
Cost = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
UNROLL_OPTIMISERS = ("adam", "sgd")


def _sqrt0(v: torch.Tensor) -> torch.Tensor:
    """sqrt(v) whose gradient is 0 where v = 0 (a parameter that has never had a gradient, e.g.
    a dead ReLU unit): plain sqrt's backward gives inf * 0 = NaN there."""
    pos = v > 0
    return torch.where(pos, torch.where(pos, v, 1.0).sqrt(), 0.0)


def adam_step(
    params: Sequence[torch.Tensor],
    grads: Sequence[torch.Tensor],
    exp_avg: Sequence[torch.Tensor],
    exp_avg_sq: Sequence[torch.Tensor],
    step: int,
    lr: float,
    betas: tuple[float, float],
    eps: float,
) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
    """One `torch.optim.Adam` update (no weight decay, no AMSGrad), out of place and
    differentiable: returns (params, exp_avg, exp_avg_sq) after it; `step` counts this update
    (1 for the first). Same operations as torch's single-tensor Adam, in the same order."""
    b1, b2 = betas
    step_size = lr / (1 - b1**step)
    bc2_sqrt = math.sqrt(1 - b2**step)
    new_p, new_m, new_v = [], [], []
    for p, g, m, v in zip(params, grads, exp_avg, exp_avg_sq, strict=True):
        m = torch.lerp(m, g, 1 - b1)
        v = v * b2 + (1 - b2) * g * g
        denom = _sqrt0(v) / bc2_sqrt + eps
        new_p.append(p - step_size * (m / denom))
        new_m.append(m)
        new_v.append(v)
    return new_p, new_m, new_v


class AdamLookahead:
    """Further steps of D's Adam, from its current state, on copies: `step(params, grads)`
    returns the next parameters and keeps the moments and step count for the next call."""

    def __init__(self, opt: torch.optim.Optimizer, params: Sequence[nn.Parameter]) -> None:
        if type(opt) is not torch.optim.Adam:
            raise TypeError(f"unrolling through Adam needs D's optimiser to be Adam, got {opt!r}")
        groups = {id(p): g for g in opt.param_groups for p in g["params"]}
        group = groups[id(params[0])]
        if any(groups.get(id(p)) is not group for p in params):
            raise ValueError("unrolling through Adam needs all of D's parameters in one group")
        if group.get("weight_decay") or group.get("amsgrad") or group.get("maximize"):
            raise ValueError("unrolled Adam: weight decay, AMSGrad and maximize are not written")
        self.lr, self.eps = float(group["lr"]), float(group["eps"])
        self.betas = (float(group["betas"][0]), float(group["betas"][1]))
        state = [opt.state.get(p, {}) for p in params]
        steps = {int(s["step"]) if s else 0 for s in state}
        if len(steps) != 1:
            raise ValueError(f"D's parameters have taken different numbers of steps: {steps}")
        self.step_count = steps.pop()
        pairs = list(zip(state, params, strict=True))
        self.exp_avg = [s["exp_avg"] if s else torch.zeros_like(p) for s, p in pairs]
        self.exp_avg_sq = [s["exp_avg_sq"] if s else torch.zeros_like(p) for s, p in pairs]

    def step(self, params: list[torch.Tensor], grads: list[torch.Tensor]) -> list[torch.Tensor]:
        self.step_count += 1
        new, self.exp_avg, self.exp_avg_sq = adam_step(
            params, grads, self.exp_avg, self.exp_avg_sq, self.step_count,
            self.lr, self.betas, self.eps,
        )  # fmt: skip
        return new


class SgdLookahead:
    """Plain gradient steps theta - lr * grad."""

    def __init__(self, lr: float) -> None:
        self.lr = lr

    def step(self, params: list[torch.Tensor], grads: list[torch.Tensor]) -> list[torch.Tensor]:
        return [p - self.lr * g for p, g in zip(params, grads, strict=True)]


Lookahead = AdamLookahead | SgdLookahead


def lookahead_for(kind: str, D: nn.Module, opt_d: torch.optim.Optimizer, lr: float) -> Lookahead:
    """The unrolled update named `kind`: D's own Adam ("adam") or plain steps of `lr` ("sgd")."""
    if kind == "adam":
        return AdamLookahead(opt_d, list(D.parameters()))
    if kind == "sgd":
        return SgdLookahead(lr)
    raise ValueError(f"unknown unrolled update {kind!r}; known: {UNROLL_OPTIMISERS}")


def unrolled_discriminator(
    D: nn.Module,
    d_cost: Cost,
    real: torch.Tensor,
    fake: torch.Tensor,
    steps: int,
    lookahead: Lookahead | float,
) -> Params:
    """D's parameters after `steps` updates on its cost against `fake` (the same real and fake
    rows at every step, as in the demo's copied graph), differentiable with respect to `fake`
    and so to G. A float `lookahead` means plain gradient steps of that size."""
    if not isinstance(lookahead, AdamLookahead | SgdLookahead):
        lookahead = SgdLookahead(float(lookahead))
    params = dict(D.named_parameters())
    for _ in range(steps):
        loss = d_cost(functional_call(D, params, (real,)), functional_call(D, params, (fake,)))
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
        params = dict(zip(params, lookahead.step(list(params.values()), list(grads)), strict=True))
    return params


def unrolled_generator_cost(
    D: nn.Module,
    d_cost: Cost,
    real: torch.Tensor,
    fake: torch.Tensor,
    steps: int,
    lookahead: Lookahead | float,
) -> torch.Tensor:
    """Metz et al.'s surrogate f_K(theta_G, theta_D) = f(theta_G, theta_D^K): the game's value
    at the unrolled D, for G to minimise, i.e. minus D's cost there (real and fake terms both:
    the real term depends on G through theta_D^K). The demo's G minimises -unrolled_loss, the
    same quantity. At k = 0 its gradient with respect to G is the minimax G cost's."""
    params = unrolled_discriminator(D, d_cost, real, fake, steps, lookahead)
    return -d_cost(functional_call(D, params, (real,)), functional_call(D, params, (fake,)))
