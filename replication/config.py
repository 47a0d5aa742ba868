"""Experiment configurations: frozen dataclasses with named profiles and strict overrides.

One model serves the notebooks (Papermill parameters) and the CLI, so a bad value fails the same
way everywhere: before any compute, naming the parameter and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

PROFILES = ("quick", "paper")


class ConfigError(ValueError):
    """A parameter is unknown, of the wrong type or out of range."""


def param(
    default: Any,
    help: str,
    *,
    source: str | None = None,
    min: float | None = None,
    max: float | None = None,
    choices: tuple[Any, ...] | None = None,
) -> Any:
    """A field that documents itself: help, allowed range, and where the value comes from."""
    meta = {"help": help, "source": source, "min": min, "max": max, "choices": choices}
    return field(default=default, metadata=meta)


def resolve_profile(profile: str) -> str:
    """`auto` means `paper` when a GPU is present (the published budgets need one), else `quick`."""
    if profile == "auto":
        return "paper" if torch.cuda.is_available() else "quick"
    if profile not in PROFILES:
        raise ConfigError(f"profile must be one of {('auto',) + PROFILES}, got {profile!r}")
    return profile


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={device!r} was asked for, but torch sees no CUDA device")
    return torch.device(device)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _check_value(name: str, value: Any, tp: Any, meta: dict[str, Any]) -> Any:
    """Return `value` coerced to the field type (int -> float only), or raise ConfigError."""
    allowed = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, _UnionType) else (tp,)
    if value is None:
        if type(None) in allowed:
            return None
        raise ConfigError(f"parameter {name!r} may not be None (expected {_type_name(tp)})")
    ok = None
    for t in allowed:
        if t is type(None):
            continue
        if t is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            ok = float(value)
        elif t is int and isinstance(value, int) and not isinstance(value, bool):
            ok = value
        elif t is bool and isinstance(value, bool):
            ok = value
        elif t is str and isinstance(value, str):
            ok = value
        if ok is not None:
            break
    if ok is None:
        expected = " or ".join(_type_name(t) for t in allowed)
        raise ConfigError(
            f"parameter {name!r} must be {expected}, got {type(value).__name__} {value!r}"
        )
    if meta.get("choices") is not None and ok not in meta["choices"]:
        raise ConfigError(f"parameter {name!r} must be one of {meta['choices']}, got {ok!r}")
    lo, hi = meta.get("min"), meta.get("max")
    if isinstance(ok, float) and not math.isfinite(ok):
        raise ConfigError(f"parameter {name!r} must be a finite number, got {ok!r}")
    if isinstance(ok, (int, float)) and not isinstance(ok, bool):
        if (lo is not None and ok < lo) or (hi is not None and ok > hi):
            rng = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
            raise ConfigError(f"parameter {name!r} must lie in {rng}, got {ok!r}")
    return ok


_UnionType = type(int | None)


@dataclass(frozen=True)
class ExperimentConfig:
    """Base of every chapter's config: the fields all experiments share."""

    CHAPTER: ClassVar[str] = ""
    # Per profile, the values that differ from the field defaults (the defaults are `paper`).
    PROFILE_OVERRIDES: ClassVar[dict[str, dict[str, Any]]] = {}
    # Fields that decide where or how long a run goes, not what it measures: changing them does
    # not make a run custom.
    BUDGET_FIELDS: ClassVar[tuple[str, ...]] = ("device", "data_dir")

    profile: str = param("paper", "named set of budgets", choices=PROFILES)
    seed: int = param(0, "seed of every random draw (weights, noise, batches, dropout)", min=0)
    device: str = param("auto", "'auto' (GPU when present), 'cpu', 'cuda' or 'cuda:N'")
    data_dir: str | None = param(
        None, "folder holding the dataset files (None: environment variable, then data/)"
    )

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = _check_value(f.name, getattr(self, f.name), hints[f.name], dict(f.metadata))
            object.__setattr__(self, f.name, value)
        if not (self.device in ("auto", "cpu") or self.device.startswith("cuda")):
            raise ConfigError(
                f"parameter 'device' must be auto, cpu or cuda[:N], got {self.device!r}"
            )
        self.check()

    def check(self) -> None:
        """Cross-field rules; subclasses raise ConfigError here."""

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def for_profile(cls, profile: str = "auto", **overrides: Any) -> ExperimentConfig:
        """The profile's config, then the overrides (None means: keep the profile's value)."""
        profile = resolve_profile(profile)
        values = dict(cls.PROFILE_OVERRIDES.get(profile, {}))
        values["profile"] = profile
        unknown = sorted(set(overrides) - set(cls.field_names()) - {"profile"})
        if unknown:
            raise ConfigError(
                f"unknown parameter(s) {unknown} for {cls.CHAPTER}; allowed: {cls.field_names()}"
            )
        values.update({k: v for k, v in overrides.items() if v is not None and k != "profile"})
        return cls(**values)

    def with_overrides(self, **overrides: Any) -> ExperimentConfig:
        unknown = sorted(set(overrides) - set(self.field_names()))
        if unknown:
            raise ConfigError(
                f"unknown parameter(s) {unknown} for {self.CHAPTER}; allowed: {self.field_names()}"
            )
        return dataclasses.replace(self, **overrides)

    def differs_from_profile(self) -> dict[str, Any]:
        """The fields whose values are not the profile's: a run with any is a custom run."""
        base = type(self).for_profile(self.profile)
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in self.BUDGET_FIELDS and getattr(self, f.name) != getattr(base, f.name)
        }

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def run_table(self) -> list[dict[str, Any]]:
        """`describe()` with this config's own values: what a run actually used."""
        return [
            {
                "parameter": r["parameter"],
                "value": getattr(self, r["parameter"]),
                "help": r["help"],
                "source": r["source"],
            }
            for r in self.describe()
        ]

    @classmethod
    def describe(cls) -> list[dict[str, Any]]:
        """One row per parameter: name, type, the value under each profile, help and source."""
        rows = []
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            row = {"parameter": f.name, "type": _type_name(hints[f.name])}
            for p in PROFILES:
                row[p] = cls.PROFILE_OVERRIDES.get(p, {}).get(f.name, f.default)
            row["help"] = f.metadata.get("help", "")
            row["source"] = f.metadata.get("source") or ""
            rows.append(row)
        return rows
