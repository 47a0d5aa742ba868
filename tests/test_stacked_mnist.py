"""Stacked MNIST's data and metrics against hand-computed cases, and the image networks of the
mode-collapse chapter (shapes, labels carried, the 1-channel DCGAN unchanged)."""

from __future__ import annotations

import math

import pytest
import torch

from replication.datasets import stacked_mnist as sm
from replication.metrics import stacked
from replication.nets.dcgan_variants import (
    ConditionalConvCritic,
    ConditionalConvGenerator,
    MinibatchConvCritic,
)
from replication.nets.wgan2017 import ConvCritic, ConvGenerator


def _pool(n: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose every pixel is the image's index / n, labels index % 10: a stacked pixel
    names the pool image each channel came from."""
    idx = torch.arange(n, dtype=torch.float32)
    return (idx / n)[:, None].expand(n, sm.PIXELS).contiguous(), torch.arange(n) % 10


def test_mode_id_is_the_digits_read_as_a_three_digit_number():
    digits = torch.tensor([[0, 0, 0], [1, 2, 3], [9, 9, 9], [0, 5, 0]])
    assert sm.mode_ids(digits).tolist() == [0, 123, 999, 50]
    with pytest.raises(ValueError, match=r"\[n, 3\]"):
        sm.mode_ids(torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="0..9"):
        sm.mode_ids(torch.tensor([[0, 10, 0]]))


def test_stack_draws_each_channel_from_the_pool_with_its_label():
    images, labels = _pool()
    s = sm.stack(images, labels, 500, seed=3)
    assert s.images.shape == (500, 3 * 784) and s.digits.shape == (500, 3)
    src = (sm.channels_of(s.images)[:, :, 0] * 40).round().long()  # pool index per channel
    assert torch.equal(s.digits, labels[src])  # each channel's label is its image's
    assert torch.equal(s.modes, 100 * s.digits[:, 0] + 10 * s.digits[:, 1] + s.digits[:, 2])
    assert len(set(src.flatten().tolist())) == 40  # 1,500 draws reach every pool image
    assert not torch.equal(src[:, 0], src[:, 1])  # channels drawn independently
    again = sm.stack(images, labels, 500, seed=3)
    assert torch.equal(again.images, s.images)  # a private generator: reproducible
    assert not torch.equal(sm.stack(images, labels, 500, seed=4).images, s.images)


def test_stack_refuses_bad_input():
    images, labels = _pool()
    with pytest.raises(ValueError, match="784"):
        sm.stack(images[:, :10], labels, 5, 0)
    with pytest.raises(ValueError, match="do not match"):
        sm.stack(images, labels[:3], 5, 0)
    with pytest.raises(ValueError, match="n >= 1"):
        sm.stack(images, labels, 0, 0)


def test_scores_of_a_hand_made_histogram():
    # 4 samples: modes 123 (twice), 0, 999 -> p = (1/2, 1/4, 1/4) on 3 of 1,000 modes
    digits = torch.tensor([[1, 2, 3], [1, 2, 3], [0, 0, 0], [9, 9, 9]])
    sc = stacked.stacked_scores(digits)
    assert sc.modes == 3 and sum(sc.counts) == 4 and sc.counts[123] == 2
    kl = 0.5 * math.log(500) + 2 * 0.25 * math.log(250)  # sum p log(1000 p)
    assert sc.kl == pytest.approx(kl, rel=1e-12)
    assert sc.kl == pytest.approx(math.log(1000) - 1.5 * math.log(2), rel=1e-12)  # log K - H(p)


def test_every_mode_once_has_kl_zero_and_one_mode_has_log_1000():
    all_modes = torch.tensor([[m // 100, m // 10 % 10, m % 10] for m in range(1000)])
    sc = stacked.stacked_scores(all_modes)
    assert sc.modes == 1000 and sc.kl == pytest.approx(0.0, abs=1e-12)
    one = stacked.stacked_scores(torch.tensor([[4, 0, 7]] * 26))
    assert one.modes == 1 and one.kl == pytest.approx(math.log(1000))


def test_mode_counts_refuses_ids_out_of_range():
    with pytest.raises(ValueError, match="0, 1000"):
        stacked.mode_counts(torch.tensor([1000]))
    with pytest.raises(ValueError, match="no samples"):
        stacked.mode_counts(torch.tensor([], dtype=torch.long))


def test_channel_digits_classifies_each_channel_in_order():
    # a "classifier" that reads the digit from the first pixel: logits peak at round(10 x)
    def classify(x: torch.Tensor) -> torch.Tensor:
        return -((torch.arange(10) - 10 * x[:, :1]) ** 2)

    digits = torch.tensor([[3, 0, 9], [7, 7, 1]])
    images = (digits.float() / 10)[:, :, None].expand(2, 3, 784).reshape(2, -1)
    assert torch.equal(stacked.channel_digits(classify, images), digits)


def test_conditional_accuracy_overall_and_per_label():
    asked = torch.tensor([0, 0, 1, 1, 1, 2])
    predicted = torch.tensor([0, 5, 1, 1, 0, 2])
    acc = stacked.conditional_accuracy(predicted, asked, classes=4)
    assert acc["accuracy"] == pytest.approx(4 / 6)
    assert acc["per_label"][:3] == pytest.approx([0.5, 2 / 3, 1.0])
    assert math.isnan(acc["per_label"][3])  # never asked for


# -- networks --------------------------------------------------------------------------------------
def test_one_channel_dcgan_keeps_its_layers_and_three_channels_stack():
    g1, d1 = ConvGenerator(8, 4), ConvCritic(4)
    assert {k: v.shape for k, v in g1.state_dict().items()}["up.5.weight"] == (4, 1, 4, 4)
    assert d1.state_dict()["net.1.weight"].shape == (4, 1, 4, 4)
    g3, d3 = ConvGenerator(8, 4, channels=3), ConvCritic(4, channels=3)
    x = g3(torch.randn(5, 8))
    assert x.shape == (5, 3 * 784) and d3(x).shape == (5,)
    assert d3.features(x).shape == (5, 2 * 4 * 49)


def test_minibatch_critic_scores_each_row_against_its_own_call():
    D = MinibatchConvCritic(dim=4, channels=3, kernels=6, kernel_dim=2)
    x = torch.rand(5, 3 * 784)
    out = D(x)
    assert out.shape == (5,)
    assert not torch.allclose(D(x[:3]), out[:3])  # the other rows of the call matter


def test_conditional_pair_carries_the_label_to_d():
    G = ConditionalConvGenerator(noise_dim=8, dim=4, classes=10)
    z = G.noise_for(torch.tensor([3, 7]))
    x = G(z)
    assert x.shape == (2, 784 + 10) and x[:, 784:].argmax(1).tolist() == [3, 7]
    assert G.sample_noise(6, "cpu").shape == (6, 8 + 10)
    D = ConditionalConvCritic(dim=4, classes=10)
    assert D(x).shape == (2,)
    swapped = torch.cat([x[:, :784], x[:, 784:].flip(0)], 1)
    assert not torch.allclose(D(swapped), D(x))  # D reads the label
    with pytest.raises(ValueError, match="label"):
        D(x[:, :784])
