"""Algorithm 1's k and consensus optimisation on the ring of 8 Gaussians, every seed at once.

The setting is the consensus authors' mixture-of-Gaussians notebook (TheNumericsOfGANs,
notebooks/mog-eigval-dist.ipynb): G and D with four ReLU layers of 16, z of 16 dimensions,
minibatches of 512, RMSProp, their unhalved costs (the `gan_consensus` objective) and
reg_param 10. Every method below differs from the others only in its update rule:

    simultaneous   the 2014 code's step: D and G from one minibatch, applied together
    alternating k  Algorithm 1 of Goodfellow et al. 2014: k D updates, then one G update
    consensus      simultaneous gradients g, moved along g + gamma grad(1/2 ||g||^2)

The seeds are one batched module pair (`nets.batched`, `training.batched`) that the one loop
trains as one GAN; quality is PacGAN's mode metrics (`metrics.modes`) per seed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd
import torch

from replication.chapters.game_dynamics_config import GameDynamicsConfig
from replication.datasets.toy import RING8
from replication.metrics.modes import N_EVAL_SAMPLES, mode_scores_per_seed
from replication.nets.batched import BatchedDiscriminator, BatchedGenerator
from replication.training import objectives
from replication.training.batched import batched
from replication.training.loop import train
from replication.training.objectives import CriticSchedule, Objective
from replication.training.state import GAN

SIMULTANEOUS, CONSENSUS = "simultaneous", "consensus"


def method_objective(method: str, cfg: GameDynamicsConfig) -> Objective:
    """The `gan_consensus` entry with the method's update rule; `alternating_k<k>` for Algorithm
    1 with k D updates per G update. Costs, networks, optimiser and lr are the same for all."""
    base = objectives.get("gan_consensus")
    if method == CONSENSUS:
        return base.tuned(consensus_weight=cfg.ring_consensus_weight)
    if method == SIMULTANEOUS:
        return replace(base, update="simultaneous", consensus_weight=0.0)
    if method.startswith("alternating_k"):
        k = int(method.removeprefix("alternating_k"))
        return replace(base, update="alternating", consensus_weight=0.0, n_critic=CriticSchedule(k))
    raise ValueError(f"unknown method {method!r}: simultaneous, consensus or alternating_k<k>")


def methods(cfg: GameDynamicsConfig) -> list[str]:
    """Every method the chapter trains: the k ablation's and consensus (alternating_k1 is in
    both comparisons)."""
    return [SIMULTANEOUS] + [f"alternating_k{k}" for k in cfg.k_list()] + [CONSENSUS]


def _nets(
    cfg: GameDynamicsConfig, device: torch.device
) -> tuple[BatchedGenerator, BatchedDiscriminator]:
    hidden = (cfg.ring_hidden,) * cfg.ring_depth
    base = cfg.ring_seed()  # base seed 0: 0 (no two base seeds share a network's seed)
    G = BatchedGenerator(cfg.ring_seeds, cfg.ring_z_dim, hidden, 2, seed=base)
    D = BatchedDiscriminator(cfg.ring_seeds, 2, hidden, seed=base + 500)
    return G.to(device), D.to(device)


def _scores(G: BatchedGenerator, device: torch.device, seed: int) -> list[Any]:
    samples = G.sample(N_EVAL_SAMPLES, device, seed=seed)
    return mode_scores_per_seed(samples.cpu(), RING8.centre_tensor(), RING8.std)


def train_method(
    method: str, cfg: GameDynamicsConfig, device: torch.device, progress: bool = True
) -> tuple[GAN, pd.DataFrame]:
    """All seeds of one method trained for `ring_g_steps` generator updates; per round of
    `ring_eval_every` G updates, the mean modes covered and the wall time."""
    G, D = _nets(cfg, device)
    obj = batched(method_objective(method, cfg))
    gan = GAN(G, D, *obj.optimisers(G, D, lr=cfg.ring_lr))
    base = cfg.ring_seed()
    data = RING8.sample(cfg.ring_points, device, seed=base, seeds=cfg.ring_seeds)

    def modes(g: GAN) -> dict[str, float]:
        s = _scores(g.generator, device, base + 7)  # type: ignore[arg-type]
        return {
            "modes_mean": sum(x.modes for x in s) / len(s),
            "hq_mean": sum(x.hq for x in s) / len(s),
        }

    torch.manual_seed(base)
    train(
        gan,
        data,
        obj,
        epochs=cfg.ring_g_steps // cfg.ring_eval_every,
        batch_size=cfg.ring_batch,
        round_g_iters=cfg.ring_eval_every,
        on_epoch_end=modes,
        progress=progress,
        desc=method,
    )
    return gan, pd.DataFrame(gan.history).assign(method=method)


def final_scores(
    method: str, gan: GAN, history: pd.DataFrame, cfg: GameDynamicsConfig
) -> pd.DataFrame:
    """Per seed: modes covered (of 8), high-quality fraction, reverse KL, and the method's wall
    time per G update (all seeds together) and D updates per G update."""
    device = next(gan.generator.parameters()).device
    base, rows = cfg.ring_seed(), []
    for s, sc in enumerate(_scores(gan.generator, device, base + 11)):  # type: ignore[arg-type]
        rows.append(
            {
                "method": method,
                "seed": base + s,
                "modes": sc.modes,
                "hq": sc.hq,
                "rkl": sc.rkl,
                "g_steps": gan.g_step,
                "d_steps_per_g_step": gan.step / max(gan.g_step, 1),
                "wall_s_per_g_step": history.epoch_time_s.sum() / max(gan.g_step, 1),
            }
        )
    return pd.DataFrame(rows)


def summarise(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Per method: mean and sd over seeds of modes, hq and reverse KL; n; time per G update."""
    g = per_seed.groupby("method", sort=False)
    out = g.agg(
        modes_mean=("modes", "mean"),
        modes_sd=("modes", "std"),
        hq_mean=("hq", "mean"),
        hq_sd=("hq", "std"),
        rkl_mean=("rkl", "mean"),
        rkl_sd=("rkl", "std"),
        all_8_modes=("modes", lambda m: int((m == RING8.n_modes).sum())),
        n=("seed", "count"),
        wall_s_per_g_step=("wall_s_per_g_step", "first"),
        d_steps_per_g_step=("d_steps_per_g_step", "first"),
    )
    return out.reset_index()


def samples_for_figure(gan: GAN, cfg: GameDynamicsConfig, n: int = 1000) -> torch.Tensor:
    """n samples of every seed, [n, S, 2], from a fixed noise seed."""
    device = next(gan.generator.parameters()).device
    return gan.generator.sample(n, device, seed=cfg.ring_seed() + 13).cpu()  # type: ignore[operator]
