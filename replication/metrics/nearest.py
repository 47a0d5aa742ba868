"""Blockwise squared distances, nearest neighbours and k-means: the distance machinery behind the
Parzen estimator (`parzen.py`) and the chapters' memorisation checks and reference rows.

Squared distances between N points and M centres are formed as ||x||^2 + ||mu||^2 - 2 x.mu in
blocks of one matmul each, so peak memory is bounded whatever N and M.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch

ArrayLike = torch.Tensor | np.ndarray

# k-means only needs the arg-min of the distances, so it uses the faster float32 matmul.
_KMEANS_DTYPE = torch.float32
# Bytes per block element: the float64 [rows, cols] block, and headroom for an equal temporary.
_ELEM_BYTES = 8
_BLOCK_TEMPS = 2
# When the centres must be chunked, keep at least this many points per batch so that the matmul
# stays efficient.
_MIN_ROWS = 256
# Rows checked at a time for NaN/inf, to bound the boolean temporary.
CHECK_ELEMS = 2**22


# --------------------------------------------------------------------------- input checking


def as_matrix(x: ArrayLike, name: str) -> torch.Tensor:
    """A 2-D, non-empty, finite real tensor view of x (no copy for tensors and numpy arrays)."""
    t = torch.as_tensor(x)
    if t.is_complex() or t.dtype == torch.bool:
        raise ValueError(f"{name} must be real-valued, got dtype {t.dtype}")
    if t.dim() != 2:
        raise ValueError(f"{name} must be 2-D [count, dim], got shape {tuple(t.shape)}")
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(f"{name} must be non-empty, got shape {tuple(t.shape)}")
    if t.is_floating_point():
        step = max(1, CHECK_ELEMS // t.shape[1])
        for r0 in range(0, t.shape[0], step):
            if not bool(torch.isfinite(t[r0 : r0 + step]).all()):
                raise ValueError(f"{name} contains NaN or inf values")
    return t


def resolve_device(ref: object, device: torch.device | str | None) -> torch.device:
    """The explicit device, else that of the reference tensor, else CPU."""
    if device is not None:
        return torch.device(device)
    return ref.device if isinstance(ref, torch.Tensor) else torch.device("cpu")


# --------------------------------------------------------------------------- blockwise distances


def block_bytes(rows: int, cols: int, dim: int) -> int:
    """Peak bytes of one block: the [rows, cols] temporaries plus the two converted input slices."""
    return _ELEM_BYTES * (_BLOCK_TEMPS * rows * cols + (rows + cols) * dim)


def block_shape(
    n: int, m: int, dim: int, max_batch_bytes: int, batch_size: int | None = None
) -> tuple[int, int]:
    """(points per batch, centres per chunk) with block_bytes(rows, cols, dim) <= max_batch_bytes.

    All centres go in one chunk when a reasonable batch of points still fits (the usual case);
    otherwise centres are chunked, so memory stays bounded even for M ~ 10^6.
    """
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int or None, got {batch_size!r}")
    budget = max_batch_bytes // _ELEM_BYTES  # in elements

    def max_cols(r: int) -> int:
        return (budget - r * dim) // (_BLOCK_TEMPS * r + dim)

    def max_rows(c: int) -> int:
        return (budget - c * dim) // (_BLOCK_TEMPS * c + dim)

    if max_cols(1) < 1:
        raise ValueError(
            f"max_batch_bytes={max_batch_bytes} cannot hold even one point and one centre in "
            f"d={dim}; need at least {block_bytes(1, 1, dim)}"
        )
    if batch_size is None:
        rows = min(n, max_rows(m))
        if rows >= min(n, _MIN_ROWS):
            return rows, m
        rows = min(n, _MIN_ROWS)
    else:
        rows = min(n, batch_size)
    rows = min(rows, max_rows(1))  # the memory bound wins over batch_size
    return rows, min(m, max_cols(rows))


def _column_mean(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Mean of the rows in float64, summed in bounded-size chunks."""
    step = max(1, CHECK_ELEMS // x.shape[1])
    total = torch.zeros(x.shape[1], dtype=torch.float64, device=device)
    for r0 in range(0, x.shape[0], step):
        total += x[r0 : r0 + step].to(device=device, dtype=torch.float64).sum(0)
    return total / x.shape[0]


def distance_blocks(
    points: torch.Tensor,
    centres: torch.Tensor,
    rows: int,
    cols: int,
    *,
    dtype: torch.dtype,
    device: torch.device,
) -> Iterator[tuple[int, int, int, torch.Tensor]]:
    """Yield (r0, r1, c0, block) with block[i, j] = ||points[r0 + i] - centres[c0 + j]||^2.

    Uses ||x||^2 + ||mu||^2 - 2 x.mu (one matmul per block) on data shifted by the centres' mean,
    which lowers the norms and hence the cancellation when the data sit away from the origin.
    Inputs are converted slice by slice, so their full-size copies never exist.
    """
    shift = _column_mean(centres, device).to(dtype)

    def prepare(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = t.to(device=device, dtype=dtype) - shift
        return t, (t * t).sum(1)

    m = centres.shape[0]
    whole = prepare(centres) if cols >= m else None
    for r0 in range(0, points.shape[0], rows):
        x, x_sq = prepare(points[r0 : r0 + rows])
        for c0 in range(0, m, cols):
            c, c_sq = whole if whole is not None else prepare(centres[c0 : c0 + cols])
            block = torch.addmm(c_sq.unsqueeze(0), x, c.T, beta=1, alpha=-2)
            block.add_(x_sq.unsqueeze(1)).clamp_min_(0)
            yield r0, r0 + x.shape[0], c0, block


# --------------------------------------------------------------------------- nearest, k-means


def _nearest(
    x: torch.Tensor, centres: torch.Tensor, rows: int, cols: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """(squared distance, index) of each row's nearest centre, blockwise."""
    best_d = torch.full((x.shape[0],), math.inf, dtype=_KMEANS_DTYPE, device=device)
    best_i = torch.zeros(x.shape[0], dtype=torch.long, device=device)
    for r0, r1, c0, block in distance_blocks(
        x, centres, rows, cols, dtype=_KMEANS_DTYPE, device=device
    ):
        d, i = block.min(1)
        better = d < best_d[r0:r1]
        best_d[r0:r1] = torch.where(better, d, best_d[r0:r1])
        best_i[r0:r1] = torch.where(better, i + c0, best_i[r0:r1])
    return best_d, best_i


def nearest(
    points: ArrayLike,
    refs: ArrayLike,
    *,
    max_batch_bytes: int = 256 * 2**20,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(Euclidean distance, index) of each point's nearest reference row, in the same
    memory-bounded blocks as the estimator and k-means (float32, like the k-means assignment)."""
    x, r = as_matrix(points, "points"), as_matrix(refs, "refs")
    if x.shape[1] != r.shape[1]:
        raise ValueError(f"points have d={x.shape[1]} but refs have d={r.shape[1]}")
    dev = resolve_device(points, device)
    rows, cols = block_shape(x.shape[0], r.shape[0], x.shape[1], max_batch_bytes)
    d2, idx = _nearest(x, r, rows, cols, dev)
    return d2.sqrt(), idx


def _kmeans_pp_indices(
    x: torch.Tensor, k: int, gen: torch.Generator, rows: int, device: torch.device
) -> list[int]:
    """k-means++ seeding: each next centre drawn with probability proportional to D(x)^2."""
    n = x.shape[0]
    chosen = [int(torch.randint(n, (1,), generator=gen))]
    d2 = torch.full((n,), math.inf, dtype=torch.float64)
    for _ in range(k):
        new = x[chosen[-1] : chosen[-1] + 1]
        dist, _ = _nearest(x, new, rows, 1, device)
        d2 = torch.minimum(d2, dist.to(torch.float64).cpu())
        if len(chosen) == k:
            break
        weights = d2 if float(d2.sum()) > 0 else torch.ones(n, dtype=torch.float64)
        chosen.append(int(torch.multinomial(weights, 1, generator=gen)))
    return chosen


def kmeans_centres(
    x: ArrayLike,
    k: int,
    *,
    iters: int = 20,
    seed: int = 0,
    init: str = "random",
    batch_size: int | None = None,
    max_batch_bytes: int = 256 * 2**20,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """k centres of x by Lloyd's k-means: a compact Parzen reference model fitted on real data.

    init "random" takes k distinct rows (cheap for k = 10^4); "k-means++" seeds by D^2 sampling
    (better for small k). Both are seeded by `seed`. Assignment runs in memory-bounded blocks;
    a cluster left empty is re-seeded with the point farthest from its centre, deterministically.
    Stops early when no assignment changes. Returns [k, d] on the device, in x's float dtype.
    """
    xt = as_matrix(x, "x")
    n, dim = xt.shape
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    if k > n:
        raise ValueError(f"k={k} centres requested but x has only n={n} points")
    if init not in ("random", "k-means++"):
        raise ValueError(f"init must be 'random' or 'k-means++', got {init!r}")
    dev = resolve_device(x, device)
    out_dtype = xt.dtype if xt.is_floating_point() else torch.float64
    gen = torch.Generator().manual_seed(seed)

    if init == "random":
        idx = torch.randperm(n, generator=gen)[:k]
    else:
        pp_rows, _ = block_shape(n, 1, dim, max_batch_bytes, batch_size)
        idx = torch.tensor(_kmeans_pp_indices(xt, k, gen, pp_rows, dev))
    centres = xt[idx].to(device=dev, dtype=torch.float64)

    rows, cols = block_shape(n, k, dim, max_batch_bytes, batch_size)
    assign = None
    for _ in range(iters):
        dist, new_assign = _nearest(xt, centres, rows, cols, dev)
        if assign is not None and torch.equal(new_assign, assign):
            break
        assign = new_assign
        sums = torch.zeros((k, dim), dtype=torch.float64, device=dev)
        for r0 in range(0, n, rows):
            batch = xt[r0 : r0 + rows].to(device=dev, dtype=torch.float64)
            sums.index_add_(0, assign[r0 : r0 + rows], batch)
        counts = torch.bincount(assign, minlength=k)
        centres = sums / counts.clamp_min(1).unsqueeze(1).to(torch.float64)
        empty = torch.nonzero(counts == 0).flatten()
        if empty.numel():
            far = torch.topk(dist, empty.numel()).indices  # ties: topk is deterministic
            centres[empty] = xt[far.cpu()].to(device=dev, dtype=torch.float64)
    return centres.to(out_dtype)
