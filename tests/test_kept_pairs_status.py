"""The status page's account of a toy run built pair by pair, from fake kept pairs."""

from __future__ import annotations

import json

from replication.chapters import mode_collapse as ch
from replication.publish import book, kept_pairs
from replication.runs import pairs

PAPER = ch.ModeCollapseConfig.for_profile("paper")
PLANNED = len(PAPER.method_names()) * len(PAPER.benchmark_names())


def _keep(folder, piece, fingerprint, cpu_seconds, commit="abc1234def", threads=1, cpu=None):
    folder.mkdir(parents=True, exist_ok=True)
    arithmetic = {"torch_threads": threads, **({"cpu_model": cpu} if cpu else {})}
    record = {
        "piece": piece,
        "fingerprint": {"format": pairs.FORMAT, **fingerprint},
        "arithmetic": arithmetic,
        "git_commit": commit,
        "outputs": {"train_seconds": 3 * cpu_seconds, "train_cpu_seconds": cpu_seconds},
    }
    (folder / f"{piece}.json").write_text(json.dumps(record))


def _add_scores(path, scores):
    rec = json.loads(path.read_text())
    rec["outputs"]["scores"] = pairs.encode_frame(scores)
    path.write_text(json.dumps(rec))


def test_a_run_built_pair_by_pair_is_counted_costed_and_checked_against_todays_code(tmp_path):
    folder = tmp_path / "mode_collapse" / pairs.PAIRS / "paper-toys"
    _keep(folder, "ring-gan_minimax", ch.pair_fingerprint(PAPER, "gan_minimax", "ring"), 1200.0)
    stale = {**ch.pair_fingerprint(PAPER, "ebgan", "grid"), "code": "0" * 64}
    _keep(folder, "grid-ebgan", stale, 4800.0, commit="fff0000aaa", cpu="AMD EPYC")
    (folder / "broken.json").write_text("{not json")  # an unreadable file is not counted
    [row] = kept_pairs.progress_rows(tmp_path)
    assert row["kept"] == f"2 of {PLANNED}" and row["loadable"] == "1"
    assert row["cpu"] == "1.7 h" and row["per_pair"] == "20–80"  # CPU, not the 3× wall time
    assert row["commits"] == "`abc1234`, `fff0000`" and row["threads"] == "1"
    assert row["cpus"] == "AMD EPYC, not recorded"  # the model is recorded since 7f7b36d
    text = kept_pairs.section(tmp_path)
    assert text.startswith("## Runs built pair by pair") and "paper-toys" in text


def test_no_run_being_built_adds_nothing_to_the_status_page(tmp_path):
    assert kept_pairs.section(tmp_path) == ""
    (tmp_path / "mode_collapse" / pairs.PAIRS / "empty").mkdir(parents=True)
    assert kept_pairs.progress_rows(tmp_path) == []
    src = book.stage("quick", results_dir=tmp_path, dest=tmp_path / "src")
    assert "pair by pair" not in (src / "status.md").read_text()


def test_the_status_page_shows_the_run_being_built(tmp_path):
    folder = tmp_path / "mode_collapse" / pairs.PAIRS / "paper-toys"
    _keep(folder, "ring-gan_minimax", ch.pair_fingerprint(PAPER, "gan_minimax", "ring"), 60.0)
    src = book.stage("quick", results_dir=tmp_path, dest=tmp_path / "src")
    status = (src / "status.md").read_text()
    assert status.startswith("# Run status") and f"| 1 of {PLANNED} | 1 |" in status


def test_the_kept_pairs_numbers_are_shown_as_the_chapter_would_aggregate_them(tmp_path):
    """The status page's interim table is the chapter's own aggregate of each pair's last
    snapshot (mean ± SE over seeds), so it cannot disagree with the page made at the end."""
    import pandas as pd

    folder = tmp_path / "mode_collapse" / pairs.PAIRS / "paper-toys"
    _keep(folder, "ring-gan_minimax", ch.pair_fingerprint(PAPER, "gan_minimax", "ring"), 60.0)
    scores = pd.DataFrame(
        {
            "g_step": [0, 0, 0, 100, 100, 100],
            "seed": [0, 1, 2, 0, 1, 2],
            "modes": [0, 0, 0, 2, 4, 6],
            "hq": [0.0, 0.0, 0.0, 50.0, 60.0, 70.0],
            "rkl": [float("nan")] * 3 + [0.5, float("nan"), 0.7],
        }
    ).assign(method="gan_minimax", benchmark="ring")
    _add_scores(folder / "ring-gan_minimax.json", scores)
    _keep(folder, "grid-ebgan", ch.pair_fingerprint(PAPER, "ebgan", "grid"), 60.0)  # no scores
    [run] = [r for r in kept_pairs.progress_rows(tmp_path) if r["folder"] == "paper-toys"]
    table = kept_pairs.measured_so_far(run["records"])
    row = table.loc["gan_minimax"]
    assert row["seeds"] == "3" and row["G updates"] == "100"
    assert row["ring: modes (of 8)"] == "4.0 ± 1.2"  # sd 2 over 3 seeds: se 2/√3
    assert row["ring: % HQ"] == "60.0 ± 5.8"
    assert row["ring: reverse KL"] == "0.60 ± 0.10 (n=2)"  # one seed had no good sample
    text = kept_pairs.section(tmp_path)
    assert "measured so far" in text and "| gan_minimax | 3 | 100 | 4.0 ± 1.2 |" in text


def test_an_ablation_run_says_which_parameters_are_off_the_paper_profile(tmp_path):
    """A run built with other parameters (the deeper-D ablation) is not counted against the
    paper profile's 34 pairs as if it were unfinished: its row names what differs."""
    from dataclasses import replace

    folder = tmp_path / "mode_collapse" / pairs.PAIRS / "paper-toys-d3"
    deeper = replace(PAPER, d_layers=3)
    fingerprint = ch.pair_fingerprint(deeper, "gan_nonsaturating", "ring")
    _keep(folder, "ring-gan_nonsaturating", fingerprint, 60.0)
    [row] = kept_pairs.progress_rows(tmp_path)
    assert row["kept"] == "1 (off the paper profile: d_layers = 3)" and row["loadable"] == "1"
    import pandas as pd

    scores = pd.DataFrame({"g_step": [100, 100], "seed": [0, 1], "modes": [5, 7],
                           "hq": [80.0, 90.0], "rkl": [0.5, 0.3]})  # fmt: skip
    scores = scores.assign(method="gan_nonsaturating", benchmark="ring")
    _add_scores(folder / "ring-gan_nonsaturating.json", scores)
    text = kept_pairs.section(tmp_path)
    assert "off the paper profile (d_layers = 3): an ablation" in text
    assert "beside the published rows" not in text  # not presented as the paper run's numbers
