"""The ensemble table a chapter page shows: mean ± sd, n, per-seed values, yes/no as k of n."""

from __future__ import annotations

from replication.report.ensemble import ensemble_markdown, ensemble_table
from replication.runs import aggregate as agg

SUMMARIES = {
    0: {"ll": -60.0, "epochs": 5, "ok": True, "name": "MNIST", "wall_time_s": 9.0, "seed": 0},
    1: {"ll": -58.0, "epochs": 5, "ok": False, "name": "MNIST", "wall_time_s": 8.0, "seed": 1},
    2: {"ll": -62.0, "epochs": 5, "ok": True, "name": "MNIST", "wall_time_s": 7.0, "seed": 2},
}


def test_table_rows_read_as_mean_sd_n_and_agreement():
    table = ensemble_table(agg.aggregate("loss_saturation", "quick", SUMMARIES)).set_index("number")
    assert list(table.index) == ["ll", "epochs", "ok"]  # bookkeeping and strings left out
    assert table.loc["ll"].tolist() == ["-60 ± 2", 3, "0: -60 · 1: -58 · 2: -62"]
    assert table.loc["epochs", "over seeds"] == "5 (every seed)"
    assert table.loc["ok", "over seeds"] == "yes in 2 of 3"
    assert table.loc["ok", "per seed"] == "0: yes · 1: no · 2: yes"


def test_markdown_names_the_seeds_and_a_failed_one():
    a = agg.aggregate("loss_saturation", "quick", SUMMARIES, seeds=[0, 1, 2, 3], failed={3: "log"})
    md = ensemble_markdown(a)
    assert md.startswith("loss_saturation, profile quick: seeds 0, 1, 2 (n = 3, INCOMPLETE")
    assert "| ll | -60 ± 2 | 3 | 0: -60 · 1: -58 · 2: -62 |" in md
    assert md.count("\n|") == 2 + 3  # header, rule, three rows
