"""Speed of batched seeds, side by side in one process: the mode-collapse chapter's S seeds as
one batched module pair (one update rule step trains them all) against the simple alternative,
a loop that trains S ordinary networks one after the other with the same update rule.

Both do the same arithmetic (each seed's networks, batch and cost are the same); the batched
version runs each layer for all seeds in one `baddbmm` and pays the Python and autograd overhead
once per step instead of S times. Reported as a ratio, for the chapter's quick (small) and
paper (the unrolled demo's) networks.

Each variant is timed `repeats` times, interleaved (batched, loop, batched, loop, ...), and the
fastest repeat counts: on a machine shared with other jobs the fastest is the least disturbed.
The batched module is also timed at 2 seeds, which splits its step into a part paid once per
step (Python, dispatch, autograd: `step_overhead_s`) and a part paid per seed (arithmetic and
random draws: `per_seed_work_s`); the loop's time per seed over that per-seed part is the ratio
any number of seeds could reach (`ratio_ceiling`), since the batched step cannot do less than
the seeds' own work.

    python -m replication.bench_seeds [--seeds 10] [--steps 40] [--repeats 3] [--out results/bench]
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from replication.bench_record import BenchRecord
from replication.chapters.mode_collapse import ModeCollapseConfig, build_gan, objective_for
from replication.config import resolve_device
from replication.datasets.toy import RING8
from replication.nets.mlp2014 import Sampling
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


def time_both(
    cfg: ModeCollapseConfig, steps: int, device: torch.device, repeats: int = 3
) -> dict[str, Any]:
    """Seconds for `steps` updates of all seeds, batched and one seed after another (the
    fastest of `repeats` interleaved repeats), and the batched step split into per-step and
    per-seed parts from a 2-seed module."""
    S = cfg.seeds_toy
    data = RING8.sample(cfg.batch_size * 4, device, seed=0, seeds=S)
    batches = [data[i * cfg.batch_size : (i + 1) * cfg.batch_size] for i in range(4)]
    gan = build_gan(METHOD, cfg, RING8, device)
    two = build_gan(METHOD, replace(cfg, seeds_toy=2), RING8, device)
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

    def two_seed_run(n: int) -> None:
        for i in range(n):
            rule.step(two, batches[i % 4][:, :2])

    def per_seed_run(n: int) -> None:
        for s, g in enumerate(singles):
            for i in range(n):
                plain_rule.step(g, batches[i % 4][:, s])

    runs = {"batched_s": batched_run, "per_seed_loop_s": per_seed_run, "two_seeds_s": two_seed_run}
    for run in runs.values():
        run(3)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            t0 = time.perf_counter()
            run(steps)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            times[name].append(time.perf_counter() - t0)
    out: dict[str, Any] = {name: min(t) for name, t in times.items()}
    out["repeats_s"] = times
    out["ratio"] = out["per_seed_loop_s"] / out["batched_s"]
    per_seed = (out["batched_s"] - out["two_seeds_s"]) / (S - 2) if S > 2 else math.nan
    if per_seed > 0:
        out["per_seed_work_s"] = per_seed
        out["step_overhead_s"] = out["two_seeds_s"] - 2 * per_seed
        out["ratio_ceiling"] = out["per_seed_loop_s"] / S / per_seed
    else:  # too few seeds, or timing noise larger than a seed's work
        out["per_seed_work_s"] = out["step_overhead_s"] = out["ratio_ceiling"] = None
    out.update(
        seeds=S,
        steps=steps,
        repeats=repeats,
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
    ap.add_argument(
        "--repeats", type=int, default=3, help="interleaved repeats; the fastest counts"
    )
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    device = resolve_device(args.device)
    record = BenchRecord(device)
    result: dict[str, Any] = {"method": METHOD}
    for profile in ("quick", "paper"):
        cfg = ModeCollapseConfig.for_profile(profile, seeds_toy=args.seeds, device=str(device))
        result[f"{profile}_networks"] = r = time_both(cfg, args.steps, device, args.repeats)
        ceiling = "?" if r["ratio_ceiling"] is None else f"{r['ratio_ceiling']:.1f}x"
        print(
            f"{profile} networks, {args.seeds} seeds x {args.steps} steps: batched "
            f"{r['batched_s']:.2f} s, per-seed loop {r['per_seed_loop_s']:.2f} s, "
            f"ratio {r['ratio']:.1f}x (with any number of seeds at most {ceiling})"
        )
    record.write(result, "bench_seeds", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
