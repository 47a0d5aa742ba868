"""Where the project lives, so notebooks run from any folder write to the same `results/`."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The checkout holding `pyproject.toml` of gan-replication.

    Looked for from the working directory upwards (Papermill runs a notebook in its own folder),
    then beside the package; `GAN_REPLICATION_ROOT` wins when set.
    """
    env = os.environ.get("GAN_REPLICATION_ROOT")
    if env:
        return Path(env).resolve()
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for d in (start, *start.parents):
            p = d / "pyproject.toml"
            if p.is_file() and 'name = "gan-replication"' in p.read_text():
                return d
    return Path.cwd()
