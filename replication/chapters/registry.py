"""The one list of chapters: the CLI, `nox -s reproduce`, the book's table of contents and the
results table all read it. Standard library only, so `noxfile.py` can load it before the
project's dependencies are installed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chapter:
    name: str  # notebook name = results folder = module in replication/chapters/
    config: str  # the config class in that module
    title: str  # as the book's intro table shows it
    paper: str
    reproduces: str
    # the run whose executed notebook is the chapter's page under the paper profile: a chapter
    # whose headline rests on several seed runs shows the one that carries its ledger
    paper_run: str = "paper"


CHAPTERS: tuple[Chapter, ...] = (
    Chapter(
        "loss_saturation",
        "LossSaturationConfig",
        "Generator-loss saturation",
        "Goodfellow, *NIPS 2016 Tutorial: Generative Adversarial Networks*, Figure 16",
        "the three generator costs, their gradients, measured on the 2014 MNIST networks, "
        "and training with each",
        paper_run="paper-seed0",  # the seed sweep's run of today's code (bias clip 1e-7)
    ),
    Chapter(
        "parzen_mnist",
        "ParzenMnistConfig",
        "Table 1, MNIST",
        "Goodfellow et al. 2014, *Generative Adversarial Nets*, Table 1",
        "the Parzen-window log-likelihood of the adversarial net",
        paper_run="paper-seed0",  # the long seed run; its page carries the seed ledger
    ),
    Chapter(
        "parzen_tfd",
        "ParzenTfdConfig",
        "Table 1, TFD",
        "Goodfellow et al. 2014, *Generative Adversarial Nets*, Table 1",
        "the TFD column: the paper's protocol on the licensed file "
        "when supplied, else on a public face stand-in whose numbers are labelled not comparable",
    ),
    Chapter(
        "wgan_vs_js",
        "WganVsJsConfig",
        "WGAN vs JS",
        "Arjovsky, Chintala & Bottou 2017, *Wasserstein GAN*, Example 1, Figures 1–4 and 7",
        "W1 and JSD in closed form beside trained discriminators and critics; GAN, WGAN and "
        "WGAN-GP on MNIST against two sample-quality scores, and the MLP-generator robustness test",
    ),
    Chapter(
        "game_dynamics",
        "GameDynamicsConfig",
        "The game and its dynamics",
        "Goodfellow et al. 2014, Proposition 1, Theorem 1 and Algorithm 1; Mescheder, Nowozin & "
        "Geiger 2017, *The Numerics of GANs*; Mescheder, Geiger & Nowozin 2018 (Dirac-GAN)",
        "D* and C(G) = −log 4 + 2·JSD measured against trained discriminators; the Dirac-GAN's "
        "rates under simultaneous, alternating and consensus steps; Algorithm 1's k and "
        "consensus optimisation on the ring of 8 Gaussians and on MNIST with the 2014 networks",
    ),
    Chapter(
        "mode_collapse",
        "ModeCollapseConfig",
        "Mode collapse and its fixes",
        "Salimans et al. 2016; Metz et al. 2017 (unrolled GAN); Zhao et al. 2017 (EBGAN); "
        "Nowozin et al. 2016 (f-GAN); Mirza & Osindero 2014; PacGAN and VEEGAN Table 1",
        "the stabilisation methods through the one loop on PacGAN's ring of 8 and grid of 25 "
        "Gaussians, all seeds at once, PacGAN's mode metrics beside the published rows, and a "
        "verdict per quoted claim as k of n seeds",
    ),
)


def names() -> list[str]:
    return [c.name for c in CHAPTERS]


def toc_yaml() -> str:
    """`book/_toc.yml`: the intro, one page per chapter in registry order, the status page."""
    lines = ["format: jb-book", "root: intro", "chapters:"]
    lines += [f"  - file: chapters/{c.name}" for c in CHAPTERS]
    lines.append("  - file: status")
    return "\n".join(lines) + "\n"
