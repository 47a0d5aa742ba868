"""Speed, side by side in one process: our code against the simple version people usually write.

1. Training: our loop (data on the device, index-sliced batches, losses summed on the device, one
   D pass for both costs) against a plain per-batch `DataLoader` loop of the same 2014 models
   (host batches moved to the device, separate D passes, `loss.item()` every step).
2. Parzen: `parzen.log_likelihood` on 10,000 test images x 10,000 centres x 10 sigmas against the
   plain NumPy implementation of the same formula, timed on a subset of test points and scaled
   linearly to 10,000 (it is linear in the number of points).
3. The matrix-product work of one step of each loop, counted by torch: on a CPU, where these
   products take most of the time, it roughly caps the training ratio (`matmul_flops_per_step`).

    python -m replication.bench [--steps 200] [--parzen-points 50] [--out results/bench]
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.flop_counter import FlopCounterMode

from replication.chapters.recipe2014 import Mnist2014Recipe, build_gan
from replication.config import resolve_device
from replication.datasets.mnist import load_mnist
from replication.metrics import parzen
from replication.runs.paths import project_root
from replication.runs.store import atomic_write_json, device_name, git_state, library_versions
from replication.training.losses import GENERATOR_COSTS
from replication.training.steps import simultaneous_step


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


Loop = Callable[[int], None]


def ours_loop(train: torch.Tensor, cfg: Mnist2014Recipe) -> Loop:
    """Our training step: data on the device, index-sliced batches, one D pass, no host sync."""
    gan = build_gan(cfg, train, train.device)
    cost = GENERATOR_COSTS["nonsaturating"]
    perm = torch.randperm(train.shape[0], device=train.device)
    b = cfg.batch_size

    def run(n: int) -> None:
        sums = torch.zeros(4, device=train.device)
        for i in range(n):
            j = (i * b) % (train.shape[0] - b)
            sums += simultaneous_step(gan, train[perm[j : j + b]], cost, g_cost_scale=2.0)
        sums.tolist()

    return run


def plain_loop(train_cpu: torch.Tensor, cfg: Mnist2014Recipe, device: torch.device) -> Loop:
    """The common PyTorch style: DataLoader, per-batch .to(device), two D passes, .item()."""
    gan = build_gan(cfg, train_cpu, device)
    G, D = gan.generator, gan.discriminator
    opt_g = torch.optim.SGD(G.parameters(), lr=cfg.lr, momentum=cfg.momentum_start)
    opt_d = torch.optim.SGD(D.parameters(), lr=cfg.lr, momentum=cfg.momentum_start)
    loader = DataLoader(
        TensorDataset(train_cpu), batch_size=cfg.batch_size, shuffle=True, drop_last=True
    )

    def run(n: int) -> None:
        done = 0
        while done < n:
            for (x,) in loader:
                x = x.to(device)
                z = G.sample_noise(x.shape[0], device)
                fake = G(z)
                d_loss = 0.5 * (
                    F.binary_cross_entropy_with_logits(D(x), torch.ones(len(x), device=device))
                    + F.binary_cross_entropy_with_logits(
                        D(fake.detach()), torch.zeros(len(x), device=device)
                    )
                )
                opt_d.zero_grad()
                d_loss.backward()
                opt_d.step()
                g_loss = F.binary_cross_entropy_with_logits(
                    D(fake), torch.ones(len(x), device=device)
                )
                opt_g.zero_grad()
                g_loss.backward()
                opt_g.step()
                _ = d_loss.item(), g_loss.item()  # the usual per-step logging
                done += 1
                if done >= n:
                    break

    return run


def steps_per_s(run: Loop, steps: int, device: torch.device) -> float:
    run(10)  # warm-up
    _sync(device)
    t0 = time.perf_counter()
    run(steps)
    _sync(device)
    return steps / (time.perf_counter() - t0)


def matmul_flops_per_step(run: Loop, steps: int = 2) -> float:
    """Floating-point operations of the matrix products of one step (torch's FlopCounterMode).

    Both loops train the same models, so where matrix products dominate the time (a CPU) the
    speed ratio stays near the ratio of these counts: only the overheads a loop saves (host
    batches, extra passes' small kernels, syncs) add to it."""
    with FlopCounterMode(display=False) as counter:
        run(steps)
    return counter.get_total_flops() / steps


def parzen_times(mnist, device: torch.device, points: int) -> dict:
    centres = mnist.train[:10_000].to(device)
    test = mnist.test.to(device)
    sigmas = parzen.default_sigma_grid()
    _sync(device)
    t0 = time.perf_counter()
    ours = parzen.log_likelihood(test, centres, sigmas)
    _sync(device)
    t_ours = time.perf_counter() - t0
    c_np, x_np = mnist.train[:10_000].numpy().astype(np.float64), mnist.test[:points].numpy()
    t0 = time.perf_counter()
    ref = np.stack([parzen.numpy_reference_log_likelihood(x_np, c_np, float(s)) for s in sigmas])
    t_ref_subset = time.perf_counter() - t0
    t_ref = t_ref_subset * test.shape[0] / points
    max_err = float(np.abs(ours[:, :points].numpy() - ref).max())
    return {
        "points": test.shape[0],
        "centres": 10_000,
        "sigmas": len(sigmas),
        "ours_s": t_ours,
        "numpy_s_extrapolated": t_ref,
        "numpy_points_timed": points,
        "numpy_s_timed": t_ref_subset,
        "ratio": t_ref / t_ours,
        "max_abs_diff_nats": max_err,
        "max_batch_bytes": 256 * 2**20,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--parzen-points", type=int, default=50)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    device = resolve_device(args.device)
    mnist = load_mnist(args.data_dir)
    cfg = Mnist2014Recipe.for_profile("paper", device=str(device))
    t0 = time.perf_counter()
    ours_run = ours_loop(mnist.train.to(device), cfg)
    plain_run = plain_loop(mnist.train, cfg, device)
    ours = steps_per_s(ours_run, args.steps, device)
    plain = steps_per_s(plain_run, args.steps, device)
    ours_flops, plain_flops = matmul_flops_per_step(ours_run), matmul_flops_per_step(plain_run)
    pz = parzen_times(mnist, device, args.parzen_points)
    result = {
        "training": {
            "ours_steps_per_s": ours,
            "plain_dataloader_steps_per_s": plain,
            "ratio": ours / plain,
            "steps_timed": args.steps,
            "ours_matmul_gflop_per_step": ours_flops / 1e9,
            "plain_matmul_gflop_per_step": plain_flops / 1e9,
            "matmul_work_ratio": plain_flops / ours_flops,
            "model": "2014 MNIST GAN (G 100-1200-1200-784, D maxout 240x5 x2)",
        },
        "parzen": pz,
        "device": device_name(device),
        "threads": torch.get_num_threads(),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **git_state(),
        "versions": library_versions(),
        "wall_time_s": time.perf_counter() - t0,
    }
    out = Path(args.out) if args.out else project_root() / "results" / "bench"
    path = out / f"bench_{device.type}.json"
    atomic_write_json(path, result)
    print(
        f"training: ours {ours:.1f} steps/s, plain DataLoader {plain:.1f} steps/s, "
        f"ratio {ours / plain:.2f}x; matrix-product work per step: ours {ours_flops / 1e9:.2f} "
        f"GFLOP, plain {plain_flops / 1e9:.2f} GFLOP (ratio {plain_flops / ours_flops:.2f}x: "
        "what the matrix products alone would give)"
    )
    print(
        f"parzen 10k x 10k x 10 sigmas: ours {pz['ours_s']:.1f} s, plain NumPy "
        f"{pz['numpy_s_extrapolated']:.0f} s (extrapolated from {args.parzen_points} points), "
        f"ratio {pz['ratio']:.0f}x, max |diff| {pz['max_abs_diff_nats']:.1e} nats"
    )
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
