"""WGAN vs JS, the toy half: the parallel lines (Example 1, Figure 1) and two far-apart 1-D
Gaussians (Figure 2), each with a GAN discriminator and two critics trained to near optimality
beside the closed forms."""

from __future__ import annotations

import pandas as pd
import torch

from replication.chapters.wgan_vs_js_config import LOSS_LABELS, WganVsJsConfig
from replication.datasets.toy import gaussian_real, lines_real
from replication.metrics.divergences import parallel_lines, parallel_lines_grad
from replication.nets.toy import LineGenerator, ShiftedGaussian
from replication.training.fit_critic import estimate, fit_critic


# -- 1. parallel lines ---------------------------------------------------------------------------
def parallel_lines_estimates(
    cfg: WganVsJsConfig, device: torch.device, progress: bool = True
) -> pd.DataFrame:
    """Per theta: each trained D's estimate and its gradient w.r.t. theta, beside the truth."""
    from tqdm import tqdm

    real = lines_real(cfg.toy_points, device, cfg.seed)
    held_out = lines_real(4 * cfg.toy_points, device, cfg.seed + 1)
    rows = []
    for theta in tqdm(cfg.thetas(), desc="parallel lines", disable=not progress):
        G = LineGenerator(theta).to(device)
        cf, grad = parallel_lines(theta), parallel_lines_grad(theta)
        row = {"theta": theta, "w1": float(cf["w1"]), "js": float(cf["js"])}
        row.update(w1_grad=float(grad["w1"]), js_grad=float(grad["js"]))
        for kind, fit in cfg.fits().items():
            D = fit_critic(fit, real, G, seed=cfg.seed)
            value, g = estimate(kind, D, held_out, G, seed=cfg.seed + 2)
            row[f"{kind}_estimate"], row[f"{kind}_grad"] = value, g["theta"]
        rows.append(row)
    df = pd.DataFrame(rows)
    # a clipped critic is K-Lipschitz for some unknown K: it estimates K * W1, so its scale is
    # fitted (least squares through 0) before it is compared with W1
    k = float((df.wgan_estimate * df.w1).sum() / (df.w1**2).sum())
    df["wgan_scale_k"] = k
    df["wgan_estimate_rescaled"] = df.wgan_estimate / k
    return df


def parallel_lines_errors(df: pd.DataFrame) -> dict[str, float]:
    return {
        "parallel_lines_w1_estimator": "WGAN-GP critic (the clipped critic only up to its scale K)",
        "parallel_lines_max_abs_err_w1": float((df.wgan_gp_estimate - df.w1).abs().max()),
        "parallel_lines_max_abs_err_w1_clipped_rescaled": float(
            (df.wgan_estimate_rescaled - df.w1).abs().max()
        ),
        "parallel_lines_max_abs_err_js": float((df.gan_estimate - df.js).abs().max()),
        "parallel_lines_wgan_scale_k": float(df.wgan_scale_k.iloc[0]),
        "parallel_lines_max_abs_js_grad": float(df.gan_grad.abs().max()),
        "parallel_lines_min_abs_w1_gp_grad_off0": float(
            df.loc[df.theta != 0, "wgan_gp_grad"].abs().min()
        ),
    }


# -- 2. two Gaussians ----------------------------------------------------------------------------
def gaussians(cfg: WganVsJsConfig, device: torch.device) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Curves of D(x) and f(x) on a grid, and their gradients at the fake samples."""
    real = gaussian_real(cfg.toy_points, cfg.gauss_real_mean, cfg.gauss_std, device, cfg.seed)
    G = ShiftedGaussian(cfg.gauss_fake_mean, cfg.gauss_std).to(device)
    lo = min(cfg.gauss_real_mean, cfg.gauss_fake_mean) - 4 * cfg.gauss_std - 1
    hi = max(cfg.gauss_real_mean, cfg.gauss_fake_mean) + 4 * cfg.gauss_std + 1
    x = torch.linspace(lo, hi, 601, device=device).unsqueeze(1)
    fake = G.sample(1000, device, seed=cfg.seed + 5).requires_grad_(True)
    curves = {"x": x.squeeze(1).cpu().numpy()}
    grads = []
    for kind, fit in cfg.fits().items():
        D = fit_critic(fit, real, G, seed=cfg.seed).eval()
        with torch.no_grad():
            out = D(x)
        curves[kind] = (torch.sigmoid(out) if kind == "gan" else out).cpu().numpy()
        logit = D(fake)
        outputs = {LOSS_LABELS[kind]: ("critic f(x)", logit)}
        if kind == "gan":
            # what the paper's figure shows, and what the non-saturating generator cost
            # (Goodfellow et al. 2014, Sec. 3; this chapter's MNIST GAN) follows instead
            outputs = {
                LOSS_LABELS[kind]: ("D(x) = sigmoid(logit)", torch.sigmoid(logit)),
                f"{LOSS_LABELS[kind]}, non-saturating": (
                    "-log D(x), the non-saturating G cost",
                    torch.nn.functional.softplus(-logit),
                ),
            }
        for model, (what, o) in outputs.items():
            (g,) = torch.autograd.grad(o.sum(), fake, retain_graph=True)
            grads.append(
                {
                    "model": model,
                    "output": what,
                    "mean |d output / dx| at fake samples": float(g.abs().mean()),
                    "mean output at fake samples": float(o.mean().detach()),
                }
            )
    return pd.DataFrame(curves), pd.DataFrame(grads)
