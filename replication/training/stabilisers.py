"""The stabilised update rule: the alternating rule (n_critic D updates, then one G update) with
the hooks of Salimans et al. 2016 and Metz et al. 2017 that change how a player's cost is formed.

feature matching     G minimises || E_x f(x) - E_z f(G(z)) ||^2, f = D's last hidden layer
                     (`D.features`), instead of the objective's G cost (Salimans Sec. 3.1).
historical averaging each player's cost gets weight * || theta - mean of its past thetas ||^2
                     (Salimans Sec. 3.3); the mean is over every value after an update, this
                     one included, and lives with the rule (a resumed run starts it afresh).
unrolling            G's cost is taken at D's parameters after k more gradient steps on D's cost,
                     differentiated through those steps (Metz et al. 2017, Eq. 5-7, plain
                     gradient steps of `unroll_lr`); D itself takes its ordinary update.

Real and fake rows pass D separately (not concatenated as in `steps`): minibatch discrimination
compares a row only with the rows of its own minibatch, as in Salimans et al.'s code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.func import functional_call

from replication.training.state import GAN
from replication.training.steps import UPDATE_RULES, UpdateRule

if TYPE_CHECKING:
    from replication.training.objectives import Objective


@dataclass(frozen=True)
class Stabiliser:
    """Which hooks a stabilised objective uses, and their hyperparameters."""

    feature_matching: bool = False
    history_weight: float = 0.0
    unroll_steps: int = 0
    unroll_lr: float = 1e-4

    def __post_init__(self) -> None:
        if self.unroll_steps < 0 or self.history_weight < 0:
            raise ValueError("unroll_steps and history_weight must be >= 0")
        if self.feature_matching and self.unroll_steps:
            raise ValueError("feature matching and unrolling are separate methods; pick one")


class HistoricalAverage:
    """Running means of a module's parameters over the values it has taken after each update."""

    def __init__(self) -> None:
        self.means: list[torch.Tensor] | None = None
        self.count = 0

    def update(self, params: Iterable[torch.Tensor]) -> None:
        params = [p.detach() for p in params]
        self.count += 1
        if self.means is None:
            self.means = [p.clone() for p in params]
            return
        for m, p in zip(self.means, params, strict=True):
            m.add_((p - m) / self.count)

    def penalty(self, params: Iterable[torch.Tensor], weight: float) -> torch.Tensor:
        """weight * sum ||theta - mean||^2 (zero before the first update)."""
        params = list(params)
        if self.means is None or weight == 0:
            return params[0].new_zeros(())
        return weight * sum(((p - m) ** 2).sum() for p, m in zip(params, self.means, strict=True))


def feature_matching_cost(features: Callable[[torch.Tensor], torch.Tensor]):
    """|| E f(x) - E f(G(z)) ||^2 over D's features; batched features [B, S, H] give the sum
    over seeds of each seed's own squared distance."""

    def cost(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        diff = features(real).detach().mean(0) - features(fake).mean(0)
        return (diff**2).sum()

    return cost


def unrolled_discriminator(
    D: nn.Module,
    d_cost: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    steps: int,
    lr: float,
) -> dict[str, torch.Tensor]:
    """D's parameters after `steps` gradient steps on its cost against `fake`, kept
    differentiable with respect to `fake` (and so to G): theta_{k+1} = theta_k - lr grad."""
    params = dict(D.named_parameters())
    for _ in range(steps):
        out_r = functional_call(D, params, (real,))
        out_f = functional_call(D, params, (fake,))
        loss = d_cost(out_r, out_f)
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
        params = {k: p - lr * g for (k, p), g in zip(params.items(), grads, strict=True)}
    return params


def stabilised_step(
    gan: GAN,
    x: torch.Tensor,
    obj: Objective,
    hist: tuple[HistoricalAverage, HistoricalAverage],
    update_g: bool = True,
) -> torch.Tensor:
    """One D update, and a G update once D has had n_critic(G updates) since G's last.
    Returns [d_loss, g_loss (0 when G did not move), mean D(x), mean D(G(z))]."""
    G, D, hooks = gan.generator, gan.discriminator, obj.stabiliser
    hist_g, hist_d = hist
    with torch.no_grad():
        fake = G(G.sample_noise(x.shape[0], x.device))
    real_o, fake_o = D(x), D(fake)
    d_loss = obj.d_cost(real_o, fake_o)
    total = d_loss + hist_d.penalty(D.parameters(), hooks.history_weight)
    if obj.penalty is not None:
        total = total + obj.penalty(D, x, fake)
    gan.opt_d.zero_grad(set_to_none=True)
    total.backward()
    gan.opt_d.step()
    if hooks.history_weight:
        hist_d.update(D.parameters())
    gan.critic_streak += 1
    g_loss = torch.zeros((), device=x.device)
    if update_g and gan.critic_streak >= obj.n_critic(gan.g_step):
        gan.critic_streak = 0
        fake = G(G.sample_noise(x.shape[0], x.device))
        if hooks.feature_matching:
            g_loss = feature_matching_cost(D.features)(x, fake)
        elif hooks.unroll_steps:
            params = unrolled_discriminator(
                D, obj.d_cost, x, fake, hooks.unroll_steps, hooks.unroll_lr
            )
            g_loss = obj.g_cost(functional_call(D, params, (fake,)))
        else:
            g_loss = obj.g_cost(D(fake))
        total_g = g_loss + hist_g.penalty(G.parameters(), hooks.history_weight)
        gan.opt_g.zero_grad(set_to_none=True)
        gan.opt_d.zero_grad(set_to_none=True)
        total_g.backward()
        gan.opt_g.step()
        gan.opt_d.zero_grad(set_to_none=True)  # G's backward reached D: leave no gradient there
        if hooks.history_weight:
            hist_g.update(G.parameters())
        gan.g_step += 1
    with torch.no_grad():
        return torch.stack([d_loss.detach(), g_loss.detach(), real_o.mean(), fake_o.mean()])


def _stabilised(obj: Objective, train_generator: bool) -> UpdateRule:
    hist = (HistoricalAverage(), HistoricalAverage())

    def step(gan: GAN, x: torch.Tensor) -> torch.Tensor:
        return stabilised_step(gan, x, obj, hist, update_g=train_generator)

    return UpdateRule(step, ("d_loss", "g_loss", "d_real", "d_fake"))


UPDATE_RULES["stabilised"] = _stabilised
