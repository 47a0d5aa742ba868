"""One module per book chapter; `CHAPTERS` maps a notebook name to its config class."""

from __future__ import annotations

import importlib

from replication.config import ExperimentConfig

# notebook name -> (module, config class name)
_REGISTRY = {
    "loss_saturation": ("loss_saturation", "LossSaturationConfig"),
    "parzen_mnist": ("parzen_mnist", "ParzenMnistConfig"),
    "parzen_tfd": ("parzen_tfd", "ParzenTfdConfig"),
    "wgan_vs_js": ("wgan_vs_js", "WganVsJsConfig"),
}


def names() -> list[str]:
    return list(_REGISTRY)


def config_class(name: str) -> type[ExperimentConfig]:
    if name not in _REGISTRY:
        raise KeyError(f"unknown chapter {name!r}; known: {names()}")
    module, cls = _REGISTRY[name]
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)
