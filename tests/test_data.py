"""MNIST location, verification and loading, on a hand-made IDX fixture (and on the real files
when $MNIST_DIR points at them)."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from replication.datasets import mnist as data
from replication.datasets.mnist import (
    MNIST_FILES,
    DatasetError,
    load_mnist,
    locate_mnist,
    md5,
    mnist_search_dirs,
    mnist_unavailable,
)

MNIST_NAMES = tuple(MNIST_FILES)  # the canonical names, read before any test patches the table


def _expected_pixels(images: np.ndarray) -> torch.Tensor:
    """uint8 [n, 28, 28] -> float32 [n, 784] in [0, 1], as x / 255 (correctly rounded)."""
    return torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / np.float32(255))


def _labels(values: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(values.astype(np.int64))


# --------------------------------------------------------------------------- loading


@pytest.mark.parametrize("compressed", [True, False], ids=["gz", "uncompressed"])
def test_load_splits_pixels_and_labels(tmp_path, fake_mnist, compressed):
    folder = fake_mnist.write(tmp_path / "mnist", compressed=compressed)
    m = load_mnist(folder)
    assert m.train.shape == (50, 784) and m.valid.shape == (10, 784) and m.test.shape == (10, 784)
    for x in (m.train, m.valid, m.test):
        assert x.dtype == torch.float32 and x.is_contiguous()
        assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    px = _expected_pixels(fake_mnist.train_images)
    assert torch.equal(m.train, px[:50])  # split at MNIST_TRAIN_STOP (patched to 50)
    assert torch.equal(m.valid, px[50:])
    assert torch.equal(m.test, _expected_pixels(fake_mnist.test_images))
    assert torch.equal(m.train_labels, _labels(fake_mnist.train_labels[:50]))
    assert torch.equal(m.valid_labels, _labels(fake_mnist.train_labels[50:]))
    assert torch.equal(m.test_labels, _labels(fake_mnist.test_labels))
    assert m.train_labels.dtype == torch.int64
    # known pixels: black, white, a ramp; and grey levels are kept (not binarised)
    assert float(m.train[0].max()) == 0.0 and float(m.train[1].min()) == 1.0
    assert m.train[2, :28].tolist() == [np.float32(i) / np.float32(255) for i in range(28)]
    assert m.train[2, 1].item() == pytest.approx(1 / 255, rel=1e-7)
    assert ((m.train > 0) & (m.train < 1)).float().mean() > 0.9
    suffix = ".gz" if compressed else ""
    assert m.files == {k: str(folder / f"{k}{suffix}") for k in MNIST_NAMES}


def test_to_moves_every_tensor_and_keeps_files(tmp_path, fake_mnist):
    m = load_mnist(fake_mnist.write(tmp_path / "mnist"))
    moved = m.to(torch.device("cpu"))
    assert torch.equal(moved.valid, m.valid) and torch.equal(moved.test_labels, m.test_labels)
    assert moved.files == m.files


def test_torchvision_download_layout_is_found(tmp_path, fake_mnist):
    fake_mnist.write(tmp_path / "mnist" / "MNIST" / "raw")
    m = load_mnist(tmp_path / "mnist")
    assert torch.equal(m.test, _expected_pixels(fake_mnist.test_images))


def test_gz_is_preferred_when_both_forms_exist(tmp_path, fake_mnist):
    folder = fake_mnist.write(tmp_path / "mnist", compressed=True)
    fake_mnist.write(folder, compressed=False)
    assert locate_mnist(folder) == {k: folder / f"{k}.gz" for k in MNIST_NAMES}


def test_md5_of_a_file(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    assert md5(p) == "900150983cd24fb0d6963f7d28e17f72"  # RFC 1321 test suite


def test_canonical_checksums_are_torchvision_s():
    from torchvision.datasets import MNIST

    listed = {Path(url).name.removesuffix(".gz"): m for url, m in MNIST.resources}
    assert {k: v[0] for k, v in MNIST_FILES.items()} == listed
    assert data.MNIST_TRAIN_STOP == 50_000


# --------------------------------------------------------------------------- errors


def test_corrupted_file_names_the_file_and_both_checksums(tmp_path, fake_mnist):
    folder = fake_mnist.write(tmp_path / "mnist")
    bad = folder / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-3])  # truncated
    actual = md5(bad)
    expected = fake_mnist.checksums["train-labels-idx1-ubyte"][0]
    assert actual != expected
    with pytest.raises(DatasetError) as e:
        load_mnist(folder)
    msg = str(e.value)
    assert str(bad) in msg and expected in msg and actual in msg
    assert "nox -s data" in msg


def test_corrupted_uncompressed_file_is_checked_against_the_idx_md5(tmp_path, fake_mnist):
    folder = fake_mnist.write(tmp_path / "mnist", compressed=False)
    bad = folder / "t10k-images-idx3-ubyte"
    raw = bytearray(bad.read_bytes())
    raw[-1] ^= 0xFF  # one pixel changed
    bad.write_bytes(bytes(raw))
    with pytest.raises(DatasetError) as e:
        load_mnist(folder)
    assert str(bad) in str(e.value)
    assert fake_mnist.checksums["t10k-images-idx3-ubyte"][1] in str(e.value)
    assert md5(bad) in str(e.value)


def test_missing_folder_lists_where_it_looked_and_how_to_get_the_files(tmp_path, fake_mnist):
    where = tmp_path / "nowhere"
    with pytest.raises(DatasetError) as e:
        load_mnist(where)
    msg = str(e.value)
    assert "MNIST not found" in msg
    assert str(where) in msg and str(where / "MNIST" / "raw") in msg
    assert "nox -s data" in msg and "data_dir" in msg and "$MNIST_DIR" in msg
    for name in MNIST_NAMES:
        assert f"{name}.gz" in msg


def test_empty_folder_is_not_found(tmp_path, fake_mnist):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="MNIST not found"):
        load_mnist(tmp_path / "empty")


def test_incomplete_folder_names_the_missing_file(tmp_path, fake_mnist):
    folder = fake_mnist.write(tmp_path / "mnist", skip=("t10k-labels-idx1-ubyte",))
    with pytest.raises(DatasetError) as e:
        load_mnist(folder)
    msg = str(e.value)
    assert "incomplete" in msg and str(folder) in msg
    assert "missing ['t10k-labels-idx1-ubyte']" in msg


def test_the_public_reason_names_the_failure_and_the_fix_but_no_path(tmp_path, fake_mnist):
    """`mnist_unavailable` is what a chapter writes into its summary when MNIST is unusable:
    the kind of failure and the fix, never the folders searched."""
    complete = fake_mnist.write(tmp_path / "ok")
    bad = complete / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-3])
    cases = {
        "missing": (tmp_path / "nowhere", "MNIST files not found"),
        "incomplete": (
            fake_mnist.write(tmp_path / "part", skip=("t10k-labels-idx1-ubyte",)),
            "MNIST is incomplete",
        ),
        "checksum": (complete, "fails its MD5 checksum"),
    }
    for kind, (folder, words) in cases.items():
        with pytest.raises(DatasetError) as e:
            load_mnist(folder)
        assert e.value.kind == kind and str(folder) in str(e.value)  # the terminal gets it
        reason = mnist_unavailable(e.value)
        assert words in reason and str(tmp_path) not in reason
        assert "MNIST_DIR" in reason and "nox -s data -- --download" in reason


# --------------------------------------------------------------------------- where to look


def test_mnist_dir_environment_variable_is_honoured(tmp_path, fake_mnist, monkeypatch):
    folder = fake_mnist.write(tmp_path / "env-mnist")
    monkeypatch.setenv("MNIST_DIR", str(folder))
    assert mnist_search_dirs() == [folder, folder / "MNIST" / "raw"]
    m = load_mnist()
    assert m.files["t10k-images-idx3-ubyte"] == str(folder / "t10k-images-idx3-ubyte.gz")


def test_explicit_data_dir_wins_over_the_environment(tmp_path, fake_mnist, monkeypatch):
    good = fake_mnist.write(tmp_path / "good")
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("MNIST_DIR", str(empty))
    assert load_mnist(good).files["train-images-idx3-ubyte"].startswith(str(good))
    monkeypatch.setenv("MNIST_DIR", str(good))
    with pytest.raises(DatasetError) as e:
        load_mnist(empty)  # not silently taken from $MNIST_DIR
    assert str(empty) in str(e.value) and f"Looked in: {empty}," in str(e.value)
    assert f"{good}," not in str(e.value)


def test_default_is_data_mnist_in_the_project(tmp_path, fake_mnist, monkeypatch):
    monkeypatch.setenv("GAN_REPLICATION_ROOT", str(tmp_path))
    default = tmp_path / "data" / "mnist"
    assert mnist_search_dirs() == [default, default / "MNIST" / "raw"]
    with pytest.raises(DatasetError, match="Looked in"):
        load_mnist()
    fake_mnist.write(default)
    assert load_mnist().valid.shape == (10, 784)


# --------------------------------------------------------------------------- the real files


def _read_idx(path: Path) -> np.ndarray:
    """An independent IDX reader: big-endian header, then unsigned bytes."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    magic = struct.unpack(">I", raw[:4])[0]
    assert magic >> 8 == 0x08  # unsigned byte
    ndim = magic & 0xFF
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    return np.frombuffer(raw[4 + 4 * ndim :], dtype=np.uint8).reshape(shape)


def _real_mnist_dir() -> Path | None:
    d = os.environ.get("MNIST_DIR")
    if not d:
        return None
    p = Path(d)
    ok = all((p / f"{n}.gz").is_file() or (p / n).is_file() for n in MNIST_NAMES)
    return p if ok else None


@pytest.mark.skipif(_real_mnist_dir() is None, reason="set MNIST_DIR to the original MNIST files")
def test_real_mnist():
    m = load_mnist()  # from $MNIST_DIR, verified against the canonical MD5s
    assert m.train.shape == (50000, 784) and m.valid.shape == (10000, 784)
    assert m.test.shape == (10000, 784)
    assert (m.train_labels.shape, m.valid_labels.shape, m.test_labels.shape) == (
        (50000,),
        (10000,),
        (10000,),
    )
    for x in (m.train, m.valid, m.test):
        assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    files = locate_mnist()
    train60k = _expected_pixels(_read_idx(files["train-images-idx3-ubyte"]))
    assert train60k.shape == (60000, 784)
    assert torch.equal(m.train, train60k[:50000]) and torch.equal(m.valid, train60k[50000:])
    labels60k = _labels(_read_idx(files["train-labels-idx1-ubyte"]))
    assert torch.equal(m.valid_labels, labels60k[50000:])
    # the well-known mean pixel of all 60,000 training images
    full_mean = torch.cat([m.train, m.valid]).double().mean().item()
    assert full_mean == pytest.approx(0.130660, abs=1e-6)
    assert torch.bincount(m.test_labels).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]
