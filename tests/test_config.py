"""The config model: profiles, strict overrides, custom-run detection, notebook parameters."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from replication import chapters
from replication.chapters.loss_saturation import LossSaturationConfig
from replication.chapters.parzen_mnist import ParzenMnistConfig
from replication.config import PROFILES, ConfigError, resolve_device, resolve_profile
from replication.publish.execute import parse_value
from replication.publish.notebook_cell import RUN_PARAMETERS, parameters_from, start
from replication.runs.store import RunStore, run_name_for

CONFIGS = (LossSaturationConfig, ParzenMnistConfig)


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


# --------------------------------------------------------------------------- profiles


@pytest.mark.parametrize("cls", CONFIGS)
def test_quick_profile_applies_every_override_and_keeps_the_rest(cls):
    quick, paper = cls.for_profile("quick"), cls.for_profile("paper")
    overrides = cls.PROFILE_OVERRIDES["quick"]
    assert overrides  # both chapters have a cheaper quick profile
    assert quick.profile == "quick" and paper.profile == "paper"
    for f in dataclasses.fields(cls):
        if f.name == "profile":
            continue
        assert getattr(paper, f.name) == f.default  # the defaults are the paper profile
        expected = overrides.get(f.name, f.default)
        assert getattr(quick, f.name) == expected, f.name


def test_quick_profile_values_of_loss_saturation():
    cfg = LossSaturationConfig.for_profile("quick")
    assert (cfg.train_images, cfg.measure_batch, cfg.epochs) == (10000, 500, 5)
    assert (cfg.parzen_samples, cfg.parzen_valid) == (2000, 500)
    assert cfg.lr == 0.1 and cfg.batch_size == 100  # recipe values are not profile values


def test_auto_profile_is_quick_without_cuda_and_paper_with_it(monkeypatch, no_cuda):
    assert resolve_profile("auto") == "quick"
    assert LossSaturationConfig.for_profile("auto").profile == "quick"
    assert LossSaturationConfig.for_profile().epochs == 5
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_profile("auto") == "paper"
    assert LossSaturationConfig.for_profile("auto").epochs == 20


def test_unknown_profile_names_the_allowed_ones():
    with pytest.raises(ConfigError, match="profile") as e:
        LossSaturationConfig.for_profile("fast")
    for name in ("auto", *PROFILES, "'fast'"):
        assert name in str(e.value)
    with pytest.raises(ConfigError, match=r"'profile' must be one of \('quick', 'paper'\)"):
        LossSaturationConfig(profile="auto")


def test_none_override_keeps_the_profile_value():
    cfg = LossSaturationConfig.for_profile("quick", epochs=None, seed=None)
    assert cfg == LossSaturationConfig.for_profile("quick")


def test_config_is_frozen():
    cfg = LossSaturationConfig.for_profile("quick")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.epochs = 3


# --------------------------------------------------------------------------- strict values


def test_unknown_parameter_is_named_with_the_allowed_names():
    with pytest.raises(ConfigError) as e:
        LossSaturationConfig.for_profile("quick", epoch=3)
    msg = str(e.value)
    assert "['epoch']" in msg and "loss_saturation" in msg and "allowed" in msg
    for name in LossSaturationConfig.field_names():
        assert repr(name) in msg


def test_with_overrides_is_as_strict():
    cfg = LossSaturationConfig.for_profile("quick")
    with pytest.raises(ConfigError, match=r"\['bogus'\]"):
        cfg.with_overrides(bogus=1)
    with pytest.raises(ConfigError, match="'epochs' must lie in"):
        cfg.with_overrides(epochs=-1)
    assert cfg.with_overrides(epochs=7).epochs == 7


@pytest.mark.parametrize(
    ("name", "value", "expected", "got"),
    [
        ("epochs", "3", "int", "str '3'"),
        ("epochs", 2.5, "int", "float 2.5"),
        ("epochs", 3.0, "int", "float 3.0"),
        ("epochs", True, "int", "bool True"),
        ("lr", True, "float", "bool True"),
        ("lr", "0.1", "float", "str '0.1'"),
        ("device", 0, "str", "int 0"),
        ("data_dir", 3, "str or NoneType", "int 3"),
    ],
)
def test_wrong_type_names_parameter_and_expected_type(name, value, expected, got):
    with pytest.raises(ConfigError) as e:
        LossSaturationConfig.for_profile("quick", **{name: value})
    assert str(e.value) == f"parameter {name!r} must be {expected}, got {got}"


def test_none_is_refused_where_the_field_is_not_optional():
    with pytest.raises(ConfigError, match="'epochs' may not be None"):
        LossSaturationConfig(epochs=None)


def test_int_is_accepted_for_float_and_converted():
    cfg = LossSaturationConfig.for_profile("quick", lr=1, y_min=-3)
    assert cfg.lr == 1.0 and type(cfg.lr) is float
    assert cfg.y_min == -3.0 and type(cfg.y_min) is float
    pm = ParzenMnistConfig.for_profile("quick", time_budget_minutes=2)
    assert pm.time_budget_minutes == 2.0 and type(pm.time_budget_minutes) is float
    assert ParzenMnistConfig.for_profile("quick").time_budget_minutes is None


@pytest.mark.parametrize(
    ("name", "value", "rng"),
    [
        ("epochs", -1, "[0, inf]"),
        ("seed", -1, "[0, inf]"),
        ("d_input_keep", 1.5, "[0.01, 1]"),
        ("d_input_keep", 0.0099, "[0.01, 1]"),
        ("d_pretrain_target", -0.01, "[0, 1]"),
        ("train_images", 50001, "[100, 50000]"),
        ("train_images", 99, "[100, 50000]"),
        ("lr_decay", 0.999, "[1, inf]"),
    ],
)
def test_out_of_range_names_the_range(name, value, rng):
    with pytest.raises(ConfigError) as e:
        LossSaturationConfig.for_profile("quick", **{name: value})
    assert str(e.value) == f"parameter {name!r} must lie in {rng}, got {value!r}"


def test_range_ends_are_inclusive():
    cfg = LossSaturationConfig.for_profile(
        "quick", d_input_keep=1, d_hidden_keep=0.01, train_images=100, epochs=0
    )
    assert (cfg.d_input_keep, cfg.d_hidden_keep, cfg.train_images, cfg.epochs) == (
        1.0,
        0.01,
        100,
        0,
    )


@pytest.mark.parametrize("name", ["d_input_keep", "lr"])
def test_nan_is_out_of_range(name):
    with pytest.raises(ConfigError, match=name):
        LossSaturationConfig.for_profile("quick", **{name: math.nan})


def test_device_must_be_auto_cpu_or_cuda():
    with pytest.raises(ConfigError, match="'device' must be auto, cpu or cuda"):
        LossSaturationConfig.for_profile("quick", device="tpu")
    assert LossSaturationConfig.for_profile("quick", device="cuda:1").device == "cuda:1"


def test_resolve_device(no_cuda):
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ConfigError, match="no CUDA device"):
        resolve_device("cuda:0")


def test_cross_field_check_y_range():
    with pytest.raises(ConfigError, match=r"y_min \(5.0\) must be below y_max \(5.0\)"):
        LossSaturationConfig.for_profile("quick", y_min=5.0)
    with pytest.raises(ConfigError, match="y_min"):
        LossSaturationConfig.for_profile("quick", y_min=0, y_max=-1)
    assert LossSaturationConfig.for_profile("quick", y_min=4.9).y_min == 4.9


def test_cross_field_check_sigma_grid():
    with pytest.raises(ConfigError, match="sigma_min_log10"):
        ParzenMnistConfig.for_profile("quick", sigma_min_log10=0.5)
    cfg = ParzenMnistConfig.for_profile("quick", sigma_min_log10=-2, sigma_grid_size=3)
    assert cfg.sigmas().tolist() == pytest.approx([0.01, 0.1, 1.0], rel=1e-12)


# --------------------------------------------------------------------------- custom runs


@pytest.mark.parametrize("cls", CONFIGS)
@pytest.mark.parametrize("profile", PROFILES)
def test_pure_profile_differs_from_nothing(cls, profile):
    cfg = cls.for_profile(profile)
    assert cfg.differs_from_profile() == {}
    assert run_name_for(cfg) == profile


def test_changed_field_makes_a_custom_run():
    cfg = LossSaturationConfig.for_profile("quick", epochs=7, seed=3)
    assert cfg.differs_from_profile() == {"epochs": 7, "seed": 3}
    assert run_name_for(cfg) == "quick-custom"
    assert run_name_for(cfg, "mine") == "mine"
    # the profile's own value given explicitly is not a change
    assert LossSaturationConfig.for_profile("quick", epochs=5).differs_from_profile() == {}
    # paper's value under the quick profile is
    assert LossSaturationConfig.for_profile("quick", epochs=20).differs_from_profile() == {
        "epochs": 20
    }


def test_budget_fields_do_not_make_a_custom_run():
    assert ParzenMnistConfig.BUDGET_FIELDS == ("device", "data_dir", "time_budget_minutes")
    cfg = ParzenMnistConfig.for_profile(
        "quick", time_budget_minutes=5, device="cpu", data_dir="/somewhere"
    )
    assert cfg.differs_from_profile() == {}
    assert run_name_for(cfg) == "quick"
    assert LossSaturationConfig.for_profile("paper", device="cpu").differs_from_profile() == {}
    assert ParzenMnistConfig.for_profile("quick", kmeans_iters=3).differs_from_profile() == {
        "kmeans_iters": 3
    }


# --------------------------------------------------------------------------- describe


@pytest.mark.parametrize("cls", CONFIGS)
def test_describe_has_one_row_per_field_in_order(cls):
    rows = cls.describe()
    assert [r["parameter"] for r in rows] == cls.field_names()
    for r in rows:
        assert set(r) == {"parameter", "type", "quick", "paper", "help", "source"}
        assert r["help"]  # every parameter documents itself


def test_describe_values_types_and_sources():
    rows = {r["parameter"]: r for r in LossSaturationConfig.describe()}
    lr = rows["lr"]
    assert lr["type"] == "float" and lr["quick"] == lr["paper"] == 0.1
    assert "mnist.yaml" in lr["source"] and "learning_rate .1" in lr["source"]
    assert rows["batch_size"]["source"] == "mnist.yaml: batch_size 100"
    assert (rows["epochs"]["type"], rows["epochs"]["quick"], rows["epochs"]["paper"]) == (
        "int",
        5,
        20,
    )
    assert rows["seed"]["source"] == ""  # no source recorded: an empty cell, not None
    assert rows["profile"]["paper"] == "paper"
    pm = {r["parameter"]: r for r in ParzenMnistConfig.describe()}
    assert "--cross_val 10" in pm["sigma_grid_size"]["source"]


def test_chapter_registry():
    assert chapters.names()[:2] == ["loss_saturation", "parzen_mnist"]
    # every registered chapter has a notebook and a place in the book (`nox -s reproduce` reads
    # the registry itself: tests/test_results_table.py)
    from replication.runs.paths import project_root

    root = project_root()
    toc = (root / "book" / "_toc.yml").read_text()
    for name in chapters.names():
        assert (root / "book" / "chapters" / f"{name}.ipynb").exists(), name
        assert f"chapters/{name}" in toc, name
    assert chapters.config_class("parzen_mnist") is ParzenMnistConfig
    assert chapters.config_class("parzen_tfd").CHAPTER == "parzen_tfd"
    with pytest.raises(KeyError, match="unknown chapter 'nope'"):
        chapters.config_class("nope")


# --------------------------------------------------------------------------- notebook.start


def _namespace(**params):
    """Globals of a notebook: names before the parameters cell, then the parameters."""
    before = {"__name__": "__main__", "pd": object(), "ch": object(), "undeclared_helper": 1}
    ns = dict(before)
    ns["_names_before_parameters"] = set(before)
    ns.update(params)
    return ns, set(before)


def test_start_builds_config_and_store_under_results_dir(tmp_path):
    ns, before = _namespace(
        profile="quick", results_dir=str(tmp_path), run_name=None, epochs=None, seed=None
    )
    cfg, store = start(LossSaturationConfig, ns, before)
    try:
        assert isinstance(store, RunStore)
        assert cfg == LossSaturationConfig.for_profile("quick")
        assert store.root == tmp_path and store.run_name == "quick"
        assert store.final_dir == tmp_path / "loss_saturation" / "quick"
        assert store.dir.parent == tmp_path / "loss_saturation" and store.dir.is_dir()
        assert not store.final_dir.exists()
    finally:
        store.discard()


def test_start_passes_overrides_and_run_name(tmp_path):
    ns, before = _namespace(
        profile="quick", results_dir=str(tmp_path), run_name="trial", epochs=2, lr=1
    )
    cfg, store = start(LossSaturationConfig, ns, before)
    try:
        assert cfg.epochs == 2 and cfg.lr == 1.0 and cfg.profile == "quick"
        assert store.run_name == "trial"
        assert store.final_dir == tmp_path / "loss_saturation" / "trial"
    finally:
        store.discard()
    ns, before = _namespace(profile="quick", results_dir=str(tmp_path), epochs=2)
    _, store = start(LossSaturationConfig, ns, before)
    store.discard()
    assert store.run_name == "quick-custom"


def test_start_refuses_unknown_names(tmp_path):
    ns, before = _namespace(profile="quick", results_dir=str(tmp_path), epoch=2)
    with pytest.raises(ConfigError) as e:
        start(LossSaturationConfig, ns, before)
    msg = str(e.value)
    assert "['epoch']" in msg and "loss_saturation notebook" in msg
    for name in (*RUN_PARAMETERS, "epochs", "seed"):
        assert repr(name) in msg
    assert not (tmp_path / "loss_saturation").exists()  # refused before any folder is made


def test_start_validates_values(tmp_path):
    ns, before = _namespace(profile="quick", results_dir=str(tmp_path), epochs=-1)
    with pytest.raises(ConfigError, match="'epochs' must lie in"):
        start(LossSaturationConfig, ns, before)


def test_parameters_from_skips_earlier_and_private_names():
    ns, before = _namespace(epochs=3, _private=1)
    assert parameters_from(ns, before) == {"epochs": 3}


def test_start_without_profile_is_auto(tmp_path, no_cuda):
    ns, before = _namespace(results_dir=str(tmp_path))
    cfg, store = start(ParzenMnistConfig, ns, before)
    store.discard()
    assert cfg.profile == "quick" and store.run_name == "quick"


# --------------------------------------------------------------------------- parse_value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("-2", -2),
        ("0.5", 0.5),
        ("1e-3", 0.001),
        ("True", True),
        ("False", False),
        ("None", None),
        ("abc", "abc"),
        ("true", "true"),
        ("cuda:0", "cuda:0"),
    ],
)
def test_parse_value(text, value):
    out = parse_value(text)
    assert out == value and type(out) is type(value)


def test_parsed_values_go_through_the_config():
    cfg = LossSaturationConfig.for_profile(
        "quick", lr=parse_value("1"), epochs=parse_value("3"), device=parse_value("cpu")
    )
    assert (cfg.lr, cfg.epochs, cfg.device) == (1.0, 3, "cpu")
    with pytest.raises(ConfigError, match="'epochs' must be int, got float 3.5"):
        LossSaturationConfig.for_profile("quick", epochs=parse_value("3.5"))


def test_run_table_shows_the_values_of_this_run():
    cfg = ParzenMnistConfig.for_profile("quick", epochs=7)
    rows = {r["parameter"]: r for r in cfg.run_table()}
    assert rows["profile"]["value"] == "quick" and rows["epochs"]["value"] == 7
    assert rows["lr"]["source"].startswith("mnist.yaml")
