"""Finished pieces of a long run, kept one small JSON file each, so that a run built over several
sessions (on machines that are not kept), or by two processes at once, trains each piece once.

A piece (the mode-collapse chapter's: one method on one benchmark, all seeds) is kept in
`results/<chapter>/_pairs/<run>/<piece>.json`: its outputs (data frames, exactly), the
fingerprint it was made under (what decides its numbers: parameters, code) and the arithmetic it
ran with (device, threads, library versions, commit: recorded, not matched, since a machine of
the next session may differ). A re-run loads a piece whose fingerprint matches and trains again,
saying why, one whose does not. The folder is committed and sits beside the run folders, not in
one: a notebook's commit replaces its run folder whole, and folders whose names start with '_'
are no runs to the report code. Each piece has a lock file in the run's git-ignored checkpoint
folder: a process trains the next piece that is neither finished nor locked by another, then
waits for the others' pieces.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from replication.config import ConfigError
from replication.runs import determinism
from replication.runs.locks import exclusive
from replication.runs.store import atomic_write_bytes, device_name, git_state

FORMAT = 1  # of the piece files; another format is another fingerprint
PAIRS = "_pairs"
PACKAGE = Path(__file__).resolve().parents[1]
# modules that move files and record provenance, never numbers: editing them keeps the pieces
NOT_CODE = ("replication.runs.",)
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def pairs_dir(ckpt_dir: Path) -> Path:
    """`results/<chapter>/_checkpoints/<run>` -> `results/<chapter>/_pairs/<run>` (committed)."""
    return ckpt_dir.parent.parent / PAIRS / ckpt_dir.name


@cache
def code_digest(module: str) -> str:
    """SHA-256 of the sources of `module` and every module of this package it imports (read in
    a fresh interpreter, so it does not depend on what the caller imported) but `NOT_CODE`: the
    code a piece ran, whether or not the tree was committed (tests run in edited trees; a commit
    alone would be no identity), and only that code, so that a run built over several sessions
    keeps its pieces while other chapters' code changes."""
    listing = (
        "import importlib, sys; importlib.import_module(sys.argv[1]); "
        "print('\\n'.join(f'{n} {m.__file__}' for n, m in sorted(sys.modules.items()) "
        "if n.split('.')[0] == 'replication'))"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PACKAGE.parent), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", listing, module],
        capture_output=True,
        text=True,
        env=env,
        cwd=PACKAGE.parent,
        check=True,
    ).stdout
    h = hashlib.sha256()
    for line in out.splitlines():
        name, file = line.split(" ", 1)
        if name.startswith(NOT_CODE):
            continue
        rel = Path(file).resolve().relative_to(PACKAGE)
        h.update(rel.as_posix().encode() + b"\0" + Path(file).read_bytes() + b"\0")
    return h.hexdigest()


def arithmetic(device: torch.device) -> dict[str, Any]:
    """What decides the last bits of a piece's floats, not what it measures."""
    record = determinism.record()
    return {
        "device": device_name(device),
        "device_type": device.type,
        "torch_threads": torch.get_num_threads(),
        "deterministic": record["deterministic_algorithms"],
        "cpu_capability": record["cpu_capability"],
        "cpu_model": record["cpu_model"],
        "torch": torch.__version__,
        "numpy": np.__version__,
    }


# -- data frames, exactly ------------------------------------------------------------------------
def _plain(v: Any, dtype: np.dtype | Any) -> Any:
    if pd.api.types.is_float_dtype(dtype):
        v = float(str(v)) if dtype == np.float32 else float(v)  # float32: its shortest repr
        return v if math.isfinite(v) else str(v).replace("nan", "NaN").replace("inf", "Infinity")
    if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return v.item() if hasattr(v, "item") else v
    if isinstance(v, str):
        return v
    raise ConfigError(f"cannot keep a value {v!r} of dtype {dtype} in a piece file")


def encode_frame(df: pd.DataFrame) -> dict[str, Any]:
    """Columns, dtypes and values as JSON, so that `decode_frame` gives back an equal frame
    (floats to the last bit; non-finite ones as strings, which JSON lacks; a column of one
    value, as the method's name, once)."""
    values = []
    for c in df.columns:
        col = [_plain(v, df[c].dtype) for v in df[c].to_numpy()]
        values.append({"all": col[0]} if len(col) > 1 and col.count(col[0]) == len(col) else col)
    return {
        "rows": len(df),
        "columns": [str(c) for c in df.columns],
        "dtypes": [str(t) for t in df.dtypes],
        "values": values,
    }


def decode_frame(obj: dict[str, Any]) -> pd.DataFrame:
    cols = {}
    for name, dtype, values in zip(obj["columns"], obj["dtypes"], obj["values"], strict=True):
        if isinstance(values, dict):
            values = [values["all"]] * obj["rows"]
        if dtype.startswith("float"):
            values = [_NON_FINITE.get(v, v) if isinstance(v, str) else v for v in values]
        cols[name] = pd.Series(values, dtype=dtype)
    return pd.DataFrame(cols, columns=obj["columns"])


def _differences(kept: dict[str, Any], now: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for k in sorted(set(kept) | set(now)):
        a, b = kept.get(k), now.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{k}.")
        elif a != b:
            short = [x[:12] if isinstance(x, str) and len(x) == 64 else x for x in (a, b)]
            out.append(f"{prefix}{k} {short[0]!r} -> {short[1]!r}")
    return out


class PairStore:
    """The kept pieces of one run, and which of them this process loaded or trained."""

    def __init__(
        self, ckpt_dir: Path, device: torch.device, say: Callable[[str], None] = print
    ) -> None:
        self.folder = pairs_dir(ckpt_dir)
        self.locks = ckpt_dir / "pairs"
        self.run = ckpt_dir.name
        self.arithmetic = arithmetic(device)
        self.say = say
        self.log: dict[str, dict[str, Any]] = {}  # piece -> how this process got it
        self._told: set[str] = set()

    def path(self, piece: str) -> Path:
        return self.folder / f"{piece}.json"

    def load(self, piece: str, fingerprint: dict[str, Any]) -> dict[str, Any] | None:
        """The piece's outputs when it is kept under `fingerprint`, else None (saying why once)."""
        p = self.path(piece)
        if not p.is_file():
            return None
        try:
            kept = json.loads(p.read_text())
            why = _differences(kept["fingerprint"], {"format": FORMAT, **fingerprint})
            other = _differences(kept["arithmetic"], self.arithmetic)
            if not isinstance(kept["outputs"], dict):
                raise TypeError("outputs")
        except (ValueError, KeyError, TypeError) as err:
            why = [f"unreadable ({type(err).__name__})"]
        if why:
            self._tell(piece, f"pair {piece}: kept under another fingerprint ({'; '.join(why)}); "
                       "training it again")  # fmt: skip
            return None
        if other:  # the same experiment, other last bits: said, and recorded in the provenance
            self._tell(piece, f"pair {piece}: loaded; computed with other arithmetic ({other})")
        self.log[piece] = {"loaded": True, "git_commit": kept.get("git_commit"),
                           "arithmetic": kept["arithmetic"]}  # fmt: skip
        return kept["outputs"]

    def save(self, piece: str, fingerprint: dict[str, Any], outputs: dict[str, Any]) -> None:
        git = git_state()
        record = {
            "piece": piece,
            "fingerprint": {"format": FORMAT, **fingerprint},
            "arithmetic": self.arithmetic,
            "git_commit": git["git_commit"],
            "git_dirty": git["git_dirty"],
            "saved_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "outputs": outputs,
        }
        text = json.dumps(record, separators=(",", ":"), allow_nan=False)
        atomic_write_bytes(self.path(piece), (text + "\n").encode())
        self.log[piece] = {"loaded": False, "git_commit": git["git_commit"],
                           "arithmetic": self.arithmetic}  # fmt: skip

    def provenance(self) -> dict[str, Any]:
        """For the run's provenance: where the pieces are kept, which were loaded, and every
        commit and arithmetic they were made with."""
        arith = []
        for entry in self.log.values():
            if entry["arithmetic"] not in arith:
                arith.append(entry["arithmetic"])
        return {
            "kept_in": f"{PAIRS}/{self.run}",
            "loaded": sorted(p for p, e in self.log.items() if e["loaded"]),
            "trained": sorted(p for p, e in self.log.items() if not e["loaded"]),
            "git_commits": sorted({str(e["git_commit"]) for e in self.log.values()}),
            "arithmetic": arith,
        }

    def _tell(self, piece: str, line: str) -> None:
        if piece not in self._told:
            self._told.add(piece)
            self.say(line)


def work_through(
    pieces: list[str],
    fingerprint: Callable[[str], dict[str, Any]],
    compute: Callable[[str], dict[str, Any]],
    store: PairStore | None,
    done: Callable[[str], None] = lambda piece: None,
) -> dict[str, dict[str, Any]]:
    """Every piece's outputs (JSON-able): loaded when kept, else computed under the piece's lock
    and kept; pieces another process holds are waited for once nothing else is left (and
    computed here if that process stops without finishing them). Without a store, computed."""
    if store is None:
        out = {}
        for piece in pieces:
            out[piece] = compute(piece)
            done(piece)
        return out
    out = {}
    while len(out) < len(pieces):
        held = []
        for piece in (p for p in pieces if p not in out):
            fp = fingerprint(piece)
            kept = store.load(piece, fp)
            if kept is None:
                with ExitStack() as stack:
                    try:
                        stack.enter_context(exclusive(store.locks / f"{piece}.lock", piece))
                    except ConfigError:  # another process trains it
                        held.append(piece)
                        continue
                    kept = store.load(piece, fp)  # finished while this process looked
                    if kept is None:
                        kept = compute(piece)
                        store.save(piece, fp, kept)
            out[piece] = kept
            done(piece)
        if held:
            store.say(f"waiting for pair {held[0]}: another process is training it")
            with exclusive(store.locks / f"{held[0]}.lock", held[0], wait=True):
                pass
    return {p: out[p] for p in pieces}
