"""Published values are typed once (`report/published.py`) and reach every table, verdict and
notebook from there; Table 1 keeps its printed form in both Parzen chapters."""

from __future__ import annotations

import inspect
import json
import types

import pandas as pd

from replication.chapters import parzen_mnist
from replication.metrics.parzen import ParzenResult
from replication.report import parzen_figures, parzen_findings, published, table1, tfd_findings
from replication.runs.paths import project_root


def test_table1_values_are_the_papers():
    def values(rows):
        return [(r.model, r.published, r.published_se) for r in rows]

    assert values(published.TABLE1_MNIST) == [
        ("DBN", 138.0, 2.0),
        ("Stacked CAE", 121.0, 1.6),
        ("Deep GSN", 214.0, 1.1),
        ("Adversarial nets", 225.0, 2.0),
    ]
    assert values(published.TABLE1_TFD) == [
        ("DBN", 1909.0, 66.0),
        ("Stacked CAE", 2110.0, 50.0),
        ("Deep GSN", 1890.0, 29.0),
        ("Adversarial nets", 2057.0, 26.0),
    ]
    assert published.ADVERSARIAL_MNIST is published.TABLE1_MNIST[-1]
    assert published.ADVERSARIAL_TFD is published.TABLE1_TFD[-1]
    for r in (*published.TABLE1_MNIST, *published.TABLE1_TFD):
        assert r.source.startswith("Goodfellow et al. 2014, Table 1")
    frame = published.as_frame(published.TABLE1_TFD)
    assert list(frame.columns) == ["model", "published", "published_se", "source"]


def test_one_table1_prints_both_columns():
    ours = ParzenResult(0.17, [0.17], [205.0], 205.04, 2.0, 10000, 10000)
    refs = pd.DataFrame(
        {"model": ["k-means centres"], "ours": [330.0], "ours_se": [1.0], "note": ["k=10"]}
    )
    mnist = table1.table1(published.TABLE1_MNIST, table1.mnist_rows(ours, refs, "quick"))
    assert list(mnist.columns) == ["published", "ours", "difference", "source"]
    assert mnist.published.tolist()[:4] == ["138 ± 2", "121 ± 1.6", "214 ± 1.1", "225 ± 2"]
    assert mnist.loc["Adversarial nets, reproduced (quick)", "difference"] == "-20.0"
    assert mnist.loc["Reference: k-means centres", "source"] == "this run (k=10)"

    faces = types.SimpleNamespace(name="Olivetti faces", is_tfd=False)
    per_fold = pd.DataFrame({"test_ll": [100.0, 110.0]})
    tfd = table1.table1(
        published.TABLE1_TFD, table1.tfd_rows(per_fold, faces, "quick"), {"data": "TFD"}
    )
    assert list(tfd.columns) == [
        "data",
        "published",
        "ours",
        "comparable to the published rows",
        "source",
    ]
    assert tfd.data.tolist() == ["TFD"] * 4 + ["Olivetti faces"]
    assert tfd.loc["Adversarial nets", "published"] == "2057 ± 26"
    assert tfd.loc["Adversarial nets, this code (quick)", "ours"] == "105 ± 5"


def test_no_published_number_is_typed_outside_published_py():
    for mod in (parzen_mnist, parzen_findings, parzen_figures, table1):
        assert "225" not in inspect.getsource(mod), mod.__name__
    assert "2057" not in inspect.getsource(tfd_findings)
    nb = json.loads((project_root() / "book/chapters/parzen_mnist.ipynb").read_text())
    code = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "225" not in code and "ADVERSARIAL_MNIST.published" in code


def test_the_standin_note_quotes_the_published_tfd_value():
    faces = types.SimpleNamespace(
        is_tfd=False, name="Olivetti", images=pd.DataFrame(range(3)), source="/x/o.mat",
        file_md5="abc",
    )  # fmt: skip
    assert "cannot be compared with the published 2057 ± 26**" in tfd_findings.standin_note(faces)
