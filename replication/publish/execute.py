"""Execute chapter notebooks with Papermill; the executed copy lands beside the run's results.

The executed notebook is written to a temporary file and moved into
`results/<chapter>/<run_name>/<chapter>.ipynb` only when every cell succeeded; a failed run leaves
`results/<chapter>/<run_name>.failed.ipynb` to read and the last good run untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from replication import chapters
from replication.config import ConfigError
from replication.publish.notebook_cell import RUN_PARAMETERS
from replication.runs.paths import project_root
from replication.runs.store import run_name_for


def source_notebook(name: str) -> Path:
    return project_root() / "book" / "chapters" / f"{name}.ipynb"


def parse_value(text: str) -> Any:
    """Papermill's `-p` typing: True/False/None, int, float, else the string."""
    if text in ("True", "False"):
        return text == "True"
    if text == "None":
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _as_seen_from_project(path: Path) -> str:
    """`path` relative to the project root (the kernel's working directory) when it lies inside
    it: the executed notebook, which is committed, then names no folder of this machine."""
    here, root = path.resolve(), project_root().resolve()
    return str(here.relative_to(root)) if here.is_relative_to(root) else str(here)


def relative_papermill_paths(nb_path: Path) -> None:
    """Papermill records where it read and wrote the notebook; keep those project-relative so
    the committed notebook names no folder of the machine that ran it."""
    nb = json.loads(nb_path.read_text())
    meta = nb.get("metadata", {}).get("papermill", {})
    for key, value in (("input_path", None), ("output_path", nb_path)):
        if key in meta and meta[key]:
            meta[key] = _as_seen_from_project(Path(value or meta[key]))
    nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def execute(
    name: str,
    profile: str = "auto",
    parameters: dict[str, Any] | None = None,
    results_dir: str | Path | None = None,
    run_name: str | None = None,
    progress: bool = True,
) -> Path:
    """Run one chapter notebook; return the path of the executed copy."""
    import papermill

    parameters = dict(parameters or {})
    cls = chapters.config_class(name)
    bad = sorted(set(parameters) - set(cls.field_names()))
    if bad:
        raise ConfigError(f"unknown parameter(s) {bad} for {name}; allowed: {cls.field_names()}")
    cfg = cls.for_profile(profile, **parameters)  # validate before starting a kernel
    run = run_name_for(cfg, run_name)
    root = Path(results_dir) if results_dir else project_root() / "results"
    params = {
        **parameters,
        "profile": cfg.profile,
        "results_dir": _as_seen_from_project(root),
        "run_name": run,
    }
    assert set(params) - set(cls.field_names()) <= set(RUN_PARAMETERS)
    chapter_dir = root / cls.CHAPTER
    chapter_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=chapter_dir, prefix=f".{run}.", suffix=".ipynb")
    os.close(fd)
    try:
        papermill.execute_notebook(
            str(source_notebook(name)),
            tmp,
            parameters=params,
            cwd=str(project_root()),
            kernel_name="python3",
            progress_bar=progress,
            log_output=False,
        )
    except BaseException:
        shutil.move(tmp, chapter_dir / f"{run}.failed.ipynb")
        for staging in chapter_dir.glob(f".{run}.staging-*"):
            shutil.rmtree(staging, ignore_errors=True)
        raise
    final = chapter_dir / run
    if not final.is_dir():
        Path(tmp).unlink(missing_ok=True)
        raise RuntimeError(f"{name} ran but committed no results to {final}")
    out = final / f"{name}.ipynb"
    os.replace(tmp, out)
    relative_papermill_paths(out)
    (chapter_dir / f"{run}.failed.ipynb").unlink(missing_ok=True)
    return out
