"""No absolute machine path in what the project publishes: the committed results and the book built
from them (paths are relative to the project, or the environment variable that supplied them)."""

from __future__ import annotations

import json

import pytest

from replication.publish import book, scan
from replication.runs.paths import project_root

ROOT = project_root()


@pytest.mark.parametrize(
    "text",
    [
        'results_dir = "/tmp/ciclone/main/results"',
        "data: /home/alice/data/mnist/train-images-idx3-ubyte",
        "input_path: /Users/bob/gan/book/chapters/x.ipynb",
        r"C:\Users\carol\gan\results",
        "log at /work/main/.venv/lib/python3.11/site-packages/x.py:3",
    ],
)
def test_scanner_finds_machine_paths(text):
    assert scan.machine_paths(text)


@pytest.mark.parametrize(
    "text",
    [
        'data_dir = "$MNIST_DIR"',
        "results -> results/parzen_mnist/quick",
        "https://github.com/goodfeli/adversarial/tree/master/home/x",
        "put it in `data/faces/` or set $FACES_DIR",
        "book/chapters/parzen_tfd.ipynb",
    ],
)
def test_scanner_lets_relative_paths_and_variables_through(text):
    assert not scan.machine_paths(text)


def test_pictures_in_notebooks_are_not_read_as_text(tmp_path):
    nb = {"cells": [{"outputs": [{"data": {"image/png": "AAAA/home/xyz/AAAA"}}]}]}
    (tmp_path / "n.ipynb").write_text(json.dumps(nb))
    assert scan.scan_files([tmp_path / "n.ipynb"]) == {}


def test_committed_results_name_no_machine_folder():
    hits = scan.scan_files(scan.committed_files(ROOT, "results"))
    assert not hits, json.dumps(hits, indent=1)


def test_the_built_book_names_no_machine_folder(tmp_path):
    """The strict build of the committed results (the same as `nox -s book` and the workflow),
    every file of the site scanned: pages, the notebooks it offers for download, search index."""
    html = book.build("auto", results_dir=ROOT / "results", strict=True, out=tmp_path, quiet=True)
    files = [p for p in html.rglob("*") if "_static" not in p.parts]
    files.append(html / "searchindex.js")
    hits = scan.scan_files(files)
    assert not hits, json.dumps(hits, indent=1)
