"""`python -m replication verify [CHAPTER ...]`: a fresh run against the committed seed
ensemble of its profile, as `nox -s verify` runs it after `nox -s reproduce`."""

from __future__ import annotations

import argparse
from pathlib import Path

from replication.config import ConfigError


def add_parser(sub: argparse._SubParsersAction, names: list[str]) -> None:
    p = sub.add_parser(
        "verify",
        help="compare a fresh run with the committed seed ensemble, number by number",
    )
    p.add_argument(
        "names",
        nargs="*",
        metavar="CHAPTER",
        help=f"default: every chapter with a committed ensemble ({', '.join(names)})",
    )
    p.add_argument("--profile", default="auto", help="quick, paper or auto")
    p.add_argument("--run", default=None, help="the run to check (default: the profile's run)")
    p.add_argument(
        "--mode",
        default="auto",
        choices=["auto", "band", "exact"],
        help="auto: exact for a --deterministic run of a committed seed, else band",
    )
    p.add_argument("--results-dir", default=None)


def run(args: argparse.Namespace, names: list[str]) -> int:
    """Print one table per chapter; exit 1 when a number is outside its band (or not equal)."""
    import pandas as pd

    from replication.config import resolve_profile
    from replication.runs import verify as v
    from replication.runs.paths import project_root

    unknown = sorted(set(args.names) - set(names))
    if unknown:
        raise ConfigError(f"unknown chapter(s) {unknown}; known: {names}")
    results = Path(args.results_dir) if args.results_dir else project_root() / "results"
    profile = resolve_profile(args.profile)
    chosen = list(args.names) or [n for n in names if v.ensemble_path(results, n, profile).exists()]
    if not chosen:
        raise ConfigError(f"no committed {profile} seed ensemble under {results}")
    pd.set_option("display.width", 200, "display.max_colwidth", 60, "display.max_rows", 500)
    bad: list[str] = []
    for name in chosen:
        try:
            res = v.verify_chapter(results, name, profile, args.run, args.mode)
        except ConfigError as e:
            print(f"\n== {name}: not checked: {e}")
            bad.append(name)
            continue
        how = (
            "equal to the committed seed, bit for bit"
            if res.mode == "exact"
            else f"inside the {v.LEVEL:.0%} prediction band of the committed seeds"
        )
        print(f"\n== {name}: run {res.run} against {profile}-seeds ({res.mode}: {how})")
        print(v.table(res.checks, exact=res.mode == "exact").to_string(index=False))
        for note in res.notes:
            print(f"note: {note}")
        n_in = sum(c.inside is True for c in res.checks)
        n_cmp = sum(c.inside is not None for c in res.checks)
        chance = (
            f" (by chance alone about {res.expected_outside:.1f} of its "
            f"{sum(c.banded for c in res.checks)} banded numbers would be)"
            if res.mode == "band"
            else ""
        )
        print(
            f"{name}: {n_in} of {n_cmp} inside"
            + (f", {len(res.checks) - n_cmp} unjudged (-)" if n_cmp < len(res.checks) else "")
            + (f"; OUTSIDE: {', '.join(c.key for c in res.outside)}{chance}" if res.outside else "")
        )
        if res.outside:
            bad.append(name)
    print("\nverify: " + ("every number inside" if not bad else f"check {', '.join(bad)}"))
    return 1 if bad else 0
