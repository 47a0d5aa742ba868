"""Deterministic mode: a run that repeats bit for bit on the same machine and library versions.

GAN training turns the last bit of a float into another trajectory, so a CPU run repeats only at
the thread count it was made with (float sums depend on it), and a GPU run only with
deterministic kernels. `--deterministic` (notebook, train, sweep) asks for one thread,
`torch.use_deterministic_algorithms(True)` and, for cuBLAS, `CUBLAS_WORKSPACE_CONFIG=:4096:8`.

The request travels as the environment variable `GAN_DETERMINISTIC=1`, like `OMP_NUM_THREADS`:
a notebook runs in a Papermill kernel, another process, which inherits the environment of the
command that started it. The run store applies it when a run starts and records it in
`provenance.json`. It is not a config field: it decides how a run computes, not what it measures,
so it changes neither a run's name, its checkpoints' fingerprint, nor its seed ensemble.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from typing import Any

from replication.config import ConfigError

ENV = "GAN_DETERMINISTIC"
# cuBLAS repeats its sums only with a fixed workspace; either value is documented by NVIDIA
# ("Results reproducibility", cuBLAS docs) and by torch.use_deterministic_algorithms
CUBLAS_ENV = "CUBLAS_WORKSPACE_CONFIG"
CUBLAS_VALUE = ":4096:8"
CUBLAS_DETERMINISTIC = (":4096:8", ":16:8")
THREAD_ENVS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def request(environ: MutableMapping[str, str] | None = None) -> None:
    """What `--deterministic` does in the command's own process, before a kernel or worker
    starts: every process the run spawns inherits one thread and the cuBLAS setting."""
    env = os.environ if environ is None else environ
    env[ENV] = "1"
    for name in THREAD_ENVS:
        env[name] = "1"
    if env.get(CUBLAS_ENV) not in CUBLAS_DETERMINISTIC:
        env[CUBLAS_ENV] = CUBLAS_VALUE


def requested(environ: MutableMapping[str, str] | None = None) -> bool:
    """True when `GAN_DETERMINISTIC` is 1; 0 or unset is off; anything else is refused."""
    value = (os.environ if environ is None else environ).get(ENV, "").strip()
    if value not in ("", "0", "1"):
        raise ConfigError(f"{ENV}={value!r}: set it to 1 (deterministic mode) or 0 (off)")
    return value == "1"


def apply() -> dict[str, Any]:
    """Switch this process to deterministic mode when it was asked for; return the record.

    Called when a run starts (the run store, `train`), before any CUDA work: cuBLAS reads its
    workspace setting when it first starts."""
    import torch

    if requested():
        request()  # this process too: cuBLAS reads the variable when it starts
        torch.set_num_threads(1)
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    return record()


def record() -> dict[str, Any]:
    """What provenance says about how deterministic a run was."""
    import torch

    return {
        "deterministic": requested() and torch.are_deterministic_algorithms_enabled(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cublas_workspace_config": os.environ.get(CUBLAS_ENV),
        # the vector unit torch's CPU kernels use (AVX2, AVX512, ...): another one sums floats
        # in another order, so one-thread runs repeat bit for bit only on CPUs that share it
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        # two CPUs with the same vector unit (an Intel with AMX, an AMD EPYC: both "AVX512")
        # can still take other kernels in oneDNN and MKL; the model tells them apart
        "cpu_model": cpu_model(),
    }


def cpu_model() -> str | None:
    """The CPU's model name (`/proc/cpuinfo` on Linux, else what the platform says), or None."""
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip() or None
    except OSError:
        pass
    return platform.processor() or None
