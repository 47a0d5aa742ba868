"""GAN losses on logits against their closed forms, autograd, and torch's own BCE."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from replication.chapters.loss_saturation import (
    COSTS,
    LossSaturationConfig,
    closed_form_curves,
)
from replication.report.loss_saturation import training_findings
from replication.training.losses import (
    GENERATOR_COSTS,
    LABELS,
    closed_form_cost,
    closed_form_logit_grad,
    discriminator_bce,
    generator_max_likelihood,
    generator_minimax,
    generator_nonsaturating,
)

LOGITS = torch.cat(
    [torch.linspace(-10, 10, 201, dtype=torch.float64), torch.tensor([-10.0, 10.0, 0.0]).double()]
)


def _naive(name: str, d: torch.Tensor) -> torch.Tensor:
    """The tutorial's per-sample costs written directly in D."""
    return {
        "minimax": 0.5 * torch.log(1 - d),
        "nonsaturating": -0.5 * torch.log(d),
        "max_likelihood": -0.5 * d / (1 - d),
    }[name]


def test_the_three_costs_are_registered_with_labels():
    assert list(GENERATOR_COSTS) == ["minimax", "nonsaturating", "max_likelihood"]
    assert GENERATOR_COSTS["minimax"] is generator_minimax
    assert GENERATOR_COSTS["nonsaturating"] is generator_nonsaturating
    assert GENERATOR_COSTS["max_likelihood"] is generator_max_likelihood
    assert set(LABELS) == set(GENERATOR_COSTS) and COSTS == tuple(GENERATOR_COSTS)


@pytest.mark.parametrize("name", list(GENERATOR_COSTS))
def test_costs_on_logits_match_the_closed_forms_in_d(name):
    d = torch.sigmoid(LOGITS)
    got = GENERATOR_COSTS[name](LOGITS)
    assert got.dtype == torch.float64 and got.shape == ()
    expected = _naive(name, d).mean()
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    # per sample: one-element batches
    per_sample = torch.stack([GENERATOR_COSTS[name](l.reshape(1)) for l in LOGITS])
    torch.testing.assert_close(per_sample, _naive(name, d), rtol=1e-11, atol=1e-12)
    torch.testing.assert_close(per_sample, closed_form_cost(name, d), rtol=1e-11, atol=1e-12)


def test_cost_values_at_d_one_half():
    zero = torch.zeros(3, dtype=torch.float64)
    half_log2 = 0.5 * math.log(2)
    assert generator_minimax(zero).item() == pytest.approx(-half_log2, rel=1e-15)
    assert generator_nonsaturating(zero).item() == pytest.approx(half_log2, rel=1e-15)
    assert generator_max_likelihood(zero).item() == -0.5
    assert discriminator_bce(zero, zero).item() == pytest.approx(math.log(2), rel=1e-15)


@pytest.mark.parametrize("name", list(GENERATOR_COSTS))
def test_closed_form_logit_grad_is_the_derivative(name):
    """d/dl of the per-sample cost J(sigmoid(l)), by autograd through the closed form in D."""
    logit = LOGITS.clone().requires_grad_(True)
    cost = closed_form_cost(name, torch.sigmoid(logit))
    (grad,) = torch.autograd.grad(cost.sum(), logit)
    d = torch.sigmoid(LOGITS)
    torch.testing.assert_close(closed_form_logit_grad(name, d), grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", list(GENERATOR_COSTS))
def test_gradient_of_the_batch_cost_on_logits(name):
    """The on-logit cost is a batch mean: its gradient is the per-sample one over n."""
    logit = LOGITS.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(GENERATOR_COSTS[name](logit), logit)
    expected = closed_form_logit_grad(name, torch.sigmoid(LOGITS)) / len(LOGITS)
    torch.testing.assert_close(grad, expected, rtol=1e-9, atol=1e-15)


def test_closed_form_values_at_known_points():
    d = torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64)
    assert closed_form_logit_grad("minimax", d).tolist() == [-0.125, -0.25, -0.375]
    assert closed_form_logit_grad("nonsaturating", d).tolist() == [-0.375, -0.25, -0.125]
    assert closed_form_logit_grad("max_likelihood", d).tolist() == [-1 / 6, -0.5, -1.5]
    assert closed_form_cost("max_likelihood", d).tolist() == [-1 / 6, -0.5, -1.5]
    assert closed_form_cost("nonsaturating", d)[1].item() == 0.5 * math.log(2)
    with pytest.raises(KeyError, match="unknown generator cost 'wgan'"):
        closed_form_cost("wgan", d)
    with pytest.raises(KeyError, match="unknown generator cost 'wgan'"):
        closed_form_logit_grad("wgan", d)


def test_plotted_grid_is_finite():
    curves = closed_form_curves()
    assert len(curves) == 999
    assert curves.d_of_g.iloc[0] == pytest.approx(1e-3) and curves.d_of_g.iloc[-1] == 0.999
    cols = [f"{kind}_{name}" for name in COSTS for kind in ("cost", "grad")]
    assert list(curves.columns) == ["d_of_g", *cols]
    values = curves[cols].to_numpy()
    assert values.shape == (999, 6)
    assert (abs(values) < 1e3).all()  # finite, and no blow-up: max-likelihood peaks near -500
    assert curves.cost_max_likelihood.min() == pytest.approx(-0.5 * 0.999 / 0.001, rel=1e-9)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_costs_on_logits_are_finite_at_extreme_logits(dtype):
    logits = torch.tensor([-50.0, -20.0, 0.0, 20.0, 50.0], dtype=dtype, requires_grad=True)
    # naive log(sigmoid) underflows where these must not
    assert torch.isinf(torch.log(torch.sigmoid(torch.tensor(-200.0)))).item()
    for name, cost in GENERATOR_COSTS.items():
        value = cost(logits)
        (grad,) = torch.autograd.grad(value, logits)
        assert torch.isfinite(value).item(), name
        assert torch.isfinite(grad).all(), name
    d = discriminator_bce(logits, logits)
    assert torch.isfinite(d).item() and torch.isfinite(torch.autograd.grad(d, logits)[0]).all()
    # and the values are the exact softplus forms: at l = -50, -1/2 log D = 25 (+ tiny)
    ns = generator_nonsaturating(torch.tensor([-50.0], dtype=torch.float64))
    assert ns.item() == pytest.approx(25.0, rel=1e-15)
    mm = generator_minimax(torch.tensor([50.0], dtype=torch.float64))
    assert mm.item() == pytest.approx(-25.0, rel=1e-15)


def test_discriminator_bce_against_torch():
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(37, generator=gen, dtype=torch.float64) * 4
    fake = torch.randn(23, generator=gen, dtype=torch.float64) * 4 - 1
    expected = 0.5 * (
        F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
        + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    )
    torch.testing.assert_close(discriminator_bce(real, fake), expected, rtol=1e-13, atol=0)
    # the two halves are weighted equally whatever the batch sizes
    assert discriminator_bce(real, fake) != discriminator_bce(real[:5], fake)


def test_saturation_facts_at_confident_rejection():
    d = torch.tensor([1e-3], dtype=torch.float64)
    mm = closed_form_logit_grad("minimax", d).item()
    ns = closed_form_logit_grad("nonsaturating", d).item()
    ml = closed_form_logit_grad("max_likelihood", d).item()
    assert abs(mm) < 1e-3 and mm == pytest.approx(-5e-4, rel=1e-12)
    assert abs(ns) > 0.49 and ns == pytest.approx(-0.4995, rel=1e-12)
    assert abs(ml) < 1e-3
    # and through autograd on a real logit
    logit = torch.logit(d).requires_grad_(True)
    g_mm = torch.autograd.grad(generator_minimax(logit), logit)[0].item()
    g_ns = torch.autograd.grad(generator_nonsaturating(logit), logit)[0].item()
    assert abs(g_mm) < 1e-3 and abs(g_ns) > 0.49


def _outcome(d_mm, d_ns, ll_mm=-60.0, ll_ns=60.0):
    return pd.DataFrame(
        {
            "epochs": [20, 20],
            "final mean D(G(z))": [d_mm, d_ns],
            "final probe grad norm": [2e-5, 0.4],
            "validation Parzen LL (nats)": [ll_mm, ll_ns],
        },
        index=pd.Index(["minimax", "nonsaturating"], name="cost"),
    )


@pytest.mark.parametrize(
    ("d_mm", "d_ns", "reading"),
    [
        (1e-4, 0.28, "never left the region below 1%"),
        (1e-4, 0.005, "Neither generator has left"),
        (0.2, 0.3, "did leave the region below 1%"),
    ],
)
def test_training_findings_read_the_saturation_line(d_mm, d_ns, reading):
    cfg = LossSaturationConfig.for_profile("paper")
    grads = pd.Series({"minimax": 8e-4, "nonsaturating": 0.15})
    text = training_findings(_outcome(d_mm, d_ns), 0.0055, grads, cfg)
    assert reading in text and "After 20 epochs" in text and "it agrees" in text
    worse = training_findings(_outcome(d_mm, d_ns, ll_mm=-50, ll_ns=-65), 0.0055, grads, cfg)
    assert "does not favour the non-saturating run" in worse and "-65.0" in worse
