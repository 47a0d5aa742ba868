"""The `sweep` and `aggregate` subcommands, kept here so `__main__.py` only wires them in."""

from __future__ import annotations

import argparse
from pathlib import Path

from replication.config import ConfigError
from replication.runs.cli import add_chapter_arguments


def add_parsers(sub: argparse._SubParsersAction, names: list[str]) -> None:
    """Add `sweep` and `aggregate` to the command line's subparsers."""
    p = sub.add_parser(
        "sweep",
        help="one run per seed (<profile>-seed<s>), locally or on SLURM, then their aggregate",
    )
    add_chapter_arguments(p, names, " for every seed")
    p.add_argument("--seeds", required=True, help="e.g. 0-4, or 0-2,7")
    p.add_argument(
        "--name",
        dest="budget_name",
        default=None,
        help="name the runs NAME-seed<s> (default: the profile), for a named budget such as "
        "`--profile paper -p g_iters 1000 --name medium-1k`",
    )
    p.add_argument("--executor", default="auto", choices=["auto", "local", "slurm"])
    p.add_argument("--partition", default=None, help="SLURM partition")
    p.add_argument("--gpus-per-job", type=int, default=0, help="SLURM GPUs per seed")
    p.add_argument(
        "--time-minutes", type=int, default=720, help="limit per seed (SLURM --time; local too)"
    )
    p.add_argument(
        "--max-parallel",
        type=int,
        default=None,
        help="seeds at once (local: at most the cores; SLURM: the array's %%N)",
    )
    p = sub.add_parser("aggregate", help="aggregate whatever <profile>-seed<s> runs exist")
    p.add_argument("name", choices=names)
    p.add_argument("--profile", default="auto", help="quick, paper or auto")
    p.add_argument(
        "--name", dest="budget_name", default=None, help="the runs' base name if not the profile"
    )
    p.add_argument("--results-dir", default=None)


def run(args: argparse.Namespace) -> int:
    """Run `sweep` or `aggregate`; exit 1 when a seed failed (the aggregate is still written)."""
    from replication.runs.paths import project_root

    results = Path(args.results_dir) if args.results_dir else project_root() / "results"
    if args.cmd == "aggregate":
        from replication.config import resolve_profile
        from replication.runs.aggregate import aggregate_existing

        agg, path = aggregate_existing(
            results, args.name, resolve_profile(args.profile), args.budget_name
        )
    else:
        from replication.runs.sweep import sweep

        params = dict(args.parameter or [])
        if len(params) != len(args.parameter or []):
            raise ConfigError("a parameter is given twice with -p")
        res = sweep(
            args.name,
            args.seeds,
            args.profile,
            params,
            executor=args.executor,
            results_dir=results,
            max_parallel=args.max_parallel,
            partition=args.partition,
            gpus_per_job=args.gpus_per_job,
            time_minutes=args.time_minutes,
            deterministic=args.deterministic,
            name=args.budget_name,
        )
        agg, path = res.aggregate, res.path
        print(f"{res.executor}: ran seeds {res.ran}, skipped (already done) {res.skipped}")
    state = "complete" if agg["complete"] else f"INCOMPLETE, failed: {agg['failed']}"
    print(f"aggregate of seeds {agg['seeds_aggregated']} ({state}): {path}")
    return 0 if agg["complete"] else 1
