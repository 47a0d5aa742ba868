"""Advisory lock files, so that two processes never train the same run (each would overwrite the
other's checkpoints) or build the same cache at once. POSIX only; elsewhere a no-op."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from replication.config import ConfigError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the docs ask for one process per run
    fcntl = None  # type: ignore[assignment]


@contextmanager
def exclusive(path: Path, what: str, wait: bool = False) -> Iterator[None]:
    """Hold `path` locked for the block. `wait=False` refuses at once, naming `what`, when
    another process holds it; `wait=True` waits for it (a cache the other process is building).
    The lock dies with its process, so a killed run never leaves a stale lock behind."""
    if fcntl is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise ConfigError(
                f"{what} is being trained by another process right now (lock {path}); wait for "
                "it to stop, or evaluate what it has saved with -p time_budget_minutes 0"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
