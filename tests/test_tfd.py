"""TFD: pylearn2's layout and split selection on synthetic .mat files (MATLAB v5 and v7.3), the
public stand-in's folds, and the networks' max column norm."""

from __future__ import annotations

import hashlib

import h5py
import numpy as np
import pytest
import scipy.io
import torch
from torch import nn

from replication.datasets import faces as tfd
from replication.datasets.faces import FaceFolds, load_faces, load_tfd
from replication.datasets.mnist import DatasetError
from replication.nets.mlp2014 import Maxout
from replication.nets.tfd2014 import (
    MaxColNorm,
    max_col_norm_,
    pretrain_generator,
    sparse_init_,
    stacked_generator,
)

N_UNLABELED = 5


def synthetic_tfd(n: int = 20, n_unlabeled: int = N_UNLABELED) -> dict[str, np.ndarray]:
    """TFD's layout: the first rows unlabeled (0 in every fold), the others in 5 rotating groups:
    in fold k group k is test (3), group k+1 valid (2), the rest train (1)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 48, 48), dtype=np.uint8)
    images[0] = 0
    images[1] = 255
    images[2, 0, :] = np.arange(48, dtype=np.uint8)  # a ramp along the first image row
    folds = np.zeros((n, 5), dtype=np.float64)  # MATLAB stores doubles
    g = (np.arange(n) - n_unlabeled) % 5
    for k in range(5):
        lab = np.arange(n) >= n_unlabeled
        folds[lab, k] = 1
        folds[lab & (g == k), k] = 3
        folds[lab & (g == (k + 1) % 5), k] = 2
    labs_ex = np.where(np.arange(n) < n_unlabeled, -1, 1 + np.arange(n) % 7).astype(np.float64)
    labs_id = (np.arange(n) // 2 + 1).astype(np.float64)
    return {
        "images": images,
        "folds": folds,
        "labs_ex": labs_ex[:, None],  # N x 1, as MATLAB column vectors load
        "labs_id": labs_id[:, None],
    }


def write_v5(path, arrays):
    scipy.io.savemat(path, arrays, format="5")
    return path


def write_v73(path, arrays):
    """MATLAB v7.3: HDF5 behind a 512-byte MATLAB header, every array column-major, i.e. its
    dimensions reversed when read row-major (an N x 48 x 48 variable is 48 x 48 x N)."""
    with h5py.File(path, "w", userblock_size=512) as f:
        for k, v in arrays.items():
            d = f.create_dataset(k, data=np.ascontiguousarray(v.T))
            d.attrs["MATLAB_class"] = np.bytes_("uint8" if v.dtype == np.uint8 else "double")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5"
    with open(path, "r+b") as f:
        f.write(header.ljust(116) + b"\x00" * 8 + b"\x00\x02IM")
    return path


def pylearn2_tfd(arrays, which_set, fold):
    """A transcription of pylearn2/datasets/tfd.py (TFD.__init__, scale=True): the oracle."""
    mapper = {"unlabeled": 0, "train": 1, "valid": 2, "test": 3, "full_train": 4}
    data = arrays
    if mapper[which_set] == 4:
        set_indices = (data["folds"][:, fold] == 1) + (data["folds"][:, fold] == 2)
    else:
        set_indices = data["folds"][:, fold] == mapper[which_set]
    assert set_indices.sum() > 0
    data_x = np.asarray(data["images"][set_indices], dtype="float32")
    data_x = data_x.reshape(data_x.shape[0], 48**2)
    data_x[:] /= 255.0
    if which_set != "unlabeled":
        data_y = data["labs_ex"][set_indices] - 1
        data_y_identity = data["labs_id"][set_indices]
    else:
        data_y = data_y_identity = None
    return data_x, data_y, data_y_identity


@pytest.fixture(params=["v5", "v7.3"])
def tfd_file(request, tmp_path):
    arrays = synthetic_tfd()
    writer = write_v5 if request.param == "v5" else write_v73
    return writer(tmp_path / "TFD_48x48.mat", arrays), arrays


# --------------------------------------------------------------------------- the real layout


def test_v73_file_is_hdf5_and_v5_is_not(tmp_path):
    arrays = synthetic_tfd()
    assert h5py.is_hdf5(write_v73(tmp_path / "a.mat", arrays))
    assert not h5py.is_hdf5(write_v5(tmp_path / "b.mat", arrays))
    assert scipy.io.matlab.matfile_version(str(tmp_path / "a.mat"))[0] == 2  # MATLAB says 7.3


def test_splits_folds_and_scaling_as_pylearn2(tfd_file):
    path, arrays = tfd_file
    faces = load_tfd(path)
    assert faces.is_tfd and faces.images.shape == (20, 48, 48) and faces.images.dtype == np.uint8
    assert np.array_equal(faces.images, arrays["images"])  # v7.3 transposed back, not scrambled
    for fold in range(5):
        for which in ("unlabeled", "train", "valid", "test", "full_train"):
            x, y, ident = pylearn2_tfd(arrays, which, fold)
            ours = faces.x(which, fold)
            assert ours.dtype == torch.float32
            assert torch.equal(ours, torch.from_numpy(x)), (which, fold)
            if y is None:
                assert faces.y(which, fold) is None and faces.identity(which, fold) is None
            else:
                assert np.array_equal(faces.y(which, fold), y.reshape(-1))
                assert np.array_equal(faces.identity(which, fold), ident.reshape(-1))


def test_known_rows_of_each_split(tfd_file):
    faces = load_tfd(tfd_file[0])
    for k in range(5):
        assert faces.indices("unlabeled", k).tolist() == [0, 1, 2, 3, 4]  # same in every fold
        assert faces.indices("test", k).tolist() == [5 + k, 10 + k, 15 + k]
        assert faces.indices("valid", k).tolist() == [5 + (k + 1) % 5 + j for j in (0, 5, 10)]
        assert len(faces.indices("train", k)) == 9
    x = faces.x("unlabeled", 0)
    assert float(x[0].max()) == 0.0 and float(x[1].min()) == 1.0
    # row-major flattening: the first 48 values are the first image row
    assert x[2, :48].tolist() == [np.float32(i) / np.float32(255) for i in range(48)]
    assert faces.y("test", 0).tolist() == [(5 % 7), (10 % 7), (15 % 7)]  # labs_ex - 1


def test_tfd_is_found_through_option_env_and_auto(tmp_path, monkeypatch):
    arrays = synthetic_tfd()
    write_v5(tmp_path / "TFD_48x48.mat", arrays)
    monkeypatch.delenv("TFD_PATH", raising=False)
    assert load_faces("tfd", tmp_path).is_tfd  # the folder
    assert load_faces("auto", tmp_path / "TFD_48x48.mat").is_tfd  # the file itself
    monkeypatch.setenv("TFD_PATH", str(tmp_path / "TFD_48x48.mat"))
    assert load_faces("tfd").is_tfd


def test_missing_tfd_says_where_it_looked_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv("TFD_PATH", raising=False)
    with pytest.raises(DatasetError) as e:
        load_faces("tfd", tmp_path / "nowhere")
    msg = str(e.value)
    assert str(tmp_path / "nowhere" / "TFD_48x48.mat") in msg
    assert "restricted" in msg and "TFD_PATH" in msg and "data_dir" in msg


def _broken(change):
    arrays = synthetic_tfd()
    change(arrays)
    return arrays


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda a: a.pop("labs_id"), r"lacks the field\(s\) \['labs_id'\]"),
        (lambda a: a.update(images=a["images"][:, :32, :32]), r"'images' has shape .* N x 48 x 48"),
        (lambda a: a.update(images=a["images"].astype(np.float64)), r"'images' has dtype float64"),
        (lambda a: a.update(folds=a["folds"][:, :4]), r"'folds' has shape \(20, 4\).* 20 x 5"),
        (lambda a: a["folds"].__setitem__((7, 2), 4), r"'folds' holds values \[4\]"),
        (lambda a: a.update(labs_ex=a["labs_ex"][:10]), r"'labs_ex' has shape \(10, 1\)"),
        (lambda a: a["labs_ex"].__setitem__((8, 0), 9), r"'labs_ex' holds values \[9\]"),
        (lambda a: a["labs_ex"].__setitem__((8, 0), -1), r"'labs_ex' is -1 for 1 image"),
        (lambda a: a["folds"].__setitem__((a["folds"][:, 3] == 3, 3), 1), r"fold 3 no test"),
    ],
    ids=[
        "missing",
        "size",
        "dtype",
        "folds-shape",
        "folds-value",
        "labs-length",
        "labs-value",
        "labelled-without-label",
        "empty-test",
    ],
)
@pytest.mark.parametrize("fmt", ["v5", "v7.3"])
def test_a_file_off_the_layout_names_the_field(tmp_path, change, match, fmt):
    arrays = _broken(change)
    path = (write_v5 if fmt == "v5" else write_v73)(tmp_path / "TFD_48x48.mat", arrays)
    with pytest.raises(DatasetError, match=match):
        load_tfd(path)


def test_not_a_mat_file(tmp_path):
    p = tmp_path / "TFD_48x48.mat"
    p.write_bytes(b"not a MATLAB file at all" * 10)
    with pytest.raises(DatasetError, match="not a readable MATLAB file"):
        load_tfd(p)


# --------------------------------------------------------------------------- the stand-in


@pytest.fixture
def fake_olivetti(tmp_path, monkeypatch):
    """400 images, 64x64, stored as Roweis's file: column i is image i, column-major."""
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, size=(400, 64, 64), dtype=np.uint8)
    img[:, :32, :] = 255  # upper half white: an orientation check survives resizing
    img[:, 32:, :] = img[:, 32:, :] // 4
    raw = img.transpose(0, 2, 1).reshape(400, 4096).T
    folder = tmp_path / "faces"
    folder.mkdir()
    path = folder / "olivettifaces.mat"
    scipy.io.savemat(path, {"faces": raw})
    digest = hashlib.md5(path.read_bytes()).hexdigest()
    monkeypatch.setitem(tfd.STANDIN_FILES, "olivetti", ("olivettifaces.mat", digest, "fake"))
    monkeypatch.delenv("TFD_PATH", raising=False)
    monkeypatch.delenv("FACES_DIR", raising=False)
    return folder, img


def test_standin_layout_and_person_disjoint_rotating_folds(fake_olivetti):
    folder, img = fake_olivetti
    faces = load_faces("auto", folder)  # no TFD file there: the stand-in, labelled as such
    assert not faces.is_tfd and "NOT TFD" in faces.name and faces.generator_split == "train"
    assert faces.images.shape == (400, 48, 48) and faces.images.dtype == np.uint8
    assert np.array_equal(faces.images, tfd.resize_48(img))
    assert faces.images[:, :20].min() == 255 and faces.images[:, 28:].max() < 80  # upright
    person = np.arange(400) // 10
    assert np.array_equal(faces.labs_id, person + 1)
    assert ((faces.folds == 3).sum(1) == 1).all() and ((faces.folds == 2).sum(1) == 1).all()
    assert not (faces.folds == 0).any()
    for k in range(5):
        sets = [set(person[faces.indices(s, k)]) for s in ("train", "valid", "test")]
        assert [len(s) for s in sets] == [24, 8, 8]
        assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
        assert np.array_equal(faces.generator_rows(k), faces.indices("train", k))
    # the folds are a property of the data set: the same on every load
    assert np.array_equal(load_faces("olivetti", folder).folds, faces.folds)


def test_standin_checksum_and_missing_file(fake_olivetti, monkeypatch, tmp_path):
    folder, _ = fake_olivetti
    monkeypatch.setitem(tfd.STANDIN_FILES, "olivetti", ("olivettifaces.mat", "0" * 32, "fake"))
    with pytest.raises(DatasetError, match="fails its checksum: expected MD5 0{32}"):
        load_faces("olivetti", folder)
    with pytest.raises(DatasetError, match="olivettifaces.mat not found. Looked at") as e:
        load_faces("olivetti", tmp_path / "empty")
    assert "FACES_DIR" in str(e.value)
    monkeypatch.setenv("FACES_DIR", str(tmp_path / "env"))
    with pytest.raises(DatasetError, match=str(tmp_path / "env")):
        load_faces("olivetti")


def test_rotating_folds_for_contiguous_blocks():
    groups = np.minimum(np.arange(1965) * 5 // 1965, 4)
    folds = tfd.rotating_folds(groups)
    assert folds.shape == (1965, 5)
    for k in range(5):
        test = np.flatnonzero(folds[:, k] == 3)
        assert test.min() == np.flatnonzero(groups == k).min() and np.all(np.diff(test) == 1)


# --------------------------------------------------------------------------- networks


def test_max_col_norm_caps_the_weights_into_each_unit():
    lin = nn.Linear(4, 3)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.5, 0, 0, 0], [0, 3.0, 0, 0], [6.0, 8.0, 0, 0]]))
        lin.bias.fill_(7.0)
    max_col_norm_(lin, 1.9365)
    norms = lin.weight.norm(dim=1)
    assert norms.tolist() == pytest.approx([0.5, 1.9365, 1.9365])
    assert lin.weight[2].tolist() == pytest.approx([0.6 * 1.9365, 0.8 * 1.9365, 0, 0])
    assert lin.bias.tolist() == [7.0, 7.0, 7.0]
    mx = Maxout(10, 4, 3)  # each piece is a unit of pylearn2's detector layer
    with torch.no_grad():
        mx.linear.weight.mul_(100)
    max_col_norm_(mx, 0.5)
    assert float(mx.linear.weight.detach().norm(dim=1).max()) <= 0.5 + 1e-6


def test_max_col_norm_holds_through_training(tiny_data):
    from replication.nets.mlp2014 import Discriminator
    from replication.training import objectives
    from replication.training.loop import train
    from replication.training.optim import ClassicMomentumSGD
    from replication.training.schedules import Schedule
    from replication.training.state import GAN

    torch.manual_seed(0)
    g = pretrain_generator(8, 16, 64, 0.05, -2.0, 4)
    d = Discriminator(64, 8, 2, 0.8, 0.5)
    gan = GAN(
        g, d, ClassicMomentumSGD(g.parameters(), 0.5), ClassicMomentumSGD(d.parameters(), 0.5)
    )
    nonsat = objectives.get("gan2014_nonsaturating").tuned(g_cost_scale=1.0)
    sched = Schedule(lr=0.5)
    train(gan, tiny_data, nonsat, epochs=2, batch_size=50, schedule=sched,
          after_step=MaxColNorm(0.3), progress=False)  # fmt: skip
    for m in (*g.modules(), *d.modules()):
        if isinstance(m, nn.Linear):
            assert float(m.weight.detach().norm(dim=1).max()) <= 0.3 + 1e-5


def test_generator_stages_as_the_code():
    torch.manual_seed(0)
    g1 = pretrain_generator(10, 32, 48 * 48, 0.05, -2.0, 5)
    lin = [m for m in g1.net if isinstance(m, nn.Linear)]
    assert [tuple(m.weight.shape) for m in lin] == [(32, 10), (32, 32), (2304, 32)]
    assert torch.all(lin[1].bias == -2.0) and float(lin[0].weight.abs().max()) <= 0.05
    assert ((lin[2].weight != 0).sum(1) == 5).all()  # sparse_init: 5 inputs per output unit
    z = g1.sample_noise(5000, "cpu")
    assert abs(float(z.mean())) < 0.01 and float(z.std()) == pytest.approx(1.0, abs=0.01)
    g2 = stacked_generator(g1, 16, 0.05, -2.0)
    lin2 = [m for m in g2.net if isinstance(m, nn.Linear)]
    assert [tuple(m.weight.shape) for m in lin2[:2]] == [(16, 10), (10, 16)]
    assert all(a is b for a, b in zip(lin2[2:], lin, strict=True))  # every pretrained layer
    assert isinstance(g2.net[3], nn.Sigmoid)  # the block ends in a sigmoid of noise_dim units
    x = g2.sample(7, "cpu", seed=1)
    assert x.shape == (7, 2304) and float(x.min()) >= 0 and float(x.max()) <= 1
    assert torch.equal(x, g2.sample(7, "cpu", seed=1))


def test_sparse_init_keeps_k_distinct_inputs():
    lin = nn.Linear(50, 20)
    sparse_init_(lin, 7, torch.Generator().manual_seed(0))
    assert ((lin.weight != 0).sum(1) == 7).all()


def test_one_generator_for_tfd_one_per_fold_for_the_standin(tmp_path, fake_olivetti):
    from replication.chapters.parzen_tfd import ParzenTfdConfig, generator_groups

    cfg = ParzenTfdConfig.for_profile("quick")
    real = load_tfd(write_v5(tmp_path / "TFD_48x48.mat", synthetic_tfd()))
    groups = generator_groups(real, cfg)
    assert len(groups) == 1 and groups[0]["folds"] == [0, 1, 2, 3, 4]
    assert groups[0]["rows"].tolist() == [0, 1, 2, 3, 4]
    standin = load_faces("olivetti", fake_olivetti[0])
    assert [g["folds"] for g in generator_groups(standin, cfg)] == [[k] for k in range(5)]


def test_faces_are_never_looked_for_in_a_hard_coded_place():
    import inspect

    from replication.chapters import parzen_tfd
    from replication.report import tfd_findings

    for mod in (tfd, parzen_tfd, tfd_findings):
        src = inspect.getsource(mod)
        assert "/work/" not in src and "shared" not in src


def test_face_folds_rejects_bad_requests(tmp_path):
    faces: FaceFolds = load_tfd(write_v5(tmp_path / "t.mat", synthetic_tfd()))
    with pytest.raises(ValueError, match="which_set"):
        faces.indices("training", 0)
    with pytest.raises(ValueError, match="fold"):
        faces.indices("train", 5)


def test_run_folds_resumes_from_checkpoints_to_the_same_numbers(tmp_path):
    from replication.chapters.parzen_tfd import ParzenTfdConfig, across_folds, run_folds

    faces = load_tfd(write_v5(tmp_path / "TFD_48x48.mat", synthetic_tfd(n=60, n_unlabeled=30)))
    cfg = ParzenTfdConfig.for_profile(
        "quick", n_folds=2, g_hidden=16, stack_hidden=16, g_out_sparse_init=4, d_units=8,
        d_pieces=2, batch_size=10, pretrain_epochs=2, train_epochs=2, n_samples=40, device="cpu",
    )  # fmt: skip
    first = run_folds(cfg, faces, tmp_path / "ckpt", torch.device("cpu"), progress=False)
    # a later run finds both stages done: it trains nothing and scores the same generator
    again = run_folds(cfg, faces, tmp_path / "ckpt", torch.device("cpu"), progress=False)
    assert again["per_fold"].test_ll.tolist() == first["per_fold"].test_ll.tolist()
    assert len(again["history"]) == len(first["history"]) == 4  # 2 + 2 epochs, one generator
    # a fresh run in another folder repeats the numbers exactly (seeded)
    fresh = run_folds(cfg, faces, tmp_path / "other", torch.device("cpu"), progress=False)
    assert fresh["per_fold"].test_ll.tolist() == first["per_fold"].test_ll.tolist()
    mean, se = across_folds(first["per_fold"])
    assert np.isfinite(mean) and se > 0


def test_the_faces_file_is_recorded_without_the_machines_folder(tmp_path, monkeypatch):
    from replication.datasets.faces import portable_path
    from replication.runs.paths import project_root

    monkeypatch.setenv("FACES_DIR", str(tmp_path / "faces"))
    assert portable_path(tmp_path / "faces" / "frey.mat") == "$FACES_DIR/frey.mat"
    assert portable_path(project_root() / "data" / "faces" / "x.mat") == "./data/faces/x.mat"
    monkeypatch.delenv("FACES_DIR")
    outside = portable_path(tmp_path / "elsewhere" / "olivettifaces.mat")
    assert outside == "<outside the project>/olivettifaces.mat" and str(tmp_path) not in outside
