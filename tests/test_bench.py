"""The benchmark's two training loops do the work the docs say they do."""

from __future__ import annotations

import pytest
import torch

from replication import bench
from replication.chapters.recipe2014 import Mnist2014Recipe

B = 100
G_MACS = 100 * 1200 + 1200 * 1200 + 1200 * 784  # per row, G's three layers
D_MACS = 784 * 1200 + 240 * 1200 + 240 * 1  # per row, D's two maxout layers and the output
D_UPPER = 240 * 1200 + 240  # D's layers above the first (their input gradients)
G_UPPER = 1200 * 1200 + 1200 * 784  # G's layers above the first


def test_matmul_work_per_step_is_the_hand_count():
    cfg = Mnist2014Recipe.for_profile("paper", device="cpu")
    train = torch.rand(400, 784)
    ours = bench.matmul_flops_per_step(bench.ours_loop(train, cfg))
    plain = bench.matmul_flops_per_step(bench.plain_loop(train, cfg, torch.device("cpu")))
    g = B * (G_MACS + G_MACS + G_UPPER)  # forward, weight gradients, input gradients
    # ours: one D pass on real+fake; D's weight gradients; input gradients for d_loss (upper
    # layers) and for g_loss (all layers, down to the fake images)
    ours_macs = g + 2 * B * (D_MACS + D_MACS + D_UPPER + D_MACS)
    # plain: D on real, on fake.detach() and on fake; d_loss: weights + upper input gradients of
    # two passes; g_loss.backward(): D's weight gradients (unused) and all input gradients
    plain_macs = g + 3 * B * D_MACS + 2 * B * (D_MACS + D_UPPER) + B * (D_MACS + D_MACS)
    assert ours == pytest.approx(2 * ours_macs, rel=1e-9)
    assert plain == pytest.approx(2 * plain_macs, rel=1e-9)
    assert 1.05 < plain / ours < 1.15  # why the CPU speed ratio stays near 1.1x
