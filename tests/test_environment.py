"""environment.yml (conda) and pyproject.toml name the same dependencies and pins."""

from __future__ import annotations

import re
import tomllib

import yaml

from replication.runs.paths import project_root


def _norm(req: str) -> str:
    return re.sub(r"\s+", "", req).lower()


def test_environment_yml_matches_pyproject():
    root = project_root()
    py = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    wanted = {_norm(r) for r in py["dependencies"] + py["optional-dependencies"]["dev"]}
    env = yaml.safe_load((root / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert {_norm(r) for r in pip} == wanted
    py_pin = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert py_pin == "python=3.11" and py["requires-python"] == ">=3.11"


def test_torch_pins_are_exact():
    deps = tomllib.loads((project_root() / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch==2.14.1" in deps and "torchvision==0.29.1" in deps
