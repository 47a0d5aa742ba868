"""Sessions: reproduce, verify, notebook, book, tests, slow, slurm, lint, bench, data.

Every session runs in ONE project virtualenv, `.venv/`, created on first use: torch is a multi-GB
install, so it is installed once, not once per session. The venv is refreshed when
`pyproject.toml` changes (a stamp file records its hash).

    nox -s reproduce                      # every chapter (quick on CPU, paper on GPU), the book
    nox -s reproduce -- --profile paper   # the published budgets
    nox -s verify                         # the fresh runs against the committed seed ensembles
    nox -s notebook -- loss_saturation -p epochs 10   # one chapter, new parameters; the book
    nox -s tests                          # the test suite (nox -s slow: the long checks)
    nox -s slurm                          # seed sweeps through a real SLURM (root)
    nox -s browser                        # the built book in headless Chromium, screenshots
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import nox
from nox.command import CommandFailed

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
STAMP = VENV / ".gan-replication-installed"


def _chapter_names() -> list[str]:
    """The chapter registry, read without importing the package (torch may not be there yet)."""
    path = ROOT / "replication" / "chapters" / "registry.py"
    spec = importlib.util.spec_from_file_location("_chapter_registry", path)
    registry = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = registry  # dataclasses look their module up while it executes
    spec.loader.exec_module(registry)
    return registry.names()


CHAPTERS = _chapter_names()

nox.options.sessions = ["tests"]
nox.options.default_venv_backend = "none"


def _project_python(session: nox.Session) -> str:
    """Create or refresh .venv with the project and its pinned dependencies; return its python."""
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == want and PY.exists():
        return str(PY)
    if not PY.exists():
        session.log(f"creating the project venv {VENV} (once; torch is large)")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    session.run(str(PY), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]", external=True)
    STAMP.write_text(want)
    return str(PY)


def _profile(session: nox.Session, default: str = "auto") -> tuple[str, list[str]]:
    args = list(session.posargs)
    profile = default
    if "--profile" in args:
        i = args.index("--profile")
        if i + 1 >= len(args):
            session.error("--profile needs a value: quick, paper or auto")
        profile = args[i + 1]
        del args[i : i + 2]
    return profile, args


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """The default test run (about 10 minutes on 2 CPU cores)."""
    py = _project_python(session)
    session.run(py, "-m", "pytest", *session.posargs, external=True)


@nox.session(venv_backend="none")
def slow(session: nox.Session) -> None:
    """The checks too slow for every run (marked `slow`)."""
    py = _project_python(session)
    session.run(py, "-m", "pytest", "-m", "slow", *session.posargs, external=True)


@nox.session(venv_backend="none")
def slurm(session: nox.Session) -> None:
    """Sweeps through a real one-node SLURM cluster: `scripts/slurm_up.sh` (root; installs
    Debian's SLURM if missing), the `slurm` tests, then `scripts/slurm_down.sh`, always."""
    py = _project_python(session)
    state = os.environ.get("GAN_SLURM_DIR", "/tmp/gan-slurm")
    env = {"SLURM_CONF": f"{state}/slurm.conf", "GAN_SLURM_DIR": state}
    try:
        session.run("bash", str(ROOT / "scripts" / "slurm_up.sh"), env=env, external=True)
        tests = ["-m", "slurm", str(ROOT / "tests" / "test_slurm.py"), *session.posargs]
        session.run(py, "-m", "pytest", *tests, env=env, external=True)
    finally:
        session.run("bash", str(ROOT / "scripts" / "slurm_down.sh"), env=env, external=True)


@nox.session(venv_backend="none")
def browser(session: nox.Session) -> None:
    """The book built from the committed results, opened page by page in headless Chromium
    (tests/test_browser.py, marked `browser`); screenshots land in book/_build/screenshots/.
    Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them)."""
    py = _project_python(session)
    test = str(ROOT / "tests" / "test_browser.py")
    session.run(py, "-m", "pytest", "-m", "browser", test, *session.posargs, external=True)


@nox.session(venv_backend="none")
def lint(session: nox.Session) -> None:
    """ruff, and actionlint on the GitHub Actions workflows."""
    py = _project_python(session)
    session.run(py, "-m", "ruff", "check", ".", external=True)
    session.run(py, "-m", "ruff", "format", "--check", ".", external=True)
    session.run(str(VENV / "bin" / "actionlint"), external=True)


@nox.session(venv_backend="none")
def reproduce(session: nox.Session) -> None:
    """Execute every chapter notebook under a profile, then build the book from those runs."""
    py = _project_python(session)
    profile, rest = _profile(session)
    if rest:
        session.error(f"unexpected arguments {rest}; use `nox -s notebook` for parameters")
    failed = []
    for name in CHAPTERS:  # one chapter failing (e.g. its data missing) does not stop the rest
        try:
            session.run(
                py, "-m", "replication", "notebook", name, "--profile", profile, external=True
            )
        except CommandFailed:
            failed.append(name)
    book_profile = "auto" if profile == "auto" else profile
    session.run(py, "-m", "replication", "book", "--profile", book_profile, external=True)
    if failed:
        session.error(
            f"chapters that failed: {failed} (their last good results, if any, are kept and the "
            "book shows them; the error of each is printed above)"
        )
    session.log(
        f"next: `nox -s verify -- --profile {profile}` compares these runs with the committed "
        "seed ensembles, number by number"
    )


@nox.session(venv_backend="none")
def verify(session: nox.Session) -> None:
    """`nox -s verify [-- CHAPTER ... --profile P --run NAME]`: each chapter's fresh run against
    its profile's committed seed ensemble (results/<chapter>/<profile>-seeds/), number by
    number; fails when a number lies outside its band."""
    py = _project_python(session)
    profile, rest = _profile(session)
    session.run(py, "-m", "replication", "verify", *rest, "--profile", profile, external=True)


@nox.session(venv_backend="none")
def notebook(session: nox.Session) -> None:
    """`nox -s notebook -- NAME [--profile P] [-p KEY VALUE ...]`: one chapter, then the book."""
    py = _project_python(session)
    profile, rest = _profile(session)
    if not rest or rest[0] not in CHAPTERS:
        session.error(
            f"usage: nox -s notebook -- NAME [--profile P] [-p KEY VALUE]...; NAME in {CHAPTERS}"
        )
    session.run(py, "-m", "replication", "notebook", *rest, "--profile", profile, external=True)
    session.run(py, "-m", "replication", "book", external=True)


@nox.session(venv_backend="none")
def book(session: nox.Session) -> None:
    """Build the book from the executed notebooks already in results/ (no training)."""
    py = _project_python(session)
    profile, _ = _profile(session)
    session.run(py, "-m", "replication", "book", "--profile", profile, external=True)


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """Speed against simple reference versions, as ratios: our loop and Parzen estimator
    (`replication.bench`), the batched toy seeds (`bench_seeds`), the minibatch layer
    (`bench_minibatch`)."""
    py = _project_python(session)
    session.run(py, "-m", "replication.bench", *session.posargs, external=True)
    session.run(py, "-m", "replication.bench_seeds", external=True)
    session.run(py, "-m", "replication.bench_minibatch", external=True)


@nox.session(venv_backend="none")
def data(session: nox.Session) -> None:
    """Verify MNIST where it is looked for; `-- --download` fetches it first (needs internet)."""
    py = _project_python(session)
    env_dir = os.environ.get("MNIST_DIR")
    extra = ["--data-dir", env_dir] if env_dir else []
    session.run(py, "-m", "replication", "data", *extra, *session.posargs, external=True)
