"""pylearn2's SGD with classic momentum and its schedules, as the 2014 code trained.

Classic momentum (pylearn2 `Momentum`):  v <- mu*v - lr*g;  theta <- theta + v.
torch.optim.SGD puts lr outside the velocity (v <- mu*v + g; theta <- theta - lr*v), which
differs once lr changes every step, so the original rule is written out here.
"""

from __future__ import annotations

import torch


class ClassicMomentumSGD(torch.optim.Optimizer):
    def __init__(self, params, lr: float, momentum: float = 0.5) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):  # noqa: ANN001 - torch's signature
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            vels = []
            for p in params:
                state = self.state[p]
                if "velocity" not in state:
                    state["velocity"] = torch.zeros_like(p)
                vels.append(state["velocity"])
            # one fused kernel per op over all tensors: few launches per step on a GPU
            torch._foreach_mul_(vels, group["momentum"])
            torch._foreach_add_(vels, grads, alpha=-group["lr"])
            torch._foreach_add_(params, vels)
        return None


def decayed_lr(lr0: float, step: int, decay: float, min_lr: float) -> float:
    """pylearn2 ExponentialDecay: lr divided by `decay` after every update, floored at min_lr."""
    return max(lr0 / decay**step, min_lr)


def linear_momentum(
    epoch: int, start: float, final: float, start_epoch: int, saturate_epoch: int
) -> float:
    """pylearn2 MomentumAdjustor: linear in the epoch number from `start` to `final`."""
    if saturate_epoch <= start_epoch:
        return final
    w = min(max((epoch - start_epoch) / (saturate_epoch - start_epoch), 0.0), 1.0)
    return (1 - w) * start + w * final


def set_hyper(opt: torch.optim.Optimizer, **values: float) -> None:
    for group in opt.param_groups:
        group.update(values)
