"""Locating, verifying and loading datasets. No training code here.

MNIST is read by torchvision's `MNIST` class from the four original IDX files, after each file is
checked against the canonical MD5. Nothing is downloaded unless asked for (`download=True`).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torchvision.datasets import MNIST

from replication.runs.paths import project_root

MNIST_ENV = "MNIST_DIR"

# name -> (MD5 of the .gz as torchvision lists it, MD5 of the decompressed IDX file)
MNIST_FILES: dict[str, tuple[str, str]] = {
    "train-images-idx3-ubyte": (
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "6bbc9ace898e44ae57da46a324031adb",
    ),
    "train-labels-idx1-ubyte": (
        "d53e105ee54ea40749a09fcbcd1e9432",
        "a25bea736e30d166cdddb491f175f624",
    ),
    "t10k-images-idx3-ubyte": (
        "9fb629c4189551a2d022fa330f9573f3",
        "2646ac647ad5339dbf082846283269ea",
    ),
    "t10k-labels-idx1-ubyte": (
        "ec29112dd5afa0611ce80d1b7f02629c",
        "27ae3e4e09519cfbb04c329615203637",
    ),
}

# The paper's splits (mnist.yaml of goodfeli/adversarial): train on training images 0..50,000,
# validate on 50,000..60,000, test on the official 10,000.
MNIST_TRAIN_STOP = 50_000


class DatasetError(RuntimeError):
    """A dataset is missing or does not match its checksum; the message says how to fix it.

    `kind` names the failure without a path ("missing", "incomplete", "checksum", or
    "invalid" for anything else), so that what goes into results can say what went wrong
    without this machine's folders (`mnist_unavailable`)."""

    def __init__(self, message: str, kind: str = "invalid") -> None:
        super().__init__(message)
        self.kind = kind


def md5(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


def mnist_search_dirs(data_dir: str | Path | None = None) -> list[Path]:
    """Where MNIST is looked for: the option, else $MNIST_DIR, else data/mnist in the project."""
    dirs: list[Path] = []
    if data_dir:
        dirs.append(Path(data_dir))
    elif os.environ.get(MNIST_ENV):
        dirs.append(Path(os.environ[MNIST_ENV]))
    else:
        dirs.append(project_root() / "data" / "mnist")
    # torchvision's own download layout inside any of them
    return [p for d in dirs for p in (d, d / "MNIST" / "raw")]


def _how_to_get() -> str:
    return (
        "Get the four original files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
        "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) and either put them in "
        f"{project_root() / 'data' / 'mnist'}, or point the data_dir option or ${MNIST_ENV} at "
        "their folder; on a machine with internet, `nox -s data` downloads them with torchvision."
    )


def locate_mnist(data_dir: str | Path | None = None) -> dict[str, Path]:
    """Find and verify the four IDX files; raise DatasetError naming every place looked at."""
    searched = mnist_search_dirs(data_dir)
    for d in searched:
        found = {}
        for name in MNIST_FILES:
            for candidate in (d / f"{name}.gz", d / name):
                if candidate.is_file():
                    found[name] = candidate
                    break
        if not found:
            continue
        missing = sorted(set(MNIST_FILES) - set(found))
        if missing:
            raise DatasetError(
                f"MNIST in {d} is incomplete: missing {missing}. {_how_to_get()}", "incomplete"
            )
        for name, path in found.items():
            expected = MNIST_FILES[name][0 if path.suffix == ".gz" else 1]
            actual = md5(path)
            if actual != expected:
                raise DatasetError(
                    f"MNIST file {path} fails its checksum: expected MD5 {expected}, got {actual} "
                    f"(truncated or not the original file). {_how_to_get()}",
                    "checksum",
                )
        return found
    looked = ", ".join(str(p) for p in searched)
    raise DatasetError(f"MNIST not found. Looked in: {looked}. {_how_to_get()}", "missing")


MNIST_FAILURES = {
    "missing": "MNIST files not found",
    "incomplete": "MNIST is incomplete (some of the four IDX files are missing)",
    "checksum": "an MNIST file fails its MD5 checksum (truncated or not the original file)",
}


def mnist_unavailable(err: DatasetError) -> str:
    """What went wrong and how to fix it, without a path: a chapter that runs on without MNIST
    writes this into its summary and page, where the searched folders would leak this
    machine's layout (`DatasetError`'s own message names them, for the terminal)."""
    what = MNIST_FAILURES.get(err.kind, "MNIST could not be read")
    return (
        f"{what}: set MNIST_DIR (or the data_dir parameter) to the folder of the four original "
        "IDX files, or run `nox -s data -- --download`; see data/README.md"
    )


@dataclass(frozen=True)
class MnistSplits:
    """Images as float32 rows in [0, 1] (784 pixels, not binarised), labels as int64."""

    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    train_labels: torch.Tensor
    valid_labels: torch.Tensor
    test_labels: torch.Tensor
    files: dict[str, str]

    def to(self, device: torch.device) -> MnistSplits:
        moved = {
            k: getattr(self, k).to(device)
            for k in ("train", "valid", "test", "train_labels", "valid_labels", "test_labels")
        }
        return MnistSplits(**moved, files=self.files)


def load_mnist(data_dir: str | Path | None = None) -> MnistSplits:
    """Verified MNIST, split as in the paper's code (50k train / 10k valid / 10k test)."""
    files = locate_mnist(data_dir)
    with tempfile.TemporaryDirectory(prefix="mnist-") as tmp:
        # torchvision's MNIST reads uncompressed files from <root>/MNIST/raw
        raw = Path(tmp) / "MNIST" / "raw"
        raw.mkdir(parents=True)
        for name, path in files.items():
            if path.suffix == ".gz":
                with gzip.open(path, "rb") as src, open(raw / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            else:
                os.symlink(path.resolve(), raw / name)
        train = MNIST(tmp, train=True, download=False)
        test = MNIST(tmp, train=False, download=False)
        x_train = train.data.reshape(len(train.data), -1).float().div_(255.0)
        x_test = test.data.reshape(len(test.data), -1).float().div_(255.0)
        y_train, y_test = train.targets.long(), test.targets.long()
    stop = MNIST_TRAIN_STOP
    return MnistSplits(
        train=x_train[:stop].contiguous(),
        valid=x_train[stop:].contiguous(),
        test=x_test,
        train_labels=y_train[:stop],
        valid_labels=y_train[stop:],
        test_labels=y_test,
        files={k: str(v) for k, v in files.items()},
    )


def load_mnist_or_reason(data_dir: str | Path | None = None) -> tuple[MnistSplits | None, str]:
    """`load_mnist`, or None and why not (`mnist_unavailable`: no path), for a chapter whose
    MNIST part is skipped, saying so, when the files are unusable."""
    try:
        return load_mnist(data_dir), ""
    except DatasetError as err:
        return None, mnist_unavailable(err)


def download_mnist(target: str | Path | None = None) -> Path:
    """Opt-in download with torchvision (needs internet); files land in <target>/MNIST/raw."""
    root = Path(target) if target else project_root() / "data" / "mnist"
    MNIST(str(root), train=True, download=True)
    MNIST(str(root), train=False, download=True)
    return root / "MNIST" / "raw"
