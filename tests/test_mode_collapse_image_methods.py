"""EBGAN, EBGAN-PT and virtual batch norm on the image benchmarks: the autoencoder's energy and
EBGAN's image D cost on hand-computed cases, VBN's per-example independence (which batch norm
lacks), and tiny runs of the three methods through the notebook's entry point and the command
line's."""

from __future__ import annotations

import math

import pytest
import torch

from replication.chapters import mode_collapse as ch
from replication.chapters import mode_collapse_images as im
from replication.nets.batched import virtual_batch_norm
from replication.nets.dcgan_variants import ConvAutoencoder, VbnConvGenerator
from replication.nets.wgan2017 import ConvGenerator
from replication.runs.cli import TrainRequest

CPU = torch.device("cpu")
NEW = ("ebgan", "ebgan_pt", "virtual_batch_norm")
TINY = dict(
    seeds_image=1, image_epochs=1, image_batch=8, stacked_train_images=16,
    mnist_train_images=16, image_noise_dim=4, image_dim=2, stacked_eval_samples=30,
    mnist_eval_samples=12, fid_reference=10, parzen_valid=5, parzen_test=10,
    classifier_epochs=1, vbn_reference=8, device="cpu",
)  # fmt: skip


def _constant_reconstruction(ae: ConvAutoencoder, value: float) -> None:
    """Every weight 0 and the last bias `value`: the decoder outputs `value` everywhere."""
    with torch.no_grad():
        for p in ae.parameters():
            p.zero_()
        ae.decoder[-2].bias.fill_(value)


def test_autoencoder_energy_is_each_rows_mean_squared_reconstruction_error():
    ae = ConvAutoencoder(dim=2, channels=1)
    _constant_reconstruction(ae, 0.5)
    x = torch.zeros(3, 784)
    x[1, :392], x[1, 392:] = 0.5, 1.0  # half exact, half off by 0.5
    x[2] = 0.5  # reconstructed exactly
    # row 0: every pixel off by 0.5 -> 0.25; row 1: (392 * 0 + 392 * 0.25) / 784 = 0.125
    assert ae(x).tolist() == pytest.approx([0.25, 0.125, 0.0])
    ae = ConvAutoencoder(dim=3, channels=3)  # random weights: a row's energy is its own
    x = torch.rand(4, 3 * 784)
    alone = torch.stack([ae(x[i : i + 1])[0] for i in range(4)])
    torch.testing.assert_close(ae(x), alone)
    manual = ((ae.reconstruct(x) - x) ** 2).sum(1) / (3 * 784)
    torch.testing.assert_close(ae(x), manual)
    assert ae.features(x).shape == (4, 2 * 3 * 49)
    assert (ae.features(x) < 0).any()  # a linear code, as the pulling-away term needs


def test_ebgan_image_d_cost_is_real_energy_plus_hinge_at_the_image_margin():
    cfg = ch.ModeCollapseConfig.for_profile("quick", **TINY)
    m = cfg.ebgan_image_margin
    gan = im.build_image_gan("ebgan", "mnist", cfg, CPU, seed=3)
    assert isinstance(gan.discriminator, ConvAutoencoder)
    _constant_reconstruction(gan.discriminator, 0.5)
    real = torch.zeros(2, 784)
    real[1, :392] = 0.5  # energies 0.25 and 0.125
    fake = torch.stack([torch.full((784,), 0.5), torch.ones(784)])  # energies 0 and 0.25
    D = gan.discriminator.requires_grad_(False)
    cost = im.image_objective("ebgan", cfg).d_cost(D(real), D(fake))
    # E D(x) + E max(0, m - D(G(z))): (0.25 + 0.125) / 2 + (max(0, m - 0) + max(0, m - 0.25)) / 2
    assert float(cost) == pytest.approx(0.1875 + (m + max(0.0, m - 0.25)) / 2)
    assert m < 0.25  # so the second fake is past the margin and its hinge is 0
    toy = ch.tuned_objective("ebgan", cfg).d_cost(D(real), D(fake))  # the toys' m = 1
    assert float(toy) == pytest.approx(0.1875 + (1.0 + 0.75) / 2)


def test_pooled_virtual_batch_norm_matches_a_hand_computation():
    # reference: 2 rows of one channel at 2 positions, [0, 2] and [2, 4]: mean 2, E h^2 = 6;
    # the row [1, 3]: own mean 2, own E h^2 = 5; weight 1/3 -> mean 2, E h^2 17/3, var 5/3
    h = torch.tensor([[[0.0, 2.0]], [[2.0, 4.0]], [[1.0, 3.0]]]).unsqueeze(0)  # [1, 3, C=1, 2]
    out = virtual_batch_norm(h, n_ref=2, eps=0.0, pooled=(3,))
    torch.testing.assert_close(out[0, 2, 0], torch.tensor([-1.0, 1.0]) / math.sqrt(5 / 3))
    torch.testing.assert_close(out[0, :2, 0], torch.tensor([[-2.0, 0.0], [0.0, 2.0]]) / 2**0.5)


def test_vbn_generator_output_for_a_row_does_not_depend_on_the_rest_of_its_batch():
    torch.manual_seed(0)
    vbn = VbnConvGenerator(6, 4, torch.randn(8, 6), channels=3)
    bn = ConvGenerator(6, 4, batchnorm=True, channels=3)
    z = torch.randn(5, 6)
    other = torch.cat([z[:1], 3 * torch.randn(4, 6)])  # the same first row, other companions
    torch.testing.assert_close(vbn(z)[0], vbn(other)[0], rtol=0, atol=1e-6)
    torch.testing.assert_close(vbn(z[:1])[0], vbn(z)[0], rtol=0, atol=1e-6)  # even alone
    assert (bn(z)[0] - bn(other)[0]).abs().max() > 1e-3  # batch norm's output does depend
    before = vbn(z)[0]
    vbn.reference.mul_(3.0)  # the reference's statistics are what normalises each row
    assert (vbn(z)[0] - before).abs().max() > 1e-3
    cfg = ch.ModeCollapseConfig.for_profile("quick", **TINY)
    a = im.build_image_gan("virtual_batch_norm", "stacked", cfg, CPU, seed=5).generator
    b = im.build_image_gan("virtual_batch_norm", "stacked", cfg, CPU, seed=5).generator
    assert isinstance(a, VbnConvGenerator) and a.reference.shape == (cfg.vbn_reference, 4)
    assert torch.equal(a.reference, b.reference)  # drawn once per run, from the run's seed
    with pytest.raises(ValueError, match="reference must be"):
        VbnConvGenerator(6, 4, torch.randn(8, 5))


def test_tiny_image_runs_of_ebgan_ebgan_pt_and_vbn_give_finite_scores(fake_mnist, tmp_path):
    folder = fake_mnist.write(tmp_path / "mnist")
    cfg = ch.ModeCollapseConfig.for_profile(
        "quick", methods=",".join(NEW), data_dir=str(folder), **TINY
    )
    res, status = im.run_if_data(cfg, CPU, tmp_path / "ckpt", progress=False)
    assert res is not None and status.startswith("run: stacked, mnist")
    ps = res.per_seed.set_index(["method", "benchmark"])
    assert set(ps.index) == {(m, b) for m in NEW for b in ("stacked", "mnist")}
    assert not ps.diverged.any() and (ps.d_steps == 2).all()
    for col in ("modes", "kl", "fid", "parzen"):
        values = ps[col].dropna()
        assert len(values) == 3 and values.map(math.isfinite).all(), col


def test_train_command_runs_the_image_part_too(fake_mnist, tmp_path, capsys):
    folder = fake_mnist.write(tmp_path / "mnist")
    toy = dict(benchmarks="ring", seeds_toy=2, steps=2, snapshot_every=2, batch_size=8,
               train_points=16, noise_dim=4, eval_samples=10, figure_points=10)  # fmt: skip
    params = {**TINY, **toy, "methods": "virtual_batch_norm", "image_benchmarks": "mnist"}
    params["data_dir"] = str(folder)
    ch.train_cli(TrainRequest("quick", params, results_dir=str(tmp_path / "results")))
    out = capsys.readouterr().out
    assert "image benchmarks run: mnist, 1 seeds" in out
    table = out[out.index("image benchmarks run") :]
    assert "virtual_batch_norm" in table and "MNIST: FID" in table


def test_gan_family_makes_two_g_updates_per_d_update_on_images_and_the_wgans_keep_theirs(
    fake_mnist, tmp_path
):
    """PacGAN's Stacked MNIST code runs g_optim twice per d_optim (`image_g_updates`); the
    WGANs keep their own n_critic schedule."""
    folder = fake_mnist.write(tmp_path / "mnist")
    cfg = ch.ModeCollapseConfig.for_profile(
        "quick", methods="gan_nonsaturating,ebgan,wgan", image_benchmarks="mnist",
        data_dir=str(folder), **TINY,
    )  # fmt: skip
    assert cfg.image_g_updates == 2
    for name, method in ch.METHODS.items():
        want = 1 if method.critic_schedule else 2
        assert im.image_objective(name, cfg).g_updates == want, name
    assert {n for n, m in ch.METHODS.items() if m.critic_schedule} == {"wgan", "wgan_gp"}
    res, _ = im.run_if_data(cfg, CPU, tmp_path / "ckpt", progress=False)
    ps = res.per_seed.set_index("method")
    for name in ("gan_nonsaturating", "ebgan"):
        assert ps.loc[name, "g_steps"] == 2 * ps.loc[name, "d_steps"], name
    assert ps.loc["wgan", "g_steps"] < ps.loc["wgan", "d_steps"]


def test_the_vbn_generator_starts_from_the_batch_norm_generators_weights():
    """Seed s of every method starts from the same generator: VBN's gains are drawn where batch
    norm's scales are, so its linear and transposed-conv weights equal the GAN's, and its gains
    equal the GAN's batch-norm scales."""
    cfg = ch.ModeCollapseConfig.for_profile("quick", **TINY)
    gan = im.build_image_gan("gan_nonsaturating", "stacked", cfg, CPU, seed=5).generator
    vbn = im.build_image_gan("virtual_batch_norm", "stacked", cfg, CPU, seed=5).generator
    weights = (torch.nn.Linear, torch.nn.ConvTranspose2d)
    g_w = [m.weight for m in gan.modules() if isinstance(m, weights)]
    v_w = [m.weight for m in vbn.modules() if isinstance(m, weights)]
    assert len(g_w) == len(v_w) >= 3
    assert all(torch.equal(a, b) for a, b in zip(g_w, v_w, strict=True))
    bn = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)
    scales = [m.weight.flatten() for m in gan.modules() if isinstance(m, bn)]
    gains = [m.gain.flatten() for m in vbn.modules() if type(m).__name__ == "VirtualBatchNorm"]
    assert len(scales) == len(gains) == 2
    assert all(torch.equal(a, b) for a, b in zip(scales, gains, strict=True))
    assert not torch.equal(gains[0], torch.ones_like(gains[0]))  # drawn, not left at one


def test_sample_montage_places_each_sample_in_its_own_28_pixel_cell():
    from replication.report import mode_collapse_images as rim

    grid = torch.stack([torch.full((3 * 784,), v) for v in (0.2, 0.7)])  # two stacked samples
    row = rim.sample_montage(grid, 3)
    assert row.shape == (28, 84, 3)
    assert (row[:, :28] == 0.2).all() and (row[:, 28:56] == 0.7).all() and (row[:, 56:] == 0).all()
