"""Find absolute machine paths in what the project publishes (committed results, the built book).

A committed result or a page that names a folder of the machine that made it (`/home/alice/…`,
`/tmp/ci/main/results`) tells the reader nothing and leaks where it ran: results record paths
relative to the project, or the environment variable that supplied them (`$MNIST_DIR`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

# the usual roots of user, scratch and CI folders on Linux, macOS and Windows
PATH_PATTERN = re.compile(
    r"(?<![\w.$~/-])(?:/(?:home|Users|root|tmp|work|mnt|scratch|private/var|var/folders)/"
    r"[^\s\"'<>`)\]]*|[A-Za-z]:\\(?:Users|home)\\[^\s\"'<>`]*)"
)
# outputs that are pictures, not text: base64 can spell anything
BINARY_MIME = ("image/", "application/pdf")
TEXT_SUFFIXES = {".json", ".csv", ".ipynb", ".md", ".txt", ".yml", ".yaml", ".html", ".js", ".tex"}


def _local_roots() -> list[str]:
    """This machine's own folders (the home directory, the data folders), if set."""
    roots = [str(Path.home())]
    roots += [os.environ[v] for v in ("MNIST_DIR", "FACES_DIR", "TFD_PATH") if os.environ.get(v)]
    return [r.rstrip("/") for r in roots if len(r) > 1]


def machine_paths(text: str) -> list[str]:
    """Every absolute machine path in `text` (empty when there is none)."""
    found = PATH_PATTERN.findall(text)
    found += [r for r in _local_roots() if r + "/" in text or text.endswith(r)]
    return sorted(set(found))


def _strings(obj: object, key: str = "") -> Iterator[str]:
    """The strings of a parsed JSON document, leaving out picture payloads."""
    if isinstance(obj, str):
        if not key.startswith(BINARY_MIME):
            yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from _strings(v, k)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v, key)


def file_text(path: Path) -> str:
    """What a reader could see in the file: JSON and notebooks without their embedded images."""
    raw = path.read_text(errors="replace")
    if path.suffix in (".json", ".ipynb"):
        try:
            return "\n".join(_strings(json.loads(raw)))
        except ValueError:
            return raw
    return raw


def scan_files(paths: list[Path]) -> dict[str, list[str]]:
    """`{file: [paths found]}` over the text files among `paths`."""
    hits = {}
    for p in paths:
        if p.suffix in TEXT_SUFFIXES and p.is_file():
            found = machine_paths(file_text(p))
            if found:
                hits[str(p)] = found
    return hits


def committed_files(root: Path, under: str) -> list[Path]:
    """The files git tracks under `root/under` (what a clone has); every file there without
    git."""
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--", under],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return [root / f for f in out.split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        return [p for p in (root / under).rglob("*") if p.is_file()]
