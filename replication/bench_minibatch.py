"""Speed of the minibatch-discrimination layer, side by side in one process: the tiled autograd
function (`nets.minibatch_features`) against the formula as written, through a [S, B, B, K, C]
tensor (`_minibatch_features_reference`), forward and backward, at the toys' paper shape
(10 seeds, batch 512, Salimans et al.'s 5 kernels of 3 dims) and the quick one.

Each variant is timed `repeats` times, interleaved, and the fastest repeat counts (the least
disturbed on a shared machine). The two outputs and input gradients are compared too (they sum
in another order, so they agree to float rounding, not bit for bit).

    python -m replication.bench_minibatch [--repeats 5] [--out results/bench]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import torch

from replication.bench_record import BenchRecord
from replication.config import resolve_device
from replication.nets.minibatch_features import _minibatch_features_reference, minibatch_features

SHAPES = {"paper": (10, 512, 5, 3), "quick": (5, 128, 5, 3)}  # [S, B, K, C]


def _fwd_bwd(fn: Callable[[torch.Tensor], torch.Tensor], m: torch.Tensor, g: torch.Tensor):
    x = m.detach().requires_grad_(True)
    out = fn(x)
    (grad,) = torch.autograd.grad(out, x, g)
    return out.detach(), grad


def time_both(
    shape: tuple[int, ...], device: torch.device, repeats: int = 5, calls: int = 3
) -> dict[str, Any]:
    """Seconds for `calls` forward+backward passes of each variant (the fastest of `repeats`)."""
    gen = torch.Generator().manual_seed(0)
    m = (torch.randn(*shape, generator=gen) * 0.5).to(device)
    g = torch.randn(shape[0], shape[1], shape[2], generator=gen).to(device)
    variants = {"tiled_s": minibatch_features, "reference_s": _minibatch_features_reference}
    outs = {name: _fwd_bwd(fn, m, g) for name, fn in variants.items()}  # also the warm-up
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            t0 = time.perf_counter()
            for _ in range(calls):
                _fwd_bwd(fn, m, g)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            times[name].append(time.perf_counter() - t0)
    (o1, g1), (o2, g2) = outs["tiled_s"], outs["reference_s"]
    out: dict[str, Any] = {name: min(t) for name, t in times.items()}
    out.update(
        ratio=out["reference_s"] / out["tiled_s"],
        repeats_s=times,
        calls=calls,
        shape_S_B_K_C=list(shape),
        max_abs_diff_output=(o1 - o2).abs().max().item(),
        max_abs_diff_grad=(g1 - g2).abs().max().item(),
    )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5, help="interleaved repeats; fastest counts")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    device = resolve_device(args.device)
    record = BenchRecord(device)
    result: dict[str, Any] = {}
    for name, shape in SHAPES.items():
        result[name] = r = time_both(shape, device, args.repeats)
        print(
            f"{name} shape {list(shape)} [S, B, K, C], forward+backward x{r['calls']}: tiled "
            f"{r['tiled_s']:.3f} s, reference {r['reference_s']:.3f} s, ratio {r['ratio']:.1f}x "
            f"(outputs differ by at most {r['max_abs_diff_output']:.1e}, gradients "
            f"{r['max_abs_diff_grad']:.1e})"
        )
    record.write(result, "bench_minibatch", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
