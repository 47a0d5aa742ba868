"""The tiled minibatch-features function gives the formula's values and gradients: against the
direct [S, B, B, K, C] formula in float64 (over several row tiles, with tied rows whose |.| has
no gradient), by `gradcheck`, and it refuses what it cannot do (a second derivative, bad shapes)."""

from __future__ import annotations

import json

import pytest
import torch

from replication.nets import minibatch_features as mf


def _inputs(shape, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    m = torch.randn(*shape, generator=gen, dtype=dtype) * 0.4
    g = torch.randn(shape[0], shape[1], shape[2], generator=gen, dtype=dtype)
    return m, g


def _value_and_grad(fn, m, g):
    x = m.clone().requires_grad_(True)
    out = fn(x)
    (grad,) = torch.autograd.grad(out, x, g)
    return out.detach(), grad


@pytest.mark.parametrize(
    "shape, rows, tile",
    [
        ((2, 7, 3, 2), 128, 1 << 16),  # one tile
        ((3, 300, 5, 3), 128, 1 << 16),  # three row tiles, the last short: pairs (I, J) and (I, I)
        ((2, 50, 4, 3), 16, 600),  # kernels chunked too (600 entries: 2 kernels a tile)
    ],
)
def test_values_and_gradients_equal_the_formula(monkeypatch, shape, rows, tile):
    monkeypatch.setattr(mf, "CPU_ROWS", rows)
    monkeypatch.setattr(mf, "CPU_TILE", tile)
    m, g = _inputs(shape)
    m[:, 1] = m[:, 0]  # a tied pair of rows: distance 0, and sign(0) = 0 in both gradients
    m[0, 4, :, 0] = m[0, 2, :, 0]  # tied in one dim only
    o_ref, g_ref = _value_and_grad(mf._minibatch_features_reference, m, g)
    o, grad = _value_and_grad(mf.minibatch_features, m, g)
    assert o.shape == o_ref.shape == shape[:3]
    torch.testing.assert_close(o, o_ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad, g_ref, rtol=1e-10, atol=1e-12)


def test_gradcheck_over_two_tiles(monkeypatch):
    monkeypatch.setattr(mf, "CPU_ROWS", 4)
    m, _ = _inputs((2, 9, 2, 3), seed=1)
    assert torch.autograd.gradcheck(mf.minibatch_features, (m.requires_grad_(True),))


def test_float32_close_to_the_formula():
    m, g = _inputs((2, 200, 5, 3), seed=2, dtype=torch.float32)
    o_ref, g_ref = _value_and_grad(mf._minibatch_features_reference, m, g)
    o, grad = _value_and_grad(mf.minibatch_features, m, g)
    torch.testing.assert_close(o, o_ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(grad, g_ref, rtol=1e-4, atol=1e-4)


def test_without_gradient_keeps_nothing():
    m, _ = _inputs((2, 20, 3, 2))
    with torch.no_grad():
        o = mf.minibatch_features(m)
    torch.testing.assert_close(o, mf._minibatch_features_reference(m))


def test_second_derivative_refused_not_dropped():
    m, _ = _inputs((1, 5, 2, 2))
    x = m.requires_grad_(True)
    out = mf.minibatch_features(x).sum()
    with pytest.raises(RuntimeError, match="no double backward"):
        torch.autograd.grad(out, x, create_graph=True)


@pytest.mark.parametrize(
    "m, error, words",
    [
        (torch.zeros(3, 2, 2), ValueError, "m \\[S, B, K, C\\]"),
        (torch.zeros(1, 3, 2, 2, dtype=torch.int64), TypeError, "floating-point"),
    ],
)
def test_bad_input_is_named(m, error, words):
    with pytest.raises(error, match=words):
        mf.minibatch_features(m)


def test_the_benchmark_times_both_on_the_same_input_and_checks_they_agree(tmp_path, monkeypatch):
    from replication import bench_minibatch

    r = bench_minibatch.time_both((2, 40, 3, 2), torch.device("cpu"), repeats=2, calls=1)
    assert len(r["repeats_s"]["tiled_s"]) == len(r["repeats_s"]["reference_s"]) == 2
    assert r["ratio"] == r["reference_s"] / r["tiled_s"] > 0
    assert r["max_abs_diff_output"] < 1e-4 and r["max_abs_diff_grad"] < 1e-4
    monkeypatch.setattr(bench_minibatch, "SHAPES", {"tiny": (2, 20, 3, 2)})
    assert bench_minibatch.main(["--repeats", "1", "--out", str(tmp_path)]) == 0
    written = json.loads((tmp_path / "bench_minibatch_cpu.json").read_text())
    assert set(written) >= {"tiny", "device", "threads", "git_commit", "versions"}
