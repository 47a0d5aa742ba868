"""The mode-collapse chapter's image parameters (Stacked MNIST and the MNIST row), each with its
source; `ModeCollapseConfig` inherits them. The computation is in `mode_collapse_images.py`.

The defaults (`paper`) pin PacGAN's code for VEEGAN's Stacked MNIST setup, which PacGAN's Table 2
follows (fjxmlzn/PacGAN, stacked_MNIST_experiments/VEEGAN_experiment: config.py, model.py). Its
DCGAN is carpedm20's DCGAN-tensorflow: four 5 x 5 layers each side, batch norm in D, tanh
output, z ~ U(-1, 1), and two G updates per D update. Ours is the WGAN chapter's DCGAN pair
(`nets/wgan2017.py`: two 4 x 4 layers each side, no batch norm in D, sigmoid output, z ~ N(0, I))
trained by the project's one loop (`image_g_updates` G updates per D update for all but the
WGANs, as PacGAN's code): the same data, budget, optimiser and metric, smaller networks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from replication.config import ConfigError, ExperimentConfig, param

PACGAN = "PacGAN's code for VEEGAN's Stacked MNIST setup (VEEGAN_experiment/config.py)"
IMPROVED = "openai/improved-gan, train_cifar_minibatch_discrimination.py and nn.py"
IMAGE_BENCHMARKS = ("stacked", "mnist")
NONE = "none"

# the quick profile's image values: a pipeline check in minutes on one CPU thread, not a result
IMAGE_QUICK: dict[str, Any] = {
    "seeds_image": 3,
    "image_epochs": 1,
    "stacked_train_images": 1280,
    "mnist_train_images": 1280,
    "image_noise_dim": 16,
    "image_dim": 8,
    "mb_image_kernels": 10,
    "stacked_eval_samples": 500,
    "mnist_eval_samples": 500,
    "fid_reference": 1000,
    "parzen_valid": 200,
    "parzen_test": 500,
    "cgan_samples_per_digit": 50,
    "classifier_epochs": 1,
}


@dataclass(frozen=True)
class ImageBenchmarkConfig(ExperimentConfig):
    """Parameters of the image benchmarks (see the module docstring for what is pinned)."""

    MNIST_TRAIN: ClassVar[int] = 50_000  # the 2014 paper's training split

    image_benchmarks: str = param(
        "stacked,mnist",
        "comma-separated: stacked (Stacked MNIST, 1,000 modes), mnist (FID, Parzen LL, the "
        f"conditional GAN's accuracy); '{NONE}' runs only the toys",
    )
    seeds_image: int = param(
        10,
        "seeds per method on each image benchmark (separate runs)",
        source="PacGAN Table 2: 10 trials (the issue asks >= 3)",
        min=1,
    )
    image_epochs: int = param(
        50,
        "passes over the training images per run (one D update per minibatch)",
        source=f"{PACGAN}: epoch 50",
        min=1,
    )
    image_batch: int = param(64, "minibatch size", source=f"{PACGAN}: batch_size 64", min=2)
    image_g_updates: int = param(
        2,
        "G updates after each D update, each on new noise (every method but the two WGANs, which "
        "keep their n_critic)",
        source="PacGAN's code for VEEGAN's Stacked MNIST setup (fjxmlzn/PacGAN@190853e, "
        "stacked_MNIST_experiments/VEEGAN_experiment/model.py lines 202-212: g_optim run twice "
        "per d_optim, 'Run g_optim twice to make sure that d_loss does not go to zero (different "
        "from paper)'), for its DCGAN baseline; there both on the D step's z, ours on new noise. "
        "Applying it to every other non-WGAN method (EBGAN, f-GANs, Salimans et al.'s, unrolled, "
        "conditional) is our choice, so that methods differ only in what they add to the GAN "
        "(Metz et al.'s and the methods' own code make one G update per D update)",
        min=1,
    )
    stacked_train_images: int = param(
        128_000,
        "stacked training images drawn per seed",
        source=f"{PACGAN}: num_training_sample 128000",
        min=2,
    )
    mnist_train_images: int = param(
        50_000,
        "MNIST training images of the MNIST row (the first n of the training split)",
        source="the 2014 paper's training split (50,000); budget as Stacked MNIST's (our choice)",
        min=2,
        max=50_000,
    )
    image_noise_dim: int = param(
        100,
        "dimension of z (N(0, I), as the WGAN chapter's DCGAN)",
        source=f"{PACGAN}: z_dim 100 (drawn U(-1, 1) there)",
        min=1,
    )
    image_dim: int = param(
        64,
        "channels d, 2d of the DCGAN pair (nets/wgan2017.py)",
        source=f"{PACGAN}: gf_dim = df_dim = 64 (in networks of four layers, not two)",
        min=1,
    )
    mb_image_kernels: int = param(
        100, "minibatch discrimination kernels B (images)", source=f"{IMPROVED}: 100", min=1
    )
    mb_image_kernel_dim: int = param(
        5, "minibatch discrimination kernel dims C (images)", source=f"{IMPROVED}: 5", min=1
    )
    ebgan_image_margin: float = param(
        0.1,
        "EBGAN margin m on images (the energy: a row's per-pixel mean squared reconstruction "
        "error, pixels in [0, 1])",
        source="our choice: a margin is on its energy's scale, so the toys' and the papers' "
        "values do not carry over (Zhao, Mathieu & LeCun 2017, Sec. 4.1: 'the margin is set "
        "to 10' on MNIST, for their fully connected autoencoder's energy); 0.1 lies between "
        "the error of an autoencoder that outputs MNIST's mean training image for every digit "
        "(0.067) and that of one that outputs 0.5 everywhere (0.231; all black: 0.112), while "
        "m = 1 would ask fakes for an error as large as the pixel range",
        min=0,
    )
    stacked_eval_samples: int = param(
        26_000,
        "samples classified per run (3 digits each) for modes and KL",
        source=f"{PACGAN}: num_test_sample 26000",
        min=1,
    )
    mnist_eval_samples: int = param(
        10_000,
        "samples per run for the FID and as the Parzen window's centres",
        source="Goodfellow et al. 2014, Table 1: 10,000 samples for the Parzen window",
        min=2,
    )
    fid_reference: int = param(
        10_000,
        "validation images whose classifier features are the FID reference",
        source="as the WGAN chapter",
        min=2,
        max=10_000,
    )
    parzen_valid: int = param(
        1000,
        "validation images that choose the Parzen sigma (Table 1's grid)",
        source="our choice: a small count (the 2014 code used the validation set)",
        min=1,
        max=10_000,
    )
    parzen_test: int = param(
        10_000,
        "test images scored by the Parzen window",
        source="Goodfellow et al. 2014, Table 1: the MNIST test set",
        min=1,
        max=10_000,
    )
    cgan_samples_per_digit: int = param(
        1000,
        "conditional GAN: samples generated for each digit and classified",
        source="our choice",
        min=1,
    )
    classifier_epochs: int = param(
        3,
        "epochs of the digit classifier that scores every image benchmark (Adam 1e-3, batch "
        "128, the 50,000 training images)",
        source="as the WGAN chapter: ~99% test accuracy (PacGAN: a Keras CNN at ~99.25%)",
        min=1,
    )

    def image_benchmark_names(self) -> list[str]:
        names = [t.strip() for t in self.image_benchmarks.split(",") if t.strip()]
        return [] if names == [NONE] else names

    def check(self) -> None:
        bad = [b for b in self.image_benchmark_names() if b not in IMAGE_BENCHMARKS]
        if bad:
            raise ConfigError(
                f"unknown image benchmark(s) {bad}; known: {list(IMAGE_BENCHMARKS)} or '{NONE}'"
            )
        for name in ("stacked_train_images", "mnist_train_images"):
            if self.image_batch > getattr(self, name):
                raise ConfigError(f"image_batch {self.image_batch} > {name} {getattr(self, name)}")
