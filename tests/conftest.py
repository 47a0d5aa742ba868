"""Shared fixtures: one CPU thread, tiny 2014-recipe configs, a hand-made MNIST in IDX format."""

from __future__ import annotations

import gzip
import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

IMAGE_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
LABEL_MAGIC = 0x00000801  # unsigned byte, 1 dimension
MNIST_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@pytest.fixture(autouse=True)
def _one_thread():
    """The machine is shared with long runs: every test uses one intra-op thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------------------- tiny training configs


@pytest.fixture
def tiny_cfg():
    """A factory for a 2014-recipe config small enough to train in milliseconds on one core."""
    from replication.chapters.parzen_mnist import ParzenMnistConfig

    def make(**overrides):
        values = {
            "g_hidden": 16,
            "d_units": 8,
            "d_pieces": 2,
            "train_images": 200,
            "batch_size": 50,
            "epochs": 4,
            "device": "cpu",
        }
        values.update(overrides)
        return ParzenMnistConfig.for_profile("quick", **values)

    return make


@pytest.fixture
def tiny_data():
    """200 rows of 64 features, uniform in [0, 1], from a fixed seed."""
    gen = torch.Generator().manual_seed(1234)
    return torch.rand(200, 64, generator=gen)


# ------------------------------------------------------------------------- a small MNIST on disk


def idx_images(images: np.ndarray) -> bytes:
    n, rows, cols = images.shape
    return struct.pack(">IIII", IMAGE_MAGIC, n, rows, cols) + images.astype(np.uint8).tobytes()


def idx_labels(labels: np.ndarray) -> bytes:
    return struct.pack(">II", LABEL_MAGIC, len(labels)) + labels.astype(np.uint8).tobytes()


def md5_bytes(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@dataclass
class FakeMnist:
    """Pixel arrays of the hand-made MNIST, the IDX bytes of each file and their MD5s."""

    train_images: np.ndarray  # uint8 [60, 28, 28]
    train_labels: np.ndarray  # uint8 [60]
    test_images: np.ndarray  # uint8 [10, 28, 28]
    test_labels: np.ndarray  # uint8 [10]
    raw: dict[str, bytes]
    gz: dict[str, bytes]

    @property
    def checksums(self) -> dict[str, tuple[str, str]]:
        """As `replication.datasets.mnist.MNIST_FILES`: (MD5 of .gz, MD5 of the IDX file)."""
        return {k: (md5_bytes(self.gz[k]), md5_bytes(self.raw[k])) for k in MNIST_NAMES}

    def write(self, folder: Path, compressed: bool = True, skip: tuple[str, ...] = ()) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for name in MNIST_NAMES:
            if name in skip:
                continue
            if compressed:
                (folder / f"{name}.gz").write_bytes(self.gz[name])
            else:
                (folder / name).write_bytes(self.raw[name])
        return folder


@pytest.fixture
def fake_mnist(monkeypatch) -> FakeMnist:
    """60 training and 10 test images with known pixels; the loader is pointed at their MD5s and
    splits training at image 50 (instead of 50,000), so the split logic is exercised."""
    from replication.datasets import mnist as data

    rng = np.random.default_rng(7)
    train = rng.integers(0, 256, size=(60, 28, 28), dtype=np.uint8)
    train[0] = 0  # an all-black image
    train[1] = 255  # an all-white one
    train[2, 0, :] = np.arange(28, dtype=np.uint8)  # a known ramp in the first row
    test = rng.integers(0, 256, size=(10, 28, 28), dtype=np.uint8)
    train_labels = (np.arange(60) * 7 % 10).astype(np.uint8)
    test_labels = (9 - np.arange(10)).astype(np.uint8)
    raw = {
        "train-images-idx3-ubyte": idx_images(train),
        "train-labels-idx1-ubyte": idx_labels(train_labels),
        "t10k-images-idx3-ubyte": idx_images(test),
        "t10k-labels-idx1-ubyte": idx_labels(test_labels),
    }
    gz = {k: gzip.compress(v, mtime=0) for k, v in raw.items()}
    fake = FakeMnist(train, train_labels, test, test_labels, raw, gz)
    monkeypatch.setattr(data, "MNIST_FILES", fake.checksums)
    monkeypatch.setattr(data, "MNIST_TRAIN_STOP", 50)
    monkeypatch.delenv("MNIST_DIR", raising=False)
    return fake


@pytest.fixture
def snapshot_tree() -> Callable[[Path], dict[str, bytes]]:
    """Every file under a folder, by relative path, with its bytes."""

    def snap(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    return snap


@pytest.fixture
def random_mnist() -> Callable[..., object]:
    """`random_mnist(n_train, n_valid, n_test, seed)`: MnistSplits of uniform noise, labels 0-9 in
    turn, for code that needs MNIST's shapes, not its digits."""
    from replication.datasets.mnist import MnistSplits

    def make(n_train: int, n_valid: int, n_test: int, seed: int) -> MnistSplits:
        g = torch.Generator().manual_seed(seed)
        return MnistSplits(
            train=torch.rand(n_train, 784, generator=g),
            valid=torch.rand(n_valid, 784, generator=g),
            test=torch.rand(n_test, 784, generator=g),
            train_labels=torch.arange(n_train) % 10,
            valid_labels=torch.arange(n_valid) % 10,
            test_labels=torch.arange(n_test) % 10,
            files={},
        )

    return make
