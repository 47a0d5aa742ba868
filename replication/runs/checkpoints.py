"""Checkpoints shared between runs: a run may start from another run's checkpoints (to train past
that run's budget under its own name) without ever writing into that run's folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch

from replication.config import ConfigError


def start_from_run(ckpt_dir: Path, source_run: str) -> None:
    """Copy another run's checkpoints into this run's empty checkpoint folder, so that training
    continues from there; once this run has its own `last.pt` it resumes from that instead."""
    source = ckpt_dir.parent / source_run
    if source.resolve() == ckpt_dir.resolve():
        raise ConfigError(
            f"continue_from={source_run!r} names this run itself; give the run "
            "that continues it another name (--run-name)"
        )
    if (ckpt_dir / "last.pt").exists():
        return
    if not (source / "last.pt").is_file():
        raise ConfigError(
            f"continue_from={source_run!r}: no checkpoint at {source / 'last.pt'}; train that run "
            "first (its checkpoints are kept on the machine that trained it, not in git)"
        )
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    tmp = {name: ckpt_dir / f".{name}.tmp" for name in ("last.pt", "best.pt")}
    try:
        for name, path in tmp.items():
            if (source / name).is_file():
                shutil.copyfile(source / name, path)
        last = torch.load(tmp["last.pt"], map_location="cpu", weights_only=False)
        want = (last.get("best") or {}).get("epoch")
        if want is not None and tmp["best.pt"].exists():
            best = torch.load(tmp["best.pt"], map_location="cpu", weights_only=False)
            if int(best["epoch"]) != int(want):
                raise ConfigError(
                    f"continue_from={source_run!r}: its best.pt (epoch {best['epoch']}) and "
                    f"last.pt (best epoch {want}) disagree: that run is still training (try "
                    "again once it has stopped) or was stopped between the two saves (resume it "
                    "for an epoch first)"
                )
        if tmp["best.pt"].exists():
            os.replace(tmp["best.pt"], ckpt_dir / "best.pt")
        os.replace(tmp["last.pt"], ckpt_dir / "last.pt")  # last: it marks a complete copy
    finally:
        for path in tmp.values():
            path.unlink(missing_ok=True)
