"""Assemble and build the Jupyter Book from executed notebooks; the book never executes code.

The sources in `book/` are copied to `book/_build/src`, each chapter's source notebook is replaced
by the executed copy of the chosen profile (`results/<chapter>/<run>/<chapter>.ipynb`), a status
page lists what ran where, and `jupyter-book build` renders it to `book/_build/html`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from . import chapters
from .paths import project_root

PROFILE_ORDER = {"auto": ("paper", "quick"), "paper": ("paper",), "quick": ("quick",)}


def executed_notebook(results_dir: Path, name: str, profile: str) -> Path | None:
    cls = chapters.config_class(name)
    for run in PROFILE_ORDER[profile]:
        p = results_dir / cls.CHAPTER / run / f"{name}.ipynb"
        if p.is_file():
            return p
    return None


def _placeholder(name: str, profile: str) -> str:
    return (
        f"# {name.replace('_', ' ').capitalize()}\n\n"
        "```{warning}\n"
        f"This chapter has no executed notebook for profile `{profile}` yet: nothing to "
        f"show. Run it with `nox -s notebook -- {name} --profile {profile}` and rebuild the book.\n"
        "```\n"
    )


def _status_page(rows: list[dict]) -> str:
    lines = [
        "# Run status",
        "",
        "What each chapter of this build shows: which run, under which profile, where it ran and "
        "how long it took. Every number in the book comes from these runs; their full provenance "
        "(configuration, library versions) is in `provenance.json` beside each run's results. "
        "*Wall time* is the last execution of the notebook; a run that resumed trained models "
        "from checkpoints took longer in all, and *training time* sums the training of every "
        "model it shows, over all sessions (– where the run did not record it).",
        "",
        "| chapter | run shown | profile | device | git commit | started (UTC) | wall time "
        "| training time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            "| "
            + " | ".join(
                str(r.get(k, ""))
                for k in (
                    "chapter",
                    "run",
                    "profile",
                    "device",
                    "git_commit",
                    "started",
                    "wall",
                    "training",
                )
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def stage(profile: str = "auto", results_dir: Path | None = None, dest: Path | None = None) -> Path:
    if profile not in PROFILE_ORDER:
        raise ValueError(f"profile must be one of {list(PROFILE_ORDER)}, got {profile!r}")
    root = project_root()
    results_dir = Path(results_dir) if results_dir else root / "results"
    src = Path(dest) if dest else root / "book" / "_build" / "src"
    shutil.rmtree(src, ignore_errors=True)
    shutil.copytree(
        root / "book", src, ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints")
    )
    rows = []
    for name in chapters.names():
        target = src / "chapters" / f"{name}.ipynb"
        if not target.exists():
            continue
        nb = executed_notebook(results_dir, name, profile)
        if nb is None:
            target.unlink()
            (src / "chapters" / f"{name}.md").write_text(_placeholder(name, profile))
            rows.append({"chapter": name, "run": "not run"})
            continue
        shutil.copy(nb, target)
        prov_path = nb.parent / "provenance.json"
        prov = json.loads(prov_path.read_text()) if prov_path.exists() else {}
        commit = prov.get("git_commit", "?")
        rows.append(
            {
                "chapter": f"[{name}](chapters/{name})",
                "run": f"`{nb.parent.relative_to(results_dir)}`",
                "profile": prov.get("profile", "?"),
                "device": prov.get("device", "?"),
                "git_commit": f"`{commit[:10]}`" + (" (dirty)" if prov.get("git_dirty") else ""),
                "started": prov.get("started_utc", "?"),
                "wall": f"{prov.get('wall_time_s', 0):.0f} s",
                "training": (
                    f"{prov['training_time_s']:.0f} s" if "training_time_s" in prov else "–"
                ),
            }
        )
    (src / "status.md").write_text(_status_page(rows))
    return src


def build(
    profile: str = "auto",
    results_dir: Path | None = None,
    strict: bool = True,
    out: Path | None = None,
    quiet: bool = False,
) -> Path:
    """Stage and build; the HTML lands in `<out>/_build/html` (default: book/_build/html)."""
    out = Path(out) if out else project_root() / "book"
    src = stage(profile, results_dir, out / "_build" / "src")
    cmd = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(src),
        "--path-output",
        str(out),
    ]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    subprocess.run(cmd, check=True, capture_output=quiet)
    return out / "_build" / "html"
