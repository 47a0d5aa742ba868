"""Assemble and build the Jupyter Book from executed notebooks; the book never executes code.

The sources in `book/` are copied to `book/_build/src`, each chapter's source notebook is replaced
by the executed copy of the chosen profile (`results/<chapter>/<run>/<chapter>.ipynb`) arranged for
a reader (`reader.py`: the lead first, code folded, parameters and provenance at the end), the
intro page gets its results dashboard, a status page lists what ran where, every other run kept in
`results/` (custom parameters, the other profile) gets a page under *Other runs on record*, MathJax
is copied in from the installed `django-static-mathjax` package (so pages typeset offline), and
`jupyter-book build` renders it all to `book/_build/html`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from replication import chapters
from replication.publish import kept_pairs
from replication.publish.reader import reader_first
from replication.report import dashboard, lead
from replication.runs.paths import project_root

PROFILE_ORDER = {"auto": ("paper", "quick"), "paper": ("paper",), "quick": ("quick",)}


def executed_notebook(results_dir: Path, name: str, profile: str) -> Path | None:
    cls = chapters.config_class(name)
    paper_run = chapters.chapter(name).paper_run
    for run in PROFILE_ORDER[profile]:
        run = paper_run if run == "paper" else run
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


STATUS_COLUMNS = {
    "run": "run shown (chapter/run)",
    "device": "device",
    "git_commit": "commit",
    "started": "started (UTC)",
    "wall": "wall time",
    "training": "training time",
}
OTHER_COLUMNS = {
    "run": "run",
    "profile": "profile",  # a --run-name hides it from the path
    "overrides": "parameters off the profile",
    **{k: v for k, v in STATUS_COLUMNS.items() if k != "run"},
}


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def _table(title: str, intro: str, rows: list[dict], columns: dict[str, str]) -> str:
    lines = [f"# {title}", "", intro, "", "| " + " | ".join(columns.values()) + " |"]
    lines.append("|" + "---|" * len(columns))
    for r in rows:
        lines.append("| " + " | ".join(str(r.get(k, "")) for k in columns) + " |")
    return "\n".join(lines) + "\n"


def _status_page(rows: list[dict]) -> str:
    return _table(
        "Run status",
        "What each chapter of this build shows: which run, under which profile, where it ran and "
        "how long it took. Every number in the book comes from these runs; their full provenance "
        "(configuration, library versions) is in `provenance.json` beside each run's results. "
        "*Wall time* is the last execution of the notebook; a run that resumed trained models "
        "from checkpoints took longer in all, and *training time* sums the training of every "
        "model it shows, over all sessions (– where the run did not record it). Other runs kept "
        "in `results/` (custom parameters, the other profile) have pages of their own under "
        "*Other runs on record*.",
        rows,
        STATUS_COLUMNS,
    )


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
    rows, others = [], []
    for name in chapters.names():
        target = src / "chapters" / f"{name}.ipynb"
        if not target.exists():
            continue
        nb = executed_notebook(results_dir, name, profile)
        others += [(name, p) for p in other_runs(results_dir, name, nb)]
        if nb is None:
            target.unlink()
            (src / "chapters" / f"{name}.md").write_text(_placeholder(name, profile))
            rows.append({"run": f"{name}: not run"})
            continue
        target.write_text(json.dumps(_reader_page(name, nb, results_dir, src)))
        row = _run_row(nb, results_dir)
        rows.append({**row, "run": f"[{row['run']}](chapters/{name})"})
    building = kept_pairs.section(results_dir)
    (src / "status.md").write_text(_status_page(rows) + ("\n" + building if building else ""))
    intro = src / "intro.md"
    intro.write_text(dashboard.intro_page(intro.read_text(), results_dir))
    if others:
        _stage_other_runs(src, others, results_dir)
    stage_mathjax(src / "_static" / "mathjax")
    return src


LEAD_FIGURES = "_lead"  # folder beside the chapter pages for the leads' key figures


def _reader_page(name: str, nb_path: Path, results_dir: Path, src: Path) -> dict:
    """The executed notebook as its page shows it: lead first, code folded, provenance last."""
    spec = lead.LEADS.get(name)
    figure = nb_path.parent / "figures" / spec.figure if spec else None
    figure_src = None
    if figure is not None and figure.is_file():
        dest = src / "chapters" / LEAD_FIGURES / f"{name}{figure.suffix}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(figure, dest)
        figure_src = f"{LEAD_FIGURES}/{dest.name}"
    text = lead.lead_markdown(name, nb_path.parent, results_dir, figure_src)
    return reader_first(json.loads(nb_path.read_text()), text)


# MathJax 3's combined TeX component and the fonts it loads; nothing else is fetched at run time
MATHJAX_FILES = ("tex-mml-chtml.js", "output/chtml/fonts/woff-v2")
MATHJAX_SCRIPT = "mathjax/tex-mml-chtml.js"  # relative to _static: `mathjax_path` in _config.yml


def mathjax_dir() -> Path:
    """MathJax's `es5` folder inside the installed `django-static-mathjax` package."""
    try:
        import mathjax
    except ImportError as err:
        raise RuntimeError(
            "the book typesets its mathematics with a local MathJax copy from the "
            "`django-static-mathjax` package; install the project (`pip install -e .`) first"
        ) from err
    es5 = Path(next(iter(mathjax.__path__))) / "static" / "mathjax" / "es5"
    if not (es5 / MATHJAX_FILES[0]).is_file():
        raise RuntimeError(f"no {MATHJAX_FILES[0]} under {es5}: reinstall django-static-mathjax")
    return es5


def stage_mathjax(dest: Path) -> None:
    es5 = mathjax_dir()
    for rel in MATHJAX_FILES:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        if (es5 / rel).is_dir():
            shutil.copytree(es5 / rel, dest / rel, dirs_exist_ok=True)
        else:
            shutil.copy(es5 / rel, dest / rel)


def other_runs(results_dir: Path, name: str, shown: Path | None) -> list[Path]:
    """Executed notebooks of a chapter's runs other than the one its page shows: custom
    parameters (`<profile>-custom`, a `--run-name`) and the other profile."""
    chapter_dir = results_dir / chapters.config_class(name).CHAPTER
    found = sorted(chapter_dir.glob(f"*/{name}.ipynb"))
    return [p for p in found if not p.parent.name.startswith((".", "_")) and p != shown]


def _run_row(nb: Path, results_dir: Path) -> dict[str, str]:
    prov_path = nb.parent / "provenance.json"
    prov = json.loads(prov_path.read_text()) if prov_path.exists() else {}
    commit = prov.get("git_commit", "?")
    return {
        "run": f"`{nb.parent.relative_to(results_dir)}`",
        "profile": prov.get("profile", "?"),
        "overrides": ", ".join(
            f"{k} = {v}" for k, v in (prov.get("overrides_off_profile") or {}).items()
        )
        or "none",
        "device": prov.get("device", "?"),
        "git_commit": f"`{commit[:7]}`" + (" (dirty)" if prov.get("git_dirty") else ""),
        "started": prov.get("started_utc", "?")[:16].replace("T", " "),
        "wall": _duration(prov.get("wall_time_s", 0)),
        "training": _duration(prov["training_time_s"]) if "training_time_s" in prov else "–",
    }


def _as_other_run(nb: dict, title: str, row: dict[str, str]) -> dict:
    """The executed notebook of another run, headed by what it is; its own headings go one
    level down so the page has one title."""
    fence = False
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        lines = "".join(cell["source"]).splitlines(keepends=True)
        for i, line in enumerate(lines):
            if line.lstrip().startswith("```"):
                fence = not fence
            elif not fence and line.startswith("#"):
                lines[i] = "#" + line
        cell["source"] = "".join(lines)
    head = (
        f"# {title}\n\nThis page is the run {row['run']} ({row['profile']} profile; parameters "
        f"off the profile: {row['overrides']}), not the run the chapter's own page shows. It ran "
        f"on {row['device']} at commit {row['git_commit']}; its provenance is at the end.\n"
    )
    nb["cells"].insert(0, {"cell_type": "markdown", "metadata": {}, "source": head})
    return nb


def _stage_other_runs(src: Path, others: list[tuple[str, Path]], results_dir: Path) -> None:
    """A page per other run, an index of them, and their entries in the staged TOC."""
    (src / "runs").mkdir(exist_ok=True)
    rows, toc = [], ["  - file: runs/index", "    sections:"]
    for name, nb_path in others:
        stem = f"{name}--{nb_path.parent.name}"
        row = _run_row(nb_path, results_dir)
        nb = json.loads(nb_path.read_text())
        title = f"{name}: run `{nb_path.parent.name}`"
        page = reader_first(_as_other_run(nb, title, row))
        (src / "runs" / f"{stem}.ipynb").write_text(json.dumps(page))
        rows.append({**row, "run": f"[{row['run']}]({stem})"})
        toc.append(f"      - file: runs/{stem}")
    (src / "runs" / "index.md").write_text(
        _table(
            "Other runs on record",
            "Runs kept in `results/` besides the ones the chapters show: runs with parameters "
            "off their profile (a `<profile>-custom` run, or one given its own `--run-name`) and "
            "runs of the other profile. Each page is that run's executed notebook, as it ran.",
            rows,
            OTHER_COLUMNS,
        )
    )
    with open(src / "_toc.yml", "a") as f:
        f.write("\n".join(toc) + "\n")


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
