"""Run folders under `results/`: provenance, atomic writes, and the chapter's `summary.json`.

A run writes into a hidden staging folder and only `commit()` swaps it into place, so a run that
fails or is killed half-way leaves the last good result untouched. Profiles live side by side
(`results/<chapter>/<run_name>/`) so a quick laptop run never replaces a paper result.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from replication.config import ExperimentConfig
from replication.runs import determinism
from replication.runs.paths import project_root

PROFILE_RANK = {"paper": 2, "quick": 1}


def git_state(cwd: Path | None = None) -> dict[str, Any]:
    """The commit the code ran at and whether the tree had uncommitted changes."""
    cwd = cwd or project_root()

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.rstrip()  # not strip(): porcelain lines start with a status column

    commit = (git("rev-parse", "HEAD") or "").strip()
    # results/ holds outputs (earlier runs' files), not inputs to this run: not "dirty"
    status = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results")
    return {
        "git_commit": commit or "unknown",
        "git_dirty": bool(status) if status is not None else None,
        # which tracked files differed from the commit: a reader can tell a doc edit from code
        "git_dirty_files": [line[3:] for line in status.splitlines()] if status else [],
    }


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def library_versions() -> dict[str, str]:
    import numpy
    import scipy
    import torchvision

    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "cuda": str(torch.version.cuda),
        "torchvision": torchvision.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
    }


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _clean(obj: Any) -> Any:
    """JSON has no NaN/inf: write them as null rather than producing invalid JSON."""
    if isinstance(obj, torch.Tensor) or (hasattr(obj, "item") and hasattr(obj, "dtype")):
        obj = obj.tolist() if getattr(obj, "ndim", 0) else obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    text = json.dumps(_clean(obj), indent=2, sort_keys=False, default=_json_default)
    atomic_write_bytes(path, (text + "\n").encode())


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write to; it replaces `path` only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def checkpoint_dir(results_dir: str | Path | None, chapter: str, run_name: str) -> Path:
    """Checkpoints outlive failed runs, so they sit beside run folders, never in staging."""
    root = Path(results_dir) if results_dir else project_root() / "results"
    return root / chapter / "_checkpoints" / run_name


def run_name_for(cfg: ExperimentConfig, run_name: str | None = None) -> str:
    """A run with parameters off its profile is stored as `<profile>-custom` unless named."""
    if run_name:
        return run_name
    return cfg.profile + ("-custom" if cfg.differs_from_profile() else "")


class RunStore:
    """One run's output folder, staged until `commit()`."""

    def __init__(
        self,
        cfg: ExperimentConfig,
        *,
        results_dir: str | Path | None = None,
        run_name: str | None = None,
    ) -> None:
        determinism.apply()  # before any compute of the run (`--deterministic`)
        self.cfg = cfg
        self.chapter = cfg.CHAPTER
        self.root = Path(results_dir) if results_dir else project_root() / "results"
        self.run_name = run_name_for(cfg, run_name)
        self.chapter_dir = self.root / self.chapter
        self.final_dir = self.chapter_dir / self.run_name
        self.chapter_dir.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(dir=self.chapter_dir, prefix=f".{self.run_name}.staging-"))
        self.started = datetime.now(UTC)
        self._t0 = time.perf_counter()
        self.device = None  # set by the chapter once it resolves the device
        self.extra_provenance: dict[str, Any] = {}
        self.training: dict[str, dict[str, Any]] = {}
        self.committed = False

    @property
    def checkpoint_dir(self) -> Path:
        return checkpoint_dir(self.root, self.chapter, self.run_name)

    # -- writers (all into staging) -------------------------------------------------------
    def path(self, name: str) -> Path:
        p = self.dir / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write_json(self, name: str, obj: Any) -> Path:
        p = self.path(name)
        atomic_write_json(p, obj)
        return p

    def write_csv(self, name: str, df: pd.DataFrame) -> Path:
        """`name.csv`, or gzipped as `name.csv.gz` (dense curves; mtime 0, so the same data gives
        the same bytes)."""
        p = self.path(name)
        gz = {"method": "gzip", "mtime": 0} if name.endswith(".gz") else None
        with atomic_path(p) as tmp:
            df.to_csv(tmp, index=False, compression=gz)
        return p

    def save_figure(
        self, name: str, fig: Any, formats: tuple[str, ...] = ("png", "svg")
    ) -> list[Path]:
        """PNG for the book and quick looks, SVG for print; both from the same figure. A figure
        of dense curves may ask for PNG alone (its SVG runs to megabytes)."""
        out = []
        for ext in formats:
            p = self.path(f"figures/{name}.{ext}")
            with atomic_path(p) as tmp:
                fig.savefig(tmp, format=ext, dpi=120, bbox_inches="tight")
            out.append(p)
        return out

    # -- provenance --------------------------------------------------------------------------
    def record_training(self, name: str, gan: Any) -> None:
        """Put a trained model's epochs and training seconds on record, earlier sessions
        included: a resumed run's wall time covers only its last session (an evaluation of a
        run trained for hours can take minutes)."""
        self.training[name] = {
            "epochs": gan.epoch,
            "resumed_from_epoch": gan.resumed_from_epoch,
            "training_time_s": round(sum(r.get("epoch_time_s", 0.0) for r in gan.history), 1),
        }

    def provenance(self) -> dict[str, Any]:
        dev = self.device or torch.device("cpu")
        return {
            "chapter": self.chapter,
            "run_name": self.run_name,
            "profile": self.cfg.profile,
            "seed": self.cfg.seed,
            "config": self.cfg.as_dict(),
            "overrides_off_profile": self.cfg.differs_from_profile(),
            **git_state(),
            "device": device_name(dev),
            "device_type": dev.type,
            # CPU results repeat exactly only at the same thread count (summation order)
            "torch_threads": torch.get_num_threads(),
            **determinism.record(),
            "versions": library_versions(),
            "host": platform.node(),
            "started_utc": self.started.isoformat(timespec="seconds"),
            "wall_time_s": round(time.perf_counter() - self._t0, 2),
            **self._training_record(),
            **self.extra_provenance,
        }

    def _training_record(self) -> dict[str, Any]:
        if not self.training:
            return {}
        total = sum(t["training_time_s"] for t in self.training.values())
        return {"training_time_s": round(total, 1), "training": self.training}

    def write_summary(self, metrics: dict[str, Any]) -> dict[str, Any]:
        prov = self.provenance()
        summary = {
            **metrics,
            "profile": prov["profile"],
            "run_name": self.run_name,
            "device": prov["device"],
            "git_commit": prov["git_commit"],
            "git_dirty": prov["git_dirty"],
            "seed": prov["seed"],
            "wall_time_s": prov["wall_time_s"],
            "started_utc": prov["started_utc"],
        }
        self.write_json("summary.json", summary)
        return summary

    def commit(self) -> Path:
        """Swap the staged folder into place; update the chapter's headline summary."""
        self.write_json("provenance.json", self.provenance())
        backup = None
        parked = self.final_dir / "weights" / "parked"  # a stopped run's state (runs/parked.py)
        if parked.is_dir() and not (self.dir / "weights" / "parked").exists():
            (self.dir / "weights").mkdir(parents=True, exist_ok=True)
            shutil.copytree(parked, self.dir / "weights" / "parked")
        if self.final_dir.exists():
            backup = self.chapter_dir / f".{self.run_name}.old-{os.getpid()}"
            os.replace(self.final_dir, backup)
        os.replace(self.dir, self.final_dir)
        if backup is not None:
            # the earlier run goes whole; notebooks.execute moves the new executed notebook in
            shutil.rmtree(backup, ignore_errors=True)
        self.committed = True
        self.dir = self.final_dir
        self._update_headline()
        return self.final_dir

    def _update_headline(self) -> None:
        """`results/<chapter>/summary.json` shows the best-ranked profile run: paper over quick.

        Custom runs never become the headline; a quick run never replaces a paper one.
        """
        summary_path = self.final_dir / "summary.json"
        custom = self.run_name != self.cfg.profile or self.cfg.differs_from_profile()
        if not summary_path.exists() or custom:
            return
        headline = self.chapter_dir / "summary.json"
        if headline.exists():
            current = json.loads(headline.read_text())
            if PROFILE_RANK.get(current.get("profile"), 0) > PROFILE_RANK[self.cfg.profile]:
                return
        atomic_write_bytes(headline, summary_path.read_bytes())

    def discard(self) -> None:
        if not self.committed:
            shutil.rmtree(self.dir, ignore_errors=True)


def load_run(results_dir: Path, chapter: str, run_name: str) -> dict[str, Any]:
    d = Path(results_dir) / chapter / run_name
    return {
        "summary": json.loads((d / "summary.json").read_text()),
        "provenance": json.loads((d / "provenance.json").read_text()),
        "dir": d,
    }


def provenance_table(prov: dict[str, Any]) -> pd.DataFrame:
    """The provenance as a two-column table for a book page."""
    v = prov.get("versions", {})
    rows = [
        ("run", f"{prov['chapter']}/{prov['run_name']}"),
        ("profile", prov["profile"]),
        ("seed", prov["seed"]),
        (
            "parameters off the profile",
            json.dumps(prov.get("overrides_off_profile"))
            if prov.get("overrides_off_profile")
            else "none",
        ),
        (
            "git commit",
            f"{prov['git_commit']}" + (" (uncommitted changes)" if prov.get("git_dirty") else ""),
        ),
        ("device", prov["device"]),
        ("torch / CUDA", f"{v.get('torch')} / {v.get('cuda')}"),
        ("python / torchvision", f"{v.get('python')} / {v.get('torchvision')}"),
        ("started (UTC)", prov["started_utc"]),
        ("wall time", f"{prov['wall_time_s']:.0f} s"),
    ]
    return pd.DataFrame(rows, columns=["provenance", "value"]).set_index("provenance")
