"""Mode collapse and the stabilisation methods, on PacGAN's ring of 8 and grid of 25 Gaussians.

Every method is an objective entry (`training.objectives`) trained by the one loop; all seeds of
a method train at once as one batched module pair (`nets.batched`, `training.batched`), so seed
s of every method starts from the same generator and sees the same data: methods are compared
seed by seed. Each method is scored with PacGAN's metrics (`metrics.modes`) at snapshots over
training; the last snapshot is the result. The findings are phrased in `report.mode_collapse`.

Networks and optimiser follow the unrolled-GAN demo (Metz et al.; see the config's sources), the
data and metrics PacGAN. Stacked MNIST and the MNIST row are in `mode_collapse_images.py`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd
import torch
from torch import nn

from replication.chapters.mode_collapse_image_config import IMAGE_QUICK, ImageBenchmarkConfig
from replication.config import ConfigError, param, resolve_device
from replication.datasets.toy import MIXTURES, Mixture
from replication.metrics.modes import label_accuracy, mode_scores_per_seed
from replication.nets.batched import (
    BatchedAutoencoder,
    BatchedDiscriminator,
    BatchedGenerator,
    ConditionalGenerator,
)
from replication.runs import pairs
from replication.runs.cli import TrainRequest, train_setup
from replication.training import objectives
from replication.training.batched import batched
from replication.training.loop import train
from replication.training.objectives import Objective
from replication.training.state import GAN

DEMO = "unrolled-GAN demo (Metz et al., poolio/unrolled_gan), read in a copy that credits it"
CHOSEN = "our choice: the papers give no value for a 2-D toy"


@dataclass(frozen=True)
class Method:
    """A row of the results table: its objective, and the networks it needs."""

    objective: str
    generator: str = "mlp"  # mlp | vbn | conditional
    discriminator: str = "mlp"  # mlp | autoencoder | minibatch
    own_optimiser: bool = False  # the objective's published optimiser instead of the demo's
    critic_schedule: bool = False  # trains D with its own n_critic: one G update per streak


METHODS: dict[str, Method] = {
    "gan_minimax": Method("gan_minimax"),
    "gan_nonsaturating": Method("gan"),
    "ebgan": Method("ebgan", discriminator="autoencoder"),
    "ebgan_pt": Method("ebgan_pt", discriminator="autoencoder"),
    "fgan_kl": Method("fgan_kl"),
    "fgan_reverse_kl": Method("fgan_reverse_kl"),
    "fgan_js": Method("fgan_js"),
    "fgan_pearson": Method("fgan_pearson"),
    "wgan": Method("wgan", own_optimiser=True, critic_schedule=True),
    "wgan_gp": Method("wgan_gp", own_optimiser=True, critic_schedule=True),
    "feature_matching": Method("feature_matching"),
    "minibatch_discrimination": Method("minibatch_discrimination", discriminator="minibatch"),
    "historical_averaging": Method("historical_averaging"),
    "one_sided_smoothing": Method("one_sided_smoothing"),
    "virtual_batch_norm": Method("virtual_batch_norm", generator="vbn"),
    "unrolled_gan": Method("unrolled_gan"),
    "conditional_gan": Method("conditional_gan", generator="conditional"),
}
BENCHMARKS = tuple(MIXTURES)
FIGURE_METHODS = ("gan_minimax", "unrolled_gan")  # Metz et al. Figure 1: GAN vs unrolled


@dataclass(frozen=True)
class ModeCollapseConfig(ImageBenchmarkConfig):  # + Stacked MNIST's and MNIST's parameters
    CHAPTER: ClassVar[str] = "mode_collapse"
    PROFILE_OVERRIDES: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": {  # a pipeline check in minutes on one CPU thread, not a result
            "seeds_toy": 5,
            "steps": 300,
            "snapshot_every": 100,
            "batch_size": 64,
            "train_points": 10000,
            "noise_dim": 16,
            "unroll_steps": 3,
            "eval_samples": 1000,
            "figure_points": 300,
            **IMAGE_QUICK,
        },
    }

    methods: str = param("all", "comma-separated method names, or 'all'")
    benchmarks: str = param("ring,grid", "comma-separated: ring (8 modes), grid (25 modes)")
    seeds_toy: int = param(
        10, "seeds per method on the toys, trained at once", source="PacGAN: 10 trials", min=2
    )
    steps: int = param(
        20000,
        "generator updates per run",
        source=f"{DEMO}: max_iter 20001 (the copy; the demo notebook itself, poolio/unrolled_gan, "
        "runs 25,000 with tanh layers, a two-layer D, gain 1.4 and G's lr 1e-3)",
        min=1,
    )
    snapshot_every: int = param(
        2000, "generator updates between snapshots (scores and the figure's samples)", min=1
    )
    batch_size: int = param(512, "rows per minibatch", source=f"{DEMO}: batch_size 512", min=2)
    train_points: int = param(
        100000, "training points drawn per seed", source="PacGAN config: num_sample 100000", min=2
    )
    noise_dim: int = param(256, "dimension of z ~ N(0, I)", source=f"{DEMO}: z_dim 256", min=1)
    g_hidden: int = param(128, "G's hidden width", source=f"{DEMO}: n_hidden 128", min=1)
    g_layers: int = param(2, "G's hidden layers (ReLU)", source=f"{DEMO}: n_layer 2", min=1)
    d_hidden: int = param(128, "D's hidden width", source=f"{DEMO}: n_hidden 128", min=1)
    d_layers: int = param(1, "D's hidden layers (ReLU)", source=f"{DEMO}: n_layer 1", min=1)
    d_input_scale: float = param(0.25, "D sees x times this", source=f"{DEMO}: x / 4", min=0)
    init_gain: float = param(
        0.8, "gain of the orthogonal initialisation", source=f"{DEMO}: orthogonal(gain=.8)", min=0
    )
    lr: float = param(1e-4, "Adam learning rate, D and G", source=f"{DEMO}: 1e-4", min=0)
    beta1: float = param(0.5, "Adam beta1", source=f"{DEMO}: beta1 0.5", min=0, max=1)
    unroll_steps: int = param(
        10,
        "unrolled GAN's k",
        source="Metz et al. 2017, Figure 1's caption: 'a GAN with 10 unrolling steps' (Sec. 2.2: "
        "'we unroll Adam'). The demo (poolio/unrolled_gan) uses 5 (10 in its first commit); the "
        "copy that credits it, 4; VEEGAN's tables used 5, 'as suggested in the authors' "
        "reference implementation'",
        min=0,
    )
    unroll_optimiser: str = param(
        "adam",
        "the unrolled D update: D's own Adam (lr, betas, eps, moments) or plain 'sgd' steps",
        source="poolio/unrolled_gan: the update ops of D's Keras Adam, copied k times (Keras "
        "adds eps to sqrt(v), torch to sqrt(v / (1 - beta2^t)): a difference below eps)",
        choices=("adam", "sgd"),
    )
    unroll_lr: float = param(
        1e-4, "step size of the unrolled D steps when they are 'sgd'", source=CHOSEN, min=0
    )
    ebgan_margin: float = param(1.0, "EBGAN margin m", source=CHOSEN, min=0)
    ebgan_code: int = param(
        2,
        "width of EBGAN's autoencoder code (a linear layer between D's hidden layers)",
        source=f"{CHOSEN}; as wide as the data, since the pulling-away term compares the codes' "
        "directions, which a 1-d code does not have",
        min=1,
    )
    pull_away_weight: float = param(
        0.1,
        "weight of EBGAN's pulling-away term (method ebgan_pt)",
        source="Zhao et al. 2017, Sec. 2.4: 'a weight of 0.1 is associated with it when being "
        "added to the loss' (reimplementations use 0.1 too: torchgan's pt_ratio, "
        "eriklindernoren/PyTorch-GAN's lambda_pt)",
        min=0,
    )
    history_weight: float = param(0.1, "historical averaging weight", source=CHOSEN, min=0)
    mb_kernels: int = param(
        5, "minibatch discrimination kernels B", source=f"{CHOSEN} (toy-sized)", min=1
    )
    mb_kernel_dim: int = param(3, "minibatch discrimination kernel dims C", source=CHOSEN, min=1)
    vbn_reference: int = param(64, "rows of VBN's reference batch", source=CHOSEN, min=2)
    eval_samples: int = param(
        2500, "samples scored per seed", source="PacGAN: num_log_figure_sample 2500", min=10
    )
    figure_points: int = param(500, "samples kept per snapshot for the figures", min=10)

    def method_names(self) -> list[str]:
        return list(METHODS) if self.methods == "all" else _split(self.methods)

    def benchmark_names(self) -> list[str]:
        return _split(self.benchmarks)

    def check(self) -> None:
        super().check()
        bad = [m for m in self.method_names() if m not in METHODS]
        if bad:
            raise ConfigError(f"unknown method(s) {bad}; known: {list(METHODS)}")
        bad = [b for b in self.benchmark_names() if b not in BENCHMARKS]
        if bad:
            raise ConfigError(f"unknown benchmark(s) {bad}; known: {list(BENCHMARKS)}")
        if self.steps % self.snapshot_every:
            raise ConfigError(
                f"steps ({self.steps}) must be a multiple of snapshot_every ({self.snapshot_every})"
            )
        if "ebgan_pt" in self.method_names() and self.ebgan_code < 2:
            raise ConfigError(
                f"ebgan_pt needs ebgan_code >= 2 (got {self.ebgan_code}): a 1-d code's cos^2 is "
                "1 for every pair, so the pulling-away term would be constant"
            )
        if self.batch_size > self.train_points:
            raise ConfigError(f"batch_size {self.batch_size} > train_points {self.train_points}")


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


# -- networks and objectives ---------------------------------------------------------------------
def objective_for(name: str, cfg: ModeCollapseConfig) -> Objective:
    """The method's registered objective with the chapter's hyperparameters, for S seeds."""
    return batched(tuned_objective(name, cfg))


def tuned_objective(name: str, cfg: ModeCollapseConfig) -> Objective:
    """The method's registered objective with the chapter's hyperparameters, for one seed (the
    image benchmarks train seeds as separate runs)."""
    return objectives.get(METHODS[name].objective).tuned(
        margin=cfg.ebgan_margin,
        history_weight=cfg.history_weight,
        unroll_steps=cfg.unroll_steps,
        unroll_optimiser=cfg.unroll_optimiser,
        unroll_lr=cfg.unroll_lr,
        pull_away_weight=cfg.pull_away_weight,
    )


def build_gan(name: str, cfg: ModeCollapseConfig, mix: Mixture, device: torch.device) -> GAN:
    """The method's batched G and D for `cfg.seeds_toy` seeds and its optimisers."""
    method, S = METHODS[name], cfg.seeds_toy
    common: dict[str, Any] = {"init": "orthogonal", "init_scale": cfg.init_gain}
    g_hidden, d_hidden = (cfg.g_hidden,) * cfg.g_layers, (cfg.d_hidden,) * cfg.d_layers
    g_seed, d_seed = 10_000 * cfg.seed + 1, 10_000 * cfg.seed + 5_000
    x_dim = 2 + (mix.n_modes if method.generator == "conditional" else 0)
    if method.generator == "conditional":
        G: nn.Module = ConditionalGenerator(
            S, cfg.noise_dim, g_hidden, mix.n_modes, seed=g_seed, **common
        )
    elif method.generator == "vbn":
        gen = torch.Generator().manual_seed(g_seed + 999)
        ref = torch.randn(cfg.vbn_reference, S, cfg.noise_dim, generator=gen)
        G = BatchedGenerator(S, cfg.noise_dim, g_hidden, seed=g_seed, vbn_reference=ref, **common)
    else:
        G = BatchedGenerator(S, cfg.noise_dim, g_hidden, seed=g_seed, **common)
    d_opts = {**common, "in_scale": cfg.d_input_scale}
    if method.discriminator == "autoencoder":
        D: nn.Module = BatchedAutoencoder(
            S, x_dim, d_hidden, cfg.ebgan_code, d_hidden, seed=d_seed, **d_opts
        )
    elif method.discriminator == "minibatch":
        mb = (cfg.mb_kernels, cfg.mb_kernel_dim)
        D = BatchedDiscriminator(S, x_dim, d_hidden, seed=d_seed, minibatch=mb, **d_opts)
    else:
        D = BatchedDiscriminator(S, x_dim, d_hidden, seed=d_seed, **d_opts)
    G, D = G.to(device), D.to(device)
    obj = objective_for(name, cfg)
    obj.prepare_critic(D)
    if method.own_optimiser:
        opt_g, opt_d = obj.optimisers(G, D)
    else:
        adam = {"lr": cfg.lr, "betas": (cfg.beta1, 0.999), "eps": 1e-8}
        opt_g, opt_d = (
            torch.optim.Adam(G.parameters(), **adam),
            torch.optim.Adam(D.parameters(), **adam),
        )
    return GAN(G, D, opt_g, opt_d)


# -- one method on one benchmark -----------------------------------------------------------------
@dataclass
class ToyRun:
    """What one method on one benchmark produced: per-seed scores at every snapshot, the
    figure's samples, the trained GAN, the wall time and this process's CPU time (which a
    paused or crowded run does not inflate: the cost of a pair built over sessions)."""

    scores: pd.DataFrame
    samples: pd.DataFrame
    gan: GAN
    seconds: float
    cpu_seconds: float


def score_snapshot(
    gan: GAN, cfg: ModeCollapseConfig, mix: Mixture, device: torch.device
) -> tuple[list[dict[str, Any]], torch.Tensor]:
    """PacGAN's scores of every seed on `eval_samples` fresh samples (a fixed draw)."""
    x = gan.generator.sample(cfg.eval_samples, device, seed=cfg.seed + 7).cpu()
    centres = mix.centre_tensor()
    rows = []
    for s, sc in enumerate(mode_scores_per_seed(x[..., :2], centres, mix.std)):
        row = {"seed": s, "modes": sc.modes, "hq": 100.0 * sc.hq, "rkl": sc.rkl}
        if x.shape[-1] > 2:  # conditional: the labels the samples asked for
            labels = x[:, s, 2:].argmax(-1)
            row["label_accuracy"] = label_accuracy(x[:, s, :2], labels, centres, mix.std)
        rows.append(row)
    return rows, x


def run_method(
    name: str,
    bench: str,
    cfg: ModeCollapseConfig,
    device: torch.device,
    progress: bool = False,
) -> ToyRun:
    """Train all seeds of `name` on `bench` through the loop, scoring at each snapshot."""
    mix = MIXTURES[bench]
    conditional = METHODS[name].generator == "conditional"
    data = mix.sample(
        cfg.train_points, device, seed=1000 * cfg.seed + 100, seeds=cfg.seeds_toy,
        labelled=conditional,
    )  # fmt: skip
    torch.manual_seed(cfg.seed)
    gan = build_gan(name, cfg, mix, device)
    obj = objective_for(name, cfg)
    score_rows: list[dict[str, Any]] = []
    sample_rows: list[pd.DataFrame] = []

    def snapshot(g: GAN) -> dict[str, Any]:
        rows, x = score_snapshot(g, cfg, mix, device)
        score_rows.extend({"g_step": g.g_step, **r} for r in rows)
        pts = x[: cfg.figure_points, :, :2]
        for s in range(pts.shape[1]):
            sample_rows.append(
                pd.DataFrame({"g_step": g.g_step, "seed": s, "x": pts[:, s, 0], "y": pts[:, s, 1]})
            )
        return {"mean_modes": sum(r["modes"] for r in rows) / len(rows)}

    snapshot(gan)  # step 0
    t0, cpu0 = time.perf_counter(), time.process_time()
    train(
        gan,
        data,
        obj,
        epochs=cfg.steps // cfg.snapshot_every,
        batch_size=cfg.batch_size,
        round_g_iters=cfg.snapshot_every,
        on_epoch_end=snapshot,
        progress=progress,
        desc=f"{name} on {bench}",
    )
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - cpu0
    scores = pd.DataFrame(score_rows).assign(method=name, benchmark=bench)
    samples = pd.concat(sample_rows, ignore_index=True).assign(method=name, benchmark=bench)
    return ToyRun(scores, samples, gan, seconds, cpu_seconds)


def pair_fingerprint(cfg: ModeCollapseConfig, name: str, bench: str) -> dict[str, Any]:
    """What decides one pair's outputs: the toys' parameters (not the image benchmarks', nor
    which other pairs run; the device only as arithmetic, `runs.pairs`), the pair and the code."""
    image = {f.name for f in dataclasses.fields(ImageBenchmarkConfig)} - {"seed"}
    toy = {k: v for k, v in cfg.as_dict().items() if k not in image | {"methods", "benchmarks"}}
    return {"method": name, "benchmark": bench, "config": toy, "code": pairs.code_digest(__name__)}


def _pair_outputs(run: ToyRun) -> dict[str, Any]:
    keep = (run.samples.seed == 0) & run.samples.method.isin(FIGURE_METHODS)
    return {
        "scores": pairs.encode_frame(run.scores),
        "figure_samples": pairs.encode_frame(run.samples[keep].reset_index(drop=True)),
        "train_seconds": run.seconds,
        "train_cpu_seconds": run.cpu_seconds,
    }


def run_all(
    cfg: ModeCollapseConfig,
    device: torch.device,
    progress: bool = True,
    store: pairs.PairStore | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every method on every benchmark: (scores over training, seed 0's samples of the
    `FIGURE_METHODS`, timings). With a store (the run's `pairs.PairStore`), a finished pair is
    kept and a re-run loads it instead of training it: the frames are the same either way."""
    from tqdm import tqdm

    todo = {f"{b}-{m}": (m, b) for b in cfg.benchmark_names() for m in cfg.method_names()}
    with tqdm(total=len(todo), desc="methods x benchmarks", disable=not progress) as bar:
        out = pairs.work_through(
            list(todo),
            lambda key: pair_fingerprint(cfg, *todo[key]),
            lambda key: _pair_outputs(run_method(*todo[key], cfg, device)),
            store,
            lambda key: bar.update(),
        )
    scores = [pairs.decode_frame(o["scores"]) for o in out.values()]
    samples = [pairs.decode_frame(o["figure_samples"]) for o in out.values()]
    timings = [{"method": m, "benchmark": b, "train_seconds": out[k]["train_seconds"],
                "train_cpu_seconds": out[k]["train_cpu_seconds"]}
               for k, (m, b) in todo.items()]  # fmt: skip
    samples = [s for s in samples if len(s)] or samples  # (concat warns of empty frames)
    return (
        pd.concat(scores, ignore_index=True),
        pd.concat(samples, ignore_index=True),
        pd.DataFrame(timings),
    )


def final_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Each run's last snapshot: one row per method, benchmark and seed."""
    last = scores.groupby(["method", "benchmark"]).g_step.transform("max")
    return scores[scores.g_step == last].reset_index(drop=True)


def train_cli(req: TrainRequest) -> None:
    """`python -m replication train mode_collapse`: the toy pairs, each kept when done (the
    notebook run of the same name loads them; two such commands share them out), then the image
    runs unless `image_benchmarks` is 'none' (the notebook's `run_if_data`; the digit classifier
    is cached in the run's checkpoints), printed (the notebook records them)."""
    from replication.chapters import mode_collapse_images as images  # it imports this module
    from replication.report import mode_collapse_images as report_images

    cfg, ckpt = train_setup(ModeCollapseConfig, req)
    device = resolve_device(cfg.device)
    scores, _, timings = run_all(cfg, device, store=pairs.PairStore(ckpt, device))
    final = final_scores(scores)
    print(final.groupby(["benchmark", "method"])[["modes", "hq", "rkl"]].mean().round(2))
    print(timings)
    if not cfg.image_benchmark_names():
        return
    image, status = images.run_if_data(cfg, device, ckpt)
    print(f"image benchmarks {status}")
    if image is not None:
        agg = report_images.aggregate_images(image.per_seed)
        print(report_images.image_table(agg, image.reference).to_string())
