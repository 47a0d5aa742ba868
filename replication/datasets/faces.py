"""The Toronto Face Database (TFD) as the 2014 code read it, and public stand-ins in its layout.

TFD is distributed under restricted access: it cannot be downloaded or shipped here. Users with
`TFD_48x48.mat` point the data option (or $TFD_PATH) at it. The layout is the one pylearn2's
`pylearn2/datasets/tfd.py` (class TFD) read, which the paper's code used:

* `images`  N x 48 x 48, uint8 grey levels;
* `folds`   N x 5, for each of the 5 official folds 0 = unlabeled, 1 = train, 2 = valid, 3 = test;
* `labs_ex` N (or N x 1), expression 1..7, -1 for unlabeled images;
* `labs_id` N (or N x 1), identity.

`TFD(which_set, fold, scale=True)` takes the rows with `folds[:, fold] == {unlabeled: 0, train: 1,
valid: 2, test: 3}[which_set]` (`full_train`: 1 or 2) in file order, flattens each image row-major
to 2304 values and divides by 255; labels are `labs_ex - 1` (none for `unlabeled`).

Without the file, the same protocol runs on a public face set resized to 48 x 48 and given a
5-fold split built the same way (`build_standin`). Its numbers are not comparable to TFD's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from replication.datasets.mnist import DatasetError, md5
from replication.runs.paths import project_root

TFD_FILE = "TFD_48x48.mat"
TFD_ENV = "TFD_PATH"
FACES_ENV = "FACES_DIR"
SIDE = 48
N_FOLDS = 5

# pylearn2 TFD.mapper: which_set -> value in the `folds` column (full_train = train or valid)
SPLIT_CODES = {"unlabeled": 0, "train": 1, "valid": 2, "test": 3, "full_train": 4}

# The public stand-ins (see data/README.md): file -> (MD5, what it is)
STANDIN_FILES = {
    "olivetti": (
        "olivettifaces.mat",
        "7be4afc20ba95152afb4c6b4b5d45c5b",
        "Olivetti / AT&T ORL faces, Roweis's 64x64 version (sjgershm/DBM @ a30d9ab)",
    ),
    "frey": (
        "frey_rawface.mat",
        "5aeb024d42b8a6091f30e5eb18c8a48d",
        "Frey faces, 28x20 (Roweis's data page)",
    ),
}
# The stand-in folds are a property of the data set, not of a run: a fixed seed draws them.
STANDIN_FOLD_SEED = 2014


@dataclass(frozen=True)
class FaceFolds:
    """A face set in TFD's layout, with pylearn2's split selection."""

    images: np.ndarray  # uint8 [N, 48, 48]
    folds: np.ndarray  # int64 [N, 5], 0 unlabeled, 1 train, 2 valid, 3 test
    labs_ex: np.ndarray  # int64 [N], 1..7, -1 unlabeled (or unknown, for stand-ins)
    labs_id: np.ndarray  # int64 [N]
    name: str  # what the page calls it
    is_tfd: bool  # True only for the real TFD file
    source: str  # the file read
    file_md5: str
    # which split the generator trains on: "unlabeled" for TFD (as the paper's code), "train"
    # for stand-ins that have no unlabeled images of the same kind
    generator_split: str = "unlabeled"

    def indices(self, which_set: str, fold: int) -> np.ndarray:
        """Row numbers of `which_set` in `fold`, in file order, as pylearn2's TFD selects them."""
        if which_set not in SPLIT_CODES:
            raise ValueError(f"which_set must be one of {list(SPLIT_CODES)}, got {which_set!r}")
        if not 0 <= fold < N_FOLDS:
            raise ValueError(f"fold must be in 0..{N_FOLDS - 1}, got {fold}")
        col = self.folds[:, fold]
        if which_set == "full_train":
            mask = (col == 1) | (col == 2)
        else:
            mask = col == SPLIT_CODES[which_set]
        idx = np.flatnonzero(mask)
        if idx.size == 0:  # pylearn2: assert set_indices.sum() > 0
            raise DatasetError(f"{self.name}: split {which_set!r} of fold {fold} is empty")
        return idx

    def x(self, which_set: str, fold: int) -> torch.Tensor:
        """float32 [n, 2304] in [0, 1]: pylearn2's TFD(which_set, fold, scale=True).X."""
        rows = self.images[self.indices(which_set, fold)]
        flat = rows.reshape(rows.shape[0], -1).astype(np.float32) / np.float32(255)
        return torch.from_numpy(flat)

    def y(self, which_set: str, fold: int) -> np.ndarray | None:
        """Expression labels 0..6 (`labs_ex - 1`), None for `unlabeled` (pylearn2's y)."""
        if which_set == "unlabeled":
            return None
        return self.labs_ex[self.indices(which_set, fold)] - 1

    def identity(self, which_set: str, fold: int) -> np.ndarray | None:
        """pylearn2's y_identity."""
        if which_set == "unlabeled":
            return None
        return self.labs_id[self.indices(which_set, fold)]

    def generator_rows(self, fold: int) -> np.ndarray:
        return self.indices(self.generator_split, fold)

    def split_sizes(self) -> list[dict[str, int]]:
        return [
            {
                "fold": f,
                **{s: int((self.folds[:, f] == c).sum()) for s, c in SPLIT_CODES.items() if c < 4},
            }
            for f in range(N_FOLDS)
        ]


# --------------------------------------------------------------------------- the real TFD file


def _how_to_get_tfd() -> str:
    return (
        f"TFD is distributed under restricted access (Susskind, Anderson and Hinton 2010, "
        f"University of Toronto) and cannot be downloaded by this project. If you have "
        f"{TFD_FILE}, put it in {project_root() / 'data' / 'faces'}, or point the data_dir "
        f"option or ${TFD_ENV} at it (the file or its folder)."
    )


def tfd_candidates(data_dir: str | Path | None = None) -> list[Path]:
    """Where TFD_48x48.mat is looked for: data_dir, else $TFD_PATH, else data/faces/ (each may
    name the file itself or its folder)."""
    if data_dir:
        base = Path(data_dir)
    elif os.environ.get(TFD_ENV):
        base = Path(os.environ[TFD_ENV])
    else:
        base = project_root() / "data" / "faces"
    return [base] if base.suffix == ".mat" else [base / TFD_FILE]


def find_tfd(data_dir: str | Path | None = None) -> Path | None:
    for p in tfd_candidates(data_dir):
        if p.is_file():
            return p
    return None


def _read_mat(path: Path) -> dict[str, np.ndarray]:
    """The four TFD fields as numpy arrays in MATLAB's index order, from a v5 or v7.3 file."""
    import h5py
    import scipy.io

    fields = ("images", "folds", "labs_ex", "labs_id")
    if h5py.is_hdf5(path):
        # MATLAB v7.3 is HDF5, which stores column-major arrays with their dimensions reversed:
        # an N x 48 x 48 variable reads as 48 x 48 x N; a full transpose restores MATLAB's order.
        out = {}
        with h5py.File(path, "r") as f:
            for k in fields:
                if k in f:
                    if not isinstance(f[k], h5py.Dataset):
                        raise DatasetError(
                            f"{path}: field {k!r} is a MATLAB struct or cell, expected a numeric "
                            "array. " + _how_to_get_tfd()
                        )
                    out[k] = np.asarray(f[k][()]).T
        return out
    try:
        mat = scipy.io.loadmat(path, variable_names=fields)
    except Exception as e:  # scipy raises ValueError, TypeError, ... on non-MAT bytes
        raise DatasetError(
            f"{path} is not a readable MATLAB file ({type(e).__name__}: {e}). " + _how_to_get_tfd()
        ) from e
    return {k: v for k, v in mat.items() if not k.startswith("__")}


def _column(arr: np.ndarray, name: str, n: int, path: Path) -> np.ndarray:
    a = np.asarray(arr)
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    if a.shape != (n,):
        raise DatasetError(
            f"{path}: field {name!r} has shape {arr.shape}; expected {n} entries (N or N x 1, "
            f"N = {n} images). " + _how_to_get_tfd()
        )
    if not np.issubdtype(a.dtype, np.number) or not np.all(a == np.round(a)):
        raise DatasetError(f"{path}: field {name!r} must hold integers, got dtype {a.dtype}")
    return a.astype(np.int64)


def validate_tfd(raw: dict[str, np.ndarray], path: Path) -> dict[str, np.ndarray]:
    """Check the layout pylearn2 relied on; raise DatasetError naming the field and the rule."""
    missing = [k for k in ("images", "folds", "labs_ex", "labs_id") if k not in raw]
    if missing:
        raise DatasetError(
            f"{path} lacks the field(s) {missing}; a TFD file holds images, folds, labs_ex and "
            f"labs_id (found: {sorted(raw)}). " + _how_to_get_tfd()
        )
    images = np.asarray(raw["images"])
    if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE):
        raise DatasetError(
            f"{path}: field 'images' has shape {images.shape}; expected N x {SIDE} x {SIDE} "
            f"(the 48x48 TFD file; the 96x96 one is not used by the paper). " + _how_to_get_tfd()
        )
    if images.dtype != np.uint8:
        raise DatasetError(
            f"{path}: field 'images' has dtype {images.dtype}; expected uint8 grey levels 0..255"
        )
    n = images.shape[0]
    folds = np.asarray(raw["folds"])
    if folds.shape != (n, N_FOLDS):
        raise DatasetError(
            f"{path}: field 'folds' has shape {folds.shape}; expected {n} x {N_FOLDS} "
            "(one column per official fold). " + _how_to_get_tfd()
        )
    if not np.issubdtype(folds.dtype, np.number):
        raise DatasetError(f"{path}: field 'folds' has dtype {folds.dtype}; expected numbers")
    bad = [f"{v:g}" for v in np.unique(folds).tolist() if v not in (0, 1, 2, 3)]
    if bad:
        raise DatasetError(
            f"{path}: field 'folds' holds values [{', '.join(bad[:5])}]; expected only "
            "0 (unlabeled), 1 (train), 2 (valid), 3 (test)"
        )
    folds = folds.astype(np.int64)
    labs_ex = _column(raw["labs_ex"], "labs_ex", n, path)
    labs_id = _column(raw["labs_id"], "labs_id", n, path)
    bad_ex = sorted(set(np.unique(labs_ex).tolist()) - {-1, 1, 2, 3, 4, 5, 6, 7})
    if bad_ex:
        raise DatasetError(
            f"{path}: field 'labs_ex' holds values {bad_ex[:5]}; expected expressions 1..7 and "
            "-1 for unlabeled images"
        )
    labelled = (folds > 0).any(axis=1)
    if (labs_ex[labelled] < 1).any():
        raise DatasetError(
            f"{path}: field 'labs_ex' is -1 for {int((labs_ex[labelled] < 1).sum())} image(s) "
            "that 'folds' puts in a train, valid or test split; labelled images need 1..7"
        )
    for f in range(N_FOLDS):
        for code, split in ((1, "train"), (2, "valid"), (3, "test")):
            if not (folds[:, f] == code).any():
                raise DatasetError(
                    f"{path}: field 'folds' gives fold {f} no {split} images (value {code})"
                )
    return {"images": images, "folds": folds, "labs_ex": labs_ex, "labs_id": labs_id}


def load_tfd(path: str | Path) -> FaceFolds:
    """Read and check TFD_48x48.mat (MATLAB v5 via scipy, v7.3 via h5py)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{TFD_FILE} not found at {path}. " + _how_to_get_tfd())
    arrays = validate_tfd(_read_mat(path), path)
    return FaceFolds(
        **arrays,
        name="TFD (Toronto Face Database, 48x48)",
        is_tfd=True,
        source=portable_path(path),
        file_md5=md5(path),
        generator_split="unlabeled",
    )


# --------------------------------------------------------------------------- public stand-ins


def portable_path(path: Path) -> str:
    """The file as provenance records it: under $FACES_DIR as `$FACES_DIR/...`, inside the
    project relative to it; a machine's absolute folder is never written into results."""
    path = Path(path).resolve()
    env = os.environ.get(FACES_ENV)
    bases = [(Path(env).resolve(), f"${FACES_ENV}")] if env else []
    bases.append((project_root().resolve(), "."))
    for base, name in bases:
        if path.is_relative_to(base):
            return f"{name}/{path.relative_to(base).as_posix()}"
    return f"<outside the project>/{path.name}"


def faces_search_dirs(data_dir: str | Path | None = None) -> list[Path]:
    """Where the stand-in files are looked for: data_dir, else $FACES_DIR, else data/faces/."""
    if data_dir:
        p = Path(data_dir)
        return [p.parent if p.suffix == ".mat" else p]
    if os.environ.get(FACES_ENV):
        return [Path(os.environ[FACES_ENV])]
    return [project_root() / "data" / "faces"]


def _how_to_get_standin(name: str) -> str:
    file, digest, what = STANDIN_FILES[name]
    return (
        f"The stand-in needs {file} ({what}; MD5 {digest}; sources and terms in "
        f"data/README.md). Put it in {project_root() / 'data' / 'faces'}, or point the data_dir "
        f"option or ${FACES_ENV} at its folder."
    )


def locate_standin(name: str, data_dir: str | Path | None = None) -> Path:
    if name not in STANDIN_FILES:
        raise ValueError(f"stand-in must be one of {list(STANDIN_FILES)}, got {name!r}")
    file, digest, _ = STANDIN_FILES[name]
    dirs = faces_search_dirs(data_dir)
    for d in dirs:
        p = d / file
        if p.is_file():
            actual = md5(p)
            if actual != digest:
                raise DatasetError(
                    f"{p} fails its checksum: expected MD5 {digest}, got {actual} (truncated or "
                    f"another copy). " + _how_to_get_standin(name)
                )
            return p
    looked = ", ".join(str(d / file) for d in dirs)
    raise DatasetError(f"{file} not found. Looked at: {looked}. " + _how_to_get_standin(name))


def resize_48(images: np.ndarray) -> np.ndarray:
    """uint8 [N, h, w] -> uint8 [N, 48, 48]: antialiased bilinear, rounded back to grey levels
    (so that the stand-in is stored, and scaled, exactly as TFD's uint8 images are)."""
    x = torch.from_numpy(images.astype(np.float32)).unsqueeze(1)
    y = F.interpolate(x, size=(SIDE, SIDE), mode="bilinear", antialias=True, align_corners=False)
    return y.squeeze(1).round().clamp(0, 255).to(torch.uint8).numpy()


def rotating_folds(groups: np.ndarray, n_groups: int = N_FOLDS) -> np.ndarray:
    """[N, 5] fold table from a group number 0..4 per image: in fold k, group k is the test
    split, group k+1 (mod 5) the validation split and the other three the training split.

    Every image is a test image in exactly one fold and a validation image in exactly one.
    """
    folds = np.empty((groups.shape[0], N_FOLDS), dtype=np.int64)
    for k in range(N_FOLDS):
        folds[:, k] = 1
        folds[groups == k % n_groups, k] = 3
        folds[groups == (k + 1) % n_groups, k] = 2
    return folds


def build_standin(name: str = "olivetti", data_dir: str | Path | None = None) -> FaceFolds:
    """A public face set in TFD's layout, with a 5-fold split built as TFD's (train, valid and
    test per fold; no unlabeled images, so the generator trains on the fold's training split).

    olivetti: 400 images of 40 people (64x64). The 40 people are shuffled (fixed seed) into 5
      groups of 8; the folds rotate the groups, so test, validation and training people are
      disjoint in every fold, as TFD's folds separate identities.
    frey: 1,965 video frames of one person (28x20, stretched to 48x48). One person cannot be
      split by identity; the frames are cut into 5 contiguous blocks (neighbouring frames are
      near duplicates) and the folds rotate the blocks.
    """
    import scipy.io

    path = locate_standin(name, data_dir)
    if name == "olivetti":
        raw = scipy.io.loadmat(path)["faces"]  # (4096, 400), column-major 64x64 per column
        faces = raw.T.reshape(-1, 64, 64).transpose(0, 2, 1)
        person = np.arange(faces.shape[0]) // 10
        order = np.random.default_rng(STANDIN_FOLD_SEED).permutation(40)
        group_of_person = np.empty(40, dtype=np.int64)
        group_of_person[order] = np.arange(40) // 8
        groups = group_of_person[person]
        labs_id = person + 1
        label = "Olivetti faces (public stand-in, NOT TFD)"
    else:
        raw = scipy.io.loadmat(path)["ff"]  # (560, 1965)
        faces = raw.T.reshape(-1, 28, 20)
        n = faces.shape[0]
        groups = np.minimum(np.arange(n) * N_FOLDS // n, N_FOLDS - 1)
        labs_id = np.ones(n, dtype=np.int64)
        label = "Frey faces (public stand-in, NOT TFD)"
    images = resize_48(np.ascontiguousarray(faces))
    return FaceFolds(
        images=images,
        folds=rotating_folds(groups),
        labs_ex=np.full(images.shape[0], -1, dtype=np.int64),  # no expression labels
        labs_id=labs_id.astype(np.int64),
        name=label,
        is_tfd=False,
        source=portable_path(path),
        file_md5=md5(path),
        generator_split="train",
    )


def load_faces(dataset: str = "auto", data_dir: str | Path | None = None) -> FaceFolds:
    """`tfd`: the real file or a DatasetError; a stand-in name: that stand-in; `auto`: TFD when
    the file is found where it is looked for, else the Olivetti stand-in."""
    if dataset in ("auto", "tfd"):
        found = find_tfd(data_dir)
        if found is not None:
            return load_tfd(found)
        if dataset == "tfd":
            looked = ", ".join(str(p) for p in tfd_candidates(data_dir))
            raise DatasetError(f"{TFD_FILE} not found. Looked at: {looked}. " + _how_to_get_tfd())
        dataset = "olivetti"
    return build_standin(dataset, data_dir)
