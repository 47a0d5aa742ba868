"""Speed of batched seeds, side by side in one process: the mode-collapse chapter's S seeds as
one batched module pair (one update rule step trains them all) against the simple alternative,
a loop that trains S ordinary networks one after the other with the same update rule.

Both do the same arithmetic (each seed's networks, batch and cost are the same); the batched
version runs each layer for all seeds in one `baddbmm` and pays the Python and autograd overhead
once per step instead of S times. Reported as a ratio, for the chapter's quick (small) and
paper (the unrolled demo's) networks.

    python -m replication.bench_seeds [--seeds 10] [--steps 40] [--out results/bench]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from replication.chapters.mode_collapse import ModeCollapseConfig, build_gan, objective_for
from replication.config import resolve_device
from replication.datasets.toy import RING8
from replication.nets.mlp2014 import Sampling
from replication.runs.paths import project_root
from replication.runs.store import atomic_write_json, device_name, git_state, library_versions
from replication.training import objectives
from replication.training.state import GAN
from replication.training.steps import update_rule

METHOD = "gan_nonsaturating"


class _OneSeedGenerator(Sampling, nn.Module):
    """Seed s of a batched generator as an ordinary network with Gaussian noise."""

    def __init__(self, net: nn.Sequential, noise_dim: int) -> None:
        super().__init__()
        self.net, self.noise_dim = net, noise_dim

    def sample_noise(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        return torch.randn(n, self.noise_dim, device=device, generator=generator)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class _OneSeedDiscriminator(nn.Module):
    def __init__(self, net: nn.Sequential) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


def _adam(params: Any, cfg: ModeCollapseConfig) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=cfg.lr, betas=(cfg.beta1, 0.999), eps=1e-8)


def time_both(cfg: ModeCollapseConfig, steps: int, device: torch.device) -> dict[str, Any]:
    """Seconds for `steps` updates of all seeds, batched and one seed after another."""
    S = cfg.seeds_toy
    data = RING8.sample(cfg.batch_size * 4, device, seed=0, seeds=S)
    batches = [data[i * cfg.batch_size : (i + 1) * cfg.batch_size] for i in range(4)]
    gan = build_gan(METHOD, cfg, RING8, device)
    rule = update_rule(objective_for(METHOD, cfg))
    plain_rule = update_rule(objectives.get("gan"))
    singles = []
    for s in range(S):
        G = _OneSeedGenerator(gan.generator.net.seed_module(s), cfg.noise_dim).to(device)
        D = _OneSeedDiscriminator(gan.discriminator.net.seed_module(s)).to(device)
        singles.append(GAN(G, D, _adam(G.parameters(), cfg), _adam(D.parameters(), cfg)))

    def batched_run(n: int) -> None:
        for i in range(n):
            rule.step(gan, batches[i % 4])

    def per_seed_run(n: int) -> None:
        for s, g in enumerate(singles):
            for i in range(n):
                plain_rule.step(g, batches[i % 4][:, s])

    out = {}
    for name, run in (("batched_s", batched_run), ("per_seed_loop_s", per_seed_run)):
        run(3)  # warm-up
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        run(steps)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        out[name] = time.perf_counter() - t0
    out["ratio"] = out["per_seed_loop_s"] / out["batched_s"]
    out.update(
        seeds=S,
        steps=steps,
        batch_size=cfg.batch_size,
        noise_dim=cfg.noise_dim,
        g_hidden=[cfg.g_hidden] * cfg.g_layers,
        d_hidden=[cfg.d_hidden] * cfg.d_layers,
    )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    device = resolve_device(args.device)
    t0 = time.perf_counter()
    result: dict[str, Any] = {"method": METHOD}
    for profile in ("quick", "paper"):
        cfg = ModeCollapseConfig.for_profile(profile, seeds_toy=args.seeds, device=str(device))
        result[f"{profile}_networks"] = r = time_both(cfg, args.steps, device)
        print(
            f"{profile} networks, {args.seeds} seeds x {args.steps} steps: batched "
            f"{r['batched_s']:.2f} s, per-seed loop {r['per_seed_loop_s']:.2f} s, "
            f"ratio {r['ratio']:.1f}x"
        )
    result.update(
        device=device_name(device),
        threads=torch.get_num_threads(),
        **git_state(),
        versions=library_versions(),
        wall_time_s=time.perf_counter() - t0,
    )
    out = Path(args.out) if args.out else project_root() / "results" / "bench"
    path = out / f"bench_seeds_{device.type}.json"
    atomic_write_json(path, result)
    root = project_root()
    print(f"written: {path.relative_to(root) if path.is_relative_to(root) else path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
