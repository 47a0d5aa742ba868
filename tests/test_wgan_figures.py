"""WGAN vs JS figures: what they draw, where the drawing itself is a claim."""

from __future__ import annotations

import torch

from replication.report.wgan_figures import samples_figure


def test_sample_grids_stop_at_the_checkpoint_a_run_reached(tmp_path):
    (tmp_path / "gan-dcgan").mkdir()
    for step in (500, 1000, 1500):  # 1500: written by a session killed before its checkpoint
        torch.save(torch.rand(64, 784), tmp_path / "gan-dcgan" / f"samples_{step:07d}.pt")
    fig = samples_figure(tmp_path, ["gan-dcgan"], upto={"gan-dcgan": 1000})
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[-1] == "gan-dcgan, G iter 1000" and not any("1500" in t for t in titles)
    fig = samples_figure(tmp_path, ["gan-dcgan"])
    assert [ax.get_title() for ax in fig.axes][-1] == "gan-dcgan, G iter 1500"
