"""One module per book chapter (its config with sources, and its compute); `registry.py` lists
them."""

from __future__ import annotations

import importlib
from types import ModuleType

from replication.chapters.registry import CHAPTERS, Chapter, names
from replication.config import ExperimentConfig

__all__ = ["CHAPTERS", "Chapter", "chapter", "config_class", "module", "names"]


def chapter(name: str) -> Chapter:
    for c in CHAPTERS:
        if c.name == name:
            return c
    raise KeyError(f"unknown chapter {name!r}; known: {names()}")


def module(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{chapter(name).name}")


def config_class(name: str) -> type[ExperimentConfig]:
    return getattr(module(name), chapter(name).config)
