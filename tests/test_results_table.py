"""The README's results table and the chapter registry: generated, and kept true by tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from replication import chapters
from replication.chapters import registry
from replication.report import results_table as rt
from replication.runs.paths import project_root

ROOT = project_root()


def test_readme_table_is_the_one_the_committed_summaries_give():
    readme = (ROOT / "README.md").read_text()
    table = rt.markdown(rt.rows(ROOT / "results"))
    assert rt.replace_block(readme, table) == readme, (
        "README's results table is stale: run `python -m replication results-table --write-readme`"
    )
    # every chapter of the registry has at least one row
    assert {r["chapter"] for r in rt.rows(ROOT / "results")} == set(registry.names())


def _write(results: Path, chapter: str, summary: dict, config: dict | None = None) -> None:
    run = results / chapter / summary.get("run_name", "quick")
    run.mkdir(parents=True)
    (results / chapter / "summary.json").write_text(json.dumps(summary))
    (run / "provenance.json").write_text(json.dumps({"config": config or {}}))


def test_a_chapter_without_results_is_pending_and_verdicts_follow_the_numbers(tmp_path):
    base = {
        "run_name": "quick",
        "git_commit": "abcdef0123",
        "epoch_selected": 5,
        "epochs_trained": 5,
        "mnist_parzen_ll_se": 2.0,
    }
    _write(
        tmp_path,
        "parzen_mnist",
        {
            **base,
            "mnist_parzen_ll_mean": 224.0,
            "difference_to_published": -1.0,
            "difference_in_combined_se": 0.35,
            "reproduced_within_2_se": True,
        },
    )
    table = rt.rows(tmp_path)
    by_chapter = {r["chapter"]: r for r in table}
    assert by_chapter["parzen_mnist"]["verdict"] == rt.REPRODUCED
    assert by_chapter["parzen_mnist"]["run"] == "quick (abcdef0)"
    assert by_chapter["wgan_vs_js"]["verdict"] == rt.PENDING
    md = rt.markdown(table)
    assert md.count("\n") == len(table) + 2


def test_wgan_rows_are_the_chapters_own_claims_table(tmp_path):
    (tmp_path / "claims.csv").write_text(
        "paper,claim (published),measured here,agrees?\n"
        "Fig. 3,loss tracks,rho +0.9,yes\n"
        "Fig. 4,JSD does not,rho +0.5,partly\n"
        "Fig. 7,robust,collapsed,no (early: no run makes digits yet)\n"
    )
    rows = rt.READERS["wgan_vs_js"]({}, {}, tmp_path)
    assert [r["verdict"] for r in rows] == [
        rt.REPRODUCED,
        rt.PARTLY,
        rt.NOT_REPRODUCED + " (early run)",
    ]
    assert rows[0]["claim"] == "loss tracks (Fig. 3)" and rows[0]["ours"] == "rho +0.9"
    assert rt.READERS["wgan_vs_js"]({}, {}, tmp_path / "none")[0]["verdict"] == rt.PENDING


def test_loss_saturation_verdict_compares_with_the_closed_form(tmp_path):
    s = {
        "mean_d_of_g": 0.01,
        "grad_ratio_nonsaturating_to_minimax": 99.0,
        "epochs": 3,
        "minimax_final_mean_d_of_g": 0.001,
        "nonsaturating_final_mean_d_of_g": 0.2,
    }
    first, second = rt.READERS["loss_saturation"](s, {"d_pretrain_target": 0.01}, tmp_path)
    assert first["verdict"] == rt.REPRODUCED  # (1 - 0.01) / 0.01 = 99
    assert second["verdict"] == rt.REPRODUCED
    s["grad_ratio_nonsaturating_to_minimax"] = 50.0
    assert rt.READERS["loss_saturation"](s, {}, tmp_path)[0]["verdict"] == rt.NOT_REPRODUCED


def test_replace_block_needs_its_markers():
    with pytest.raises(ValueError, match="markers"):
        rt.replace_block("no table here", "| a |\n")


# ------------------------------------------------------------------------ the chapter registry


def test_every_chapter_list_is_the_registry():
    names = registry.names()
    assert set(rt.READERS) == set(names)
    assert (ROOT / "book" / "_toc.yml").read_text() == registry.toc_yaml()
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("_noxfile_under_test", ROOT / "noxfile.py")
    nox_module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = nox_module
    spec.loader.exec_module(nox_module)
    assert nox_module.CHAPTERS == names
    for name in names:
        mod = chapters.module(name)
        assert chapters.config_class(name).CHAPTER == name
        assert callable(mod.train_cli), f"{name}: `python -m replication train` needs train_cli"
        assert (ROOT / "book" / "chapters" / f"{name}.ipynb").is_file()


def test_table1_headline_is_the_seed_mean_once_a_ledger_exists():
    summary = {
        "mnist_parzen_ll_mean": 211.7,
        "difference_in_combined_se": 4.4,
        "ll_mean_over_seeds": 180.0,
        "ll_sd_over_seeds": 3.0,
        "n_seeds": 3,
        "seeds_within_2_se_of_published": 0,
        "epochs_per_seed": [257, 264, 261],
        "ll_longest_run": 211.7,
        "longest_run_epochs": 1000,
    }
    (row,) = rt.READERS["parzen_mnist"](summary, {}, Path("."))
    assert row["ours"].startswith("180.0 ± 3.0 nats (mean ± sd over 3 seeds at 257–264 epochs")
    assert row["verdict"] == f"{rt.NOT_REPRODUCED} (0 of 3 seeds within 2 SE)"
    summary["seeds_within_2_se_of_published"] = 2
    assert rt.READERS["parzen_mnist"](summary, {}, Path("."))[0]["verdict"].startswith(
        rt.REPRODUCED
    )
