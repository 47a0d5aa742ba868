"""Salimans et al.'s minibatch features (2016, Sec. 3.2) without the [S, B, B, K, C] tensor.

o_ik = sum over the other rows j of exp(-||m_ik - m_jk||_1). The direct formula materialises
every pairwise difference with its C dims (`_minibatch_features_reference`, kept for the tests);
at the toy paper shape ([10, 512, 5, 3]) its forward and backward take ~0.8 s on one CPU thread,
three times per D step. Here one autograd function computes the same sums from pairs of row
tiles small enough to stay in cache, visits each unordered pair of tiles once (the distances
are symmetric, so one tile gives both its row and its column sums) and writes its own backward:

    dL/dx_ic = -sum_j E_ij sign(x_ic - x_jc) (g_i + g_j),   E_ij = exp(-D_ij), g = dL/do,

with sign(0) = 0 as autograd's |.|, so the self term and tied rows add no gradient, as in the
reference. E is kept from the forward (half of [S*K, B, B]); the signs are recomputed.

No double backward: no method differentiates through this layer's gradient (WGAN-GP's penalty,
the only caller of second derivatives through D besides the unrolled GAN, never uses the
minibatch critic, and the unrolled GAN uses the plain one); a backward that would build a graph
(`create_graph=True`) raises instead of silently dropping the second-order terms.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

# Tile sizes, our choice, measured on one CPU thread at [10, 512, 5, 3] (bench_minibatch):
# row tiles of 128 and about 2^16 pair entries per tile keep each temporary in L2. Other devices
# take one tile of all rows (a GPU wants few, large kernels) and bound memory per tile instead.
CPU_ROWS, CPU_TILE = 128, 1 << 16
OTHER_ROWS, OTHER_TILE = 1 << 30, 1 << 24


def _minibatch_features_reference(m: torch.Tensor) -> torch.Tensor:
    """The formula as written, through a [S, B, B, K, C] tensor: the tests' reference. Their
    code adds 1e6 to the self-distance; subtracting the self term exp(0) = 1 is the same."""
    dist = (m.unsqueeze(2) - m.unsqueeze(1)).abs().sum(-1)  # [S, B, B, K]
    return torch.exp(-dist).sum(2) - 1.0


def minibatch_features(m: torch.Tensor) -> torch.Tensor:
    """m [S, B, K, C] (each row's K kernel vectors) -> o [S, B, K], o_ik = sum over the other
    rows j of exp(-||m_ik - m_jk||_1); the reference's values and gradients (float rounding
    aside), once differentiable."""
    if m.dim() != 4:
        raise ValueError(f"minibatch_features takes m [S, B, K, C]; got shape {tuple(m.shape)}")
    if not m.is_floating_point():
        raise TypeError(f"minibatch_features needs a floating-point m; got {m.dtype}")
    S, B, K, C = m.shape
    x = m.permute(0, 2, 3, 1).reshape(S * K, C, B)  # a kernel's dim c over all rows: contiguous
    return _MinibatchFeatures.apply(x).reshape(S, K, B).permute(0, 2, 1)


def _tiles(n: int, b: int, device: torch.device) -> Iterator[tuple[slice, slice, slice]]:
    """(kernels, rows I, rows J) for each unordered pair of row tiles I <= J, kernels chunked so
    a tile holds about the device's budget of pair entries."""
    rows, budget = (CPU_ROWS, CPU_TILE) if device.type == "cpu" else (OTHER_ROWS, OTHER_TILE)
    rows = min(rows, b)
    per = max(1, budget // (rows * rows))
    starts = range(0, b, rows)
    for n0 in range(0, n, per):
        ns = slice(n0, min(n0 + per, n))
        for i0 in starts:
            for j0 in starts[i0 // rows :]:
                yield ns, slice(i0, min(i0 + rows, b)), slice(j0, min(j0 + rows, b))


def _scratch(size: torch.Size, store: torch.Tensor) -> torch.Tensor:
    return store[: size.numel()].view(size)


def _pair_size(xi: torch.Tensor, xj: torch.Tensor) -> torch.Size:
    return torch.Size((xi.shape[0], xi.shape[2], xj.shape[2]))


def _neg_exp_l1(xi: torch.Tensor, xj: torch.Tensor, out: torch.Tensor, tmp: torch.Tensor) -> None:
    """out[n, i, j] = exp(-sum_c |xi[n, c, i] - xj[n, c, j]|), summed over c in order as the
    reference sums its last dim."""
    for c in range(xi.shape[1]):
        a, b = xi[:, c].unsqueeze(2), xj[:, c].unsqueeze(1)
        if c == 0:
            torch.sub(a, b, out=out).abs_()
        else:
            out.add_(torch.sub(a, b, out=tmp).abs_())
    out.neg_().exp_()


class _MinibatchFeatures(torch.autograd.Function):
    """x [N, C, B] -> o [N, B]; N = S * K independent sets of B points in C dims."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        n, _, b = x.shape
        o = x.new_zeros(n, b)
        tiles = list(_tiles(n, b, x.device))
        most = max((_pair_size(x[ns, :, i], x[ns, :, j]).numel() for ns, i, j in tiles), default=0)
        tmp = x.new_empty(most)
        keep = ctx.needs_input_grad[0]
        # kept E tiles share one allocation; without a gradient one tile's room is reused
        total = sum(_pair_size(x[ns, :, i], x[ns, :, j]).numel() for ns, i, j in tiles)
        store = x.new_empty(total if keep else most)
        at, kept = 0, []
        for ns, i, j in tiles:
            xi, xj = x[ns, :, i], x[ns, :, j]
            size = _pair_size(xi, xj)
            e = store[at : at + size.numel()].view(size)
            _neg_exp_l1(xi, xj, e, _scratch(size, tmp))
            o[ns, i] += e.sum(2)
            if i != j:
                o[ns, j] += e.sum(1)
            if keep:
                at += size.numel()
                kept.append(e)
        if keep:
            ctx.save_for_backward(x)
            ctx.e_tiles = kept
        return o.sub_(1.0)  # the self term, exp(0) = 1 per row

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if torch.is_grad_enabled():
            raise RuntimeError(
                "minibatch_features has no double backward (no method needs one: WGAN-GP's "
                "penalty never uses the minibatch critic); call "
                "replication.nets.minibatch_features._minibatch_features_reference for a "
                "twice-differentiable version"
            )
        (x,) = ctx.saved_tensors
        n, _, b = x.shape
        g = g.contiguous()
        grad = torch.zeros_like(x)
        tiles = list(_tiles(n, b, x.device))
        most = max((e.numel() for e in ctx.e_tiles), default=0)
        w_store, s_store = x.new_empty(most), x.new_empty(most)
        for (ns, i, j), e in zip(tiles, ctx.e_tiles, strict=True):
            xi, xj = x[ns, :, i], x[ns, :, j]
            w = _scratch(e.shape, w_store)
            torch.add(g[ns, i].unsqueeze(2), g[ns, j].unsqueeze(1), out=w).mul_(e)
            s = _scratch(e.shape, s_store)
            for c in range(x.shape[1]):
                torch.sub(xi[:, c].unsqueeze(2), xj[:, c].unsqueeze(1), out=s).sign_().mul_(w)
                grad[ns, c, i] -= s.sum(2)
                if i != j:
                    grad[ns, c, j] += s.sum(1)  # sign(x_j - x_i) = -sign(x_i - x_j)
        return grad
