"""The stabilised update rule: the alternating rule (n_critic D updates, then `g_updates` G
updates, usually one) with the hooks of Salimans et al. 2016 and Metz et al. 2017 that change
how a player's cost is formed.

feature matching     G minimises || E_x f(x) - E_z f(G(z)) ||^2, f = D's last hidden layer
                     (`D.features`), instead of the objective's G cost (Salimans Sec. 3.1).
historical averaging each player's cost gets weight * || theta - mean of its past thetas ||^2
                     (Salimans Sec. 3.3); the mean is over every value after an update, this
                     one included, and lives with the rule (a resumed run starts it afresh).
unrolling            G minimises the game's value at D's parameters after k more updates of D's
                     own Adam (or plain steps of `unroll_lr`), differentiated through those
                     updates (Metz et al. 2017, Eq. 5-7; `training.unrolling`); D itself
                     takes its ordinary update, and the lookahead is a copy.
pulling away         EBGAN's G cost gets weight * f_PT of the encoder codes of the generated
                     batch (Zhao et al. 2017, Sec. 2.4): `D.features` is the code layer.

Real and fake rows pass D separately (not concatenated as in `steps`): minibatch discrimination
compares a row only with the rows of its own minibatch, as in Salimans et al.'s code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from replication.training.state import GAN
from replication.training.steps import MULTI_G_RULES, UPDATE_RULES, UpdateRule, check_g_updates
from replication.training.unrolling import (
    UNROLL_OPTIMISERS,
    lookahead_for,
    unrolled_generator_cost,
)

if TYPE_CHECKING:
    from replication.training.objectives import Objective


@dataclass(frozen=True)
class Stabiliser:
    """Which hooks a stabilised objective uses, and their hyperparameters."""

    feature_matching: bool = False
    history_weight: float = 0.0
    unroll_steps: int = 0
    unroll_optimiser: str = "adam"  # the unrolled update: D's own Adam, or "sgd" of unroll_lr
    unroll_lr: float = 1e-4
    pull_away_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.unroll_steps < 0 or self.history_weight < 0 or self.pull_away_weight < 0:
            raise ValueError("unroll_steps, history_weight and pull_away_weight must be >= 0")
        if sum((self.feature_matching, self.unroll_steps > 0, self.pull_away_weight > 0)) > 1:
            raise ValueError("feature matching, unrolling and pulling away are separate; pick one")
        if self.unroll_optimiser not in UNROLL_OPTIMISERS:
            raise ValueError(f"unroll_optimiser must be one of {UNROLL_OPTIMISERS}")


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


def feature_matching_cost(
    features: Callable[[torch.Tensor], torch.Tensor],
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """|| E f(x) - E f(G(z)) ||^2 over D's features; batched features [B, S, H] give the sum
    over seeds of each seed's own squared distance."""

    def cost(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        diff = features(real).detach().mean(0) - features(fake).mean(0)
        return (diff**2).sum()

    return cost


def pulling_away(codes: torch.Tensor) -> torch.Tensor:
    """EBGAN's repelling regulariser f_PT (Zhao et al. 2017, Sec. 2.4): the mean over ordered
    pairs i != j of the batch of cos^2(S_i, S_j), codes [B, w]; batched codes [B, S, w] give
    the sum over seeds of each seed's own f_PT. A zero code counts as orthogonal to all."""
    if codes.dim() == 2:
        codes = codes.unsqueeze(1)
    n = codes.shape[0]
    if n < 2:
        raise ValueError(f"the pulling-away term needs a batch of at least 2 rows, got {n}")
    unit = codes / codes.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    cos = torch.einsum("isw,jsw->sij", unit, unit)
    others = 1.0 - torch.eye(n, dtype=cos.dtype, device=cos.device)
    return (cos.square() * others).sum() / (n * (n - 1))


def _generator_update(
    gan: GAN, x: torch.Tensor, obj: Objective, hist_g: HistoricalAverage
) -> torch.Tensor:
    """One G update with new noise, its cost formed by the hooks; returns that cost."""
    G, D, hooks = gan.generator, gan.discriminator, obj.stabiliser
    fake = G(G.sample_noise(x.shape[0], x.device))
    if hooks.feature_matching:
        g_loss = feature_matching_cost(D.features)(x, fake)
    elif hooks.unroll_steps:
        ahead = lookahead_for(hooks.unroll_optimiser, D, gan.opt_d, hooks.unroll_lr)
        g_loss = unrolled_generator_cost(D, obj.d_cost, x, fake, hooks.unroll_steps, ahead)
    elif hooks.pull_away_weight:
        g_loss = obj.g_cost(D(fake)) + hooks.pull_away_weight * pulling_away(D.features(fake))
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
    return g_loss


def stabilised_step(
    gan: GAN,
    x: torch.Tensor,
    obj: Objective,
    hist: tuple[HistoricalAverage, HistoricalAverage],
    update_g: bool = True,
) -> torch.Tensor:
    """One D update, and `obj.g_updates` G updates once D has had n_critic(G updates) since
    G's last. Returns [d_loss, g_loss of the last G update (0 when G did not move), mean D(x),
    mean D(G(z))]."""
    check_g_updates(obj.g_updates)
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
        for _ in range(obj.g_updates):
            g_loss = _generator_update(gan, x, obj, hist_g)
    with torch.no_grad():
        return torch.stack([d_loss.detach(), g_loss.detach(), real_o.mean(), fake_o.mean()])


def _stabilised(obj: Objective, train_generator: bool) -> UpdateRule:
    hist = (HistoricalAverage(), HistoricalAverage())

    def step(gan: GAN, x: torch.Tensor) -> torch.Tensor:
        return stabilised_step(gan, x, obj, hist, update_g=train_generator)

    return UpdateRule(step, ("d_loss", "g_loss", "d_real", "d_fake"))


UPDATE_RULES["stabilised"] = _stabilised
MULTI_G_RULES.add("stabilised")
