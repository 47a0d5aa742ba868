"""Committed measuring instruments: the digit classifiers behind the game and mode-collapse
chapters' FIDs, trained once and kept in `results/instruments/digit_classifier/`, so that every
run on every machine scores in one feature space, as FID's pinned Inception weights do for
photographs.

Why not train them in each run: the classifier is trained with a fixed seed, on the CPU, at one
thread, yet its training still follows the CPU's kind (oneDNN picks its kernels by the vector
unit, and training is chaotic: a difference in the last bit grows about e^0.1 per step, so after
390 steps float64 is no steadier than float32). On a new machine the mode-collapse classifier
scored 0.9786 on the test digits against the committed 0.9788 and moved every MNIST FID by
about 20, ten times the seeds' sd.

An instrument is `weights/<name>.pt` (its state dict in float16: an instrument, not a result; it
computes in float32 from exactly these values; float16 halves the repository's weights)
and `<name>.json`: the settings it answers to (training images, epochs, seed, how trained, a
SHA-256 of the training images and labels), the SHA-256 of the `.pt`, its test accuracy and its
provenance. `python -m replication.metrics.instruments --images N --epochs E` makes one.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from replication.config import ConfigError
from replication.metrics.classifier import CLASSIFIER_SEED, DigitClassifier, accuracy
from replication.runs.paths import project_root
from replication.runs.store import atomic_write_bytes, git_state

# laid out as a run's committed weights are (results/<chapter>/<run>/weights/): the records
# beside, the state dicts in weights/
FOLDER = Path("results") / "instruments" / "digit_classifier"


def weights_path(record_path: Path) -> Path:
    """The state dict of the instrument whose record is `record_path`."""
    return record_path.parent / "weights" / f"{record_path.stem}.pt"


def name(settings: dict[str, Any]) -> str:
    return f"digit_classifier_{settings['images']}_e{settings['epochs']}_s{settings['seed']}"


def data_digest(images: torch.Tensor, labels: torch.Tensor) -> str:
    """SHA-256 of the training rows and labels: an instrument answers only to the data it was
    trained on (a test's fake MNIST of the same size gets none)."""
    h = hashlib.sha256(images.detach().cpu().float().contiguous().numpy().tobytes())
    h.update(labels.detach().cpu().long().contiguous().numpy().tobytes())
    return h.hexdigest()


def load(settings: dict[str, Any], root: Path | None = None) -> tuple[DigitClassifier, str] | None:
    """(the committed classifier for `settings`, its record's path relative to the project) or
    None when none is committed for them. A `.pt` whose SHA-256 differs from its record is an
    error, not a reason to train another."""
    root = Path(root) if root else project_root()
    record_path = root / FOLDER / f"{name(settings)}.json"
    if not record_path.is_file():
        return None
    record = json.loads(record_path.read_text())
    if record.get("settings") != settings:
        return None
    data = weights_path(record_path).read_bytes()
    if hashlib.sha256(data).hexdigest() != record["sha256"]:
        raise ConfigError(
            f"{weights_path(record_path).relative_to(root)} does not match the SHA-256 in "
            f"{record_path.name}; restore it with `git checkout -- {FOLDER}`"
        )
    state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    model = DigitClassifier()
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval(), str(record_path.relative_to(root))


def save(
    model: DigitClassifier,
    settings: dict[str, Any],
    test: tuple[torch.Tensor, torch.Tensor],
    root: Path | None = None,
) -> Path:
    """Round `model` to the float16 instrument, write it and its record, return the record."""
    from replication.runs import determinism

    root = Path(root) if root else project_root()
    state = {k: v.detach().cpu().half() for k, v in model.state_dict().items()}
    buf = io.BytesIO()
    torch.save(state, buf)
    data = buf.getvalue()
    instrument = DigitClassifier()
    instrument.load_state_dict({k: v.float() for k, v in state.items()})
    git = git_state()
    record = {
        "settings": settings,
        "sha256": hashlib.sha256(data).hexdigest(),
        "stored_as": "float16 state dict; computes in float32",
        "test_accuracy": accuracy(instrument.eval(), *test),
        "git_commit": git["git_commit"],
        "git_dirty": git["git_dirty"],
        "cpu_capability": determinism.record()["cpu_capability"],
        "torch": torch.__version__,
        "saved_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = root / FOLDER / f"{name(settings)}.json"
    weights_path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(weights_path(path), data)
    atomic_write_bytes(path, (json.dumps(record, indent=1) + "\n").encode())
    return path


def main(argv: list[str] | None = None) -> None:
    from replication.datasets.mnist import load_mnist
    from replication.metrics import mnist_scoring
    from replication.metrics.classifier import train_classifier

    ap = argparse.ArgumentParser(description="train and commit the digit classifier instrument")
    ap.add_argument("--images", type=int, required=True, help="first N MNIST training images")
    ap.add_argument("--epochs", type=int, required=True)
    args = ap.parse_args(argv)
    mnist = load_mnist()
    if not 0 < args.images <= len(mnist.train):
        raise SystemExit(f"--images must be in 1..{len(mnist.train)}, got {args.images}")
    x, y = mnist.train[: args.images], mnist.train_labels[: args.images]
    settings = mnist_scoring.instrument_settings(x, y, args.epochs)
    model = train_classifier(x, y, epochs=args.epochs, seed=CLASSIFIER_SEED)
    print(f"wrote {save(model, settings, (mnist.test, mnist.test_labels))}")


if __name__ == "__main__":
    main()
