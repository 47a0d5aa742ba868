"""The reader-first book: notebooks arranged at staging (lead first, code folded, provenance last),
the intro's dashboard generated from the summaries, MathJax from a local copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from replication.chapters.registry import CHAPTERS, names
from replication.publish import book, sphinx_assets
from replication.publish.reader import END_HEADING, reader_first
from replication.report import dashboard, lead, results_table
from replication.runs.paths import project_root

ROOT = project_root()
RESULTS = ROOT / "results"


def _code(src: str, tags: list[str] | None = None, outputs: list | None = None) -> dict:
    return {
        "cell_type": "code",
        "metadata": {"tags": list(tags or [])},
        "source": src,
        "outputs": outputs or [],
        "execution_count": None,
    }


def _notebook(minor: int = 5) -> dict:
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": "# Title\n\nIntro text."},
        _code("import x"),
        _code("a = None", ["parameters"]),
        _code('# Parameters\ndata_dir = "$MNIST_DIR"', ["injected-parameters"]),
        _code("cfg, store = notebook.start(Cfg, globals(), before)"),
        {"cell_type": "markdown", "metadata": {}, "source": "## Section"},
        _code("fig = plot()"),
        _code("summary = store.write_summary({})\ndisplay(prov)"),
    ]
    if minor >= 5:
        for i, c in enumerate(cells):
            c["id"] = f"c{i}"
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": minor}


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def test_reader_first_puts_the_lead_first_and_folds_code_and_provenance():
    nb = _notebook()
    out = reader_first(nb, "LEAD")
    cells = out["cells"]
    assert cells[0]["source"] == "# Title\n" and cells[1]["source"] == "LEAD"
    assert cells[2]["source"] == "Intro text."
    injected = next(c for c in cells if "injected-parameters" in _tags(c))
    assert "remove-cell" in _tags(injected)
    assert all(
        "hide-input" in _tags(c) for c in cells if c["cell_type"] == "code" and c is not injected
    )
    # the summary and provenance stay at the end of the body, folded; below them a heading, then
    # the parameters cell and the start cell, folded, each toggle saying what it folds
    i = next(k for k, c in enumerate(cells) if str(c["source"]).startswith(END_HEADING))
    assert cells[i - 1]["source"].startswith("summary = store.write_summary")
    tail = cells[i + 1 :]
    assert [c["source"].split("\n")[0] for c in tail] == [
        "a = None",
        "cfg, store = notebook.start(Cfg, globals(), before)",
    ]
    for c in [cells[i - 1], *tail]:
        assert {"hide-input", "hide-output"} <= set(_tags(c))
        assert c["metadata"]["mystnb"]["code_prompt_show"].startswith("Show {type}: ")
    assert "## Section" in [c["source"] for c in cells[:i]]
    ids = [c["id"] for c in cells]
    assert len(set(ids)) == len(ids) and all(0 < len(x) <= 64 for x in ids)
    assert nb["cells"][0]["source"] == "# Title\n\nIntro text."  # the input is not touched


def test_reader_first_keeps_old_notebooks_without_ids_and_pages_without_a_title():
    out = reader_first(_notebook(minor=4), "LEAD")
    assert all("id" not in c for c in out["cells"])
    nb = {"cells": [_code("x = 1")], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}
    assert reader_first(nb, "LEAD")["cells"][0]["source"] == "LEAD"


def test_lead_of_a_committed_run_has_the_quote_the_numbers_and_the_math():
    run = RESULTS / "loss_saturation" / "paper"
    if not (run / "summary.json").is_file():
        pytest.skip("no committed loss_saturation paper run")
    text = lead.lead_markdown("loss_saturation", run, RESULTS, "_lead/x.png")
    assert "D can reject samples with high confidence" in text
    row = lead.chapter_rows("loss_saturation", run)[0]
    assert row["ours"] in text and f"**{row['verdict']}**" in text
    assert text.count("$$") >= 2 and "```{figure} _lead/x.png" in text
    if (RESULTS / "loss_saturation" / "paper-seeds" / "summary.json").is_file():
        assert "over n = 3 seeds" in text and "pending" not in text  # the paper ensemble
    else:
        assert "pending" in text


def test_lead_degrades_to_pending_without_reader_summary_figure_or_quote(tmp_path):
    text = lead.lead_markdown("no_such_chapter", tmp_path, tmp_path, None)
    assert "The paper's own words: pending" in text
    assert "Key figure: pending" in text and "**pending**" in text
    (tmp_path / "summary.json").write_text("{}")  # a summary the reader cannot read
    rows = lead.chapter_rows("parzen_mnist", tmp_path)
    assert rows[0]["verdict"] == "pending" and "KeyError" in rows[0]["ours"]


def test_lead_reads_the_seed_ensemble(tmp_path):
    agg = {
        "complete": True,
        "seeds_aggregated": [0, 1, 2],
        "metrics": {
            "mnist_parzen_ll_mean": {"mean": 221.25, "sd": 3.5, "n": 3, "values": {}},
            "reproduced_within_2_se": {"true": 2, "n": 3, "agreement": "2 of 3", "values": {}},
        },
    }
    line = lead.ensemble_line(lead.LEADS["parzen_mnist"], agg)
    assert "221.2" in line and "± 3.5 (sd)" in line and "n = 3" in line and "2 of 3" in line
    path = lead.ensemble_path(tmp_path, "parzen_mnist", "paper")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(agg))
    run = tmp_path / "parzen_mnist" / "paper"
    run.mkdir()
    (run / "provenance.json").write_text(json.dumps({"profile": "paper", "config": {}}))
    assert "n = 3 seeds" in lead.lead_markdown("parzen_mnist", run, tmp_path, None)
    assert "pending" in lead.ensemble_line(lead.LEADS["parzen_mnist"], None)


def test_lead_falls_back_to_a_named_budget_of_the_same_profile(tmp_path):
    """No `paper-seeds`, but a `sweep --name medium-1k` of the paper profile: the page shows it,
    saying it is another budget; a quick ensemble never stands in for a paper run."""
    base = {"complete": True, "seeds_aggregated": [0, 1, 2], "metrics": {}}
    for name, profile in (("quick", "quick"), ("medium-1k", "paper")):
        d = tmp_path / "wgan_vs_js" / f"{name}-seeds"
        d.mkdir(parents=True)
        agg = {**base, "profile": profile, "name": name, "parameters": {"g_iters": "1000"}}
        d.joinpath("summary.json").write_text(json.dumps(agg))
    found = lead.find_ensemble(tmp_path, "wgan_vs_js", "paper")
    assert found["name"] == "medium-1k"
    line = lead.ensemble_line(lead.LEADS.get("wgan_vs_js"), found)
    assert "`medium-1k-seeds`" in line and "g_iters 1000" in line and "not this run's" in line
    (tmp_path / "wgan_vs_js" / "medium-1k-seeds" / "summary.json").unlink()
    assert lead.find_ensemble(tmp_path, "wgan_vs_js", "paper") is None


def test_every_quote_names_its_source_and_every_figure_is_a_file_name():
    for name, spec in lead.LEADS.items():
        assert name in names(), name
        assert spec.quote and spec.source and "/" not in spec.figure


def test_dashboard_lists_every_claim_with_a_link_and_counts_verdicts():
    md = dashboard.dashboard_markdown(RESULTS)
    rows = dashboard.claim_rows(RESULTS)
    assert md.count("\n| [") == len({r["chapter"] for r in rows})  # each chapter linked once
    assert md.count("\n| ") == len(rows) + 1  # the header, then one line per claim
    for r in rows:
        assert r["ours"].replace("|", "\\|") in md
    assert f"**{len(rows)} claims in {len(CHAPTERS)} chapters:**" in md


def test_dashboard_of_no_results_is_all_pending(tmp_path):
    md = dashboard.dashboard_markdown(tmp_path)
    assert md.count("**pending**") == len(CHAPTERS)
    for c in CHAPTERS:
        assert f"(chapters/{c.name})" in md


def test_dashboard_survives_a_summary_its_reader_cannot_read(tmp_path, monkeypatch):
    (tmp_path / "loss_saturation").mkdir()
    (tmp_path / "loss_saturation" / "summary.json").write_text(json.dumps({"profile": "paper"}))
    rows = dashboard.claim_rows(tmp_path)
    bad = [r for r in rows if r["chapter"] == "loss_saturation"]
    assert bad[0]["verdict"] == results_table.PENDING and "KeyError" in bad[0]["ours"]
    assert len(rows) == len(CHAPTERS)


def test_intro_markers_are_filled_and_missing_markers_are_named():
    text = (ROOT / "book" / "intro.md").read_text()
    filled = dashboard.intro_page(text, RESULTS)
    assert "generated at build time" not in filled
    with pytest.raises(ValueError, match="dashboard:start"):
        dashboard.intro_page("no markers", RESULTS)


def test_stage_arranges_every_executed_chapter_and_installs_mathjax(tmp_path):
    src = book.stage("auto", results_dir=RESULTS, dest=tmp_path / "src")
    for name in names():
        if book.executed_notebook(RESULTS, name, "auto") is None:
            assert (src / "chapters" / f"{name}.md").is_file()
            continue
        nb = json.loads((src / "chapters" / f"{name}.ipynb").read_text())
        first, second = nb["cells"][0], nb["cells"][1]
        assert str(first["source"]).startswith("# "), name
        assert "| claim | published | ours | verdict |" in second["source"], name
        for cell in nb["cells"]:
            if "injected-parameters" in _tags(cell):
                assert "remove-cell" in _tags(cell), name
    assert (src / "_static" / book.MATHJAX_SCRIPT).is_file()
    assert any((src / "_static" / "mathjax" / "output").rglob("*.woff"))
    intro = (src / "intro.md").read_text()
    assert "generated at build time" not in intro and "| chapter | claim |" in intro


def test_config_loads_mathjax_from_the_local_copy_with_dollar_math():
    cfg = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())
    assert cfg["sphinx"]["config"]["mathjax_path"] == book.MATHJAX_SCRIPT
    assert {"dollarmath", "amsmath"} <= set(cfg["parse"]["myst_enable_extensions"])
    assert "replication.publish.sphinx_assets" in cfg["sphinx"]["extra_extensions"]


class _Js:
    def __init__(self, filename: str | None, body: str = "") -> None:
        self.filename, self.attributes = filename, {"body": body} if body else {}


def test_each_script_goes_into_a_page_once():
    a, b = _Js("_static/mathjax/tex-mml-chtml.js"), _Js(None, "const X = 1")
    context = {
        "script_files": [a, b, _Js("_static/mathjax/tex-mml-chtml.js"), _Js(None, "const X = 1")]
    }
    sphinx_assets.unique_scripts(None, "p", "t", context, None)
    assert context["script_files"] == [a, b]


def test_mathjax_dir_is_the_installed_package():
    assert (book.mathjax_dir() / "tex-mml-chtml.js").is_file()
    assert Path(book.mathjax_dir()).name == "es5"


def test_workflow_builds_strictly_checks_in_a_browser_and_deploys_to_pages():
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads the key `on` as True
    assert on["push"]["branches"] == ["main"] and "pull_request" in on
    steps = wf["jobs"]["build"]["steps"]
    runs = " ".join(s.get("run", "") for s in steps)
    uses = [s.get("uses", "") for s in steps] + [
        s.get("uses", "") for s in wf["jobs"]["deploy"]["steps"]
    ]
    assert "python -m replication book" in runs and "--no-strict" not in runs
    assert "-m browser" in runs
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    assert wf["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}


def test_lead_names_the_chapters_headline_when_it_is_another_run(tmp_path):
    src = RESULTS / "loss_saturation" / "paper" / "summary.json"
    if not src.is_file():
        pytest.skip("no committed loss_saturation paper run")
    summary = json.loads(src.read_text())
    run = tmp_path / "loss_saturation" / "paper"
    run.mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps(summary))
    top = tmp_path / "loss_saturation" / "summary.json"
    top.write_text(json.dumps(summary))
    assert "The chapter's headline" not in lead.lead_markdown(
        "loss_saturation", run, tmp_path, None
    )
    top.write_text(json.dumps({**summary, "epochs": summary["epochs"] + 1}))
    text = lead.lead_markdown("loss_saturation", run, tmp_path, None)
    assert "The chapter's headline" in text and f"after {summary['epochs'] + 1} epochs" in text


def test_dashboard_counts_a_verdict_word_it_has_no_mark_for(tmp_path, monkeypatch):
    fake = [
        {"chapter": "x", "claim": "a", "published": "", "ours": "1", "verdict": "measured"},
        {"chapter": "x", "claim": "b", "published": "", "ours": "2", "verdict": "reproduced"},
        {"chapter": "x", "claim": "c", "published": "", "ours": "3", "verdict": "measured (n/a)"},
    ]
    monkeypatch.setattr(dashboard, "claim_rows", lambda _: fake)
    md = dashboard.dashboard_markdown(tmp_path)
    assert "✓ 1 reproduced, 2 measured." in md


def test_a_run_that_trains_its_seeds_side_by_side_is_not_called_one_seed():
    spec = lead.LEADS["mode_collapse"]
    line = lead.ensemble_line(spec, None, {"seeds_toy": 5, "seeds_image": None})
    assert "trains 5 seeds side by side" in line and "pending" not in line
    # no such count in the run's summary: the ensemble is pending as for any one-seed run
    assert "pending" in lead.ensemble_line(spec, None, {"seeds_image": None})


def test_the_mode_collapse_ensemble_line_gives_the_gans_ring_modes_over_seeds():
    spec = lead.LEADS["mode_collapse"]
    agg = {
        "metrics": {"metrics.gan_nonsaturating.ring_modes": {"mean": 0.8, "sd": 0.2, "n": 3}},
        "seeds_aggregated": [0, 1, 2],
        "complete": True,
    }
    line = lead.ensemble_line(spec, agg, {"seeds_toy": 5})
    assert "0.8 ± 0.2 (sd) over n = 3 seeds" in line and "pending" not in line
