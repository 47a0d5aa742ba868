"""One summary over a chapter's seed runs (`<profile>-seed<s>`): mean and spread of every
headline number, how many seeds agree on every yes/no finding, and which strings differ.

A single seed says little about a GAN; the aggregate says how much of a result is the seed.
It is written to `results/<chapter>/<profile>-seeds/summary.json`.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from replication.config import PROFILES, ConfigError

# bookkeeping every run summary carries: reported separately or not at all
META_KEYS = ("seed", "run_name", "profile", "started_utc", "git_commit")


def run_name(profile: str, seed: int) -> str:
    return f"{profile}-seed{seed}"


def aggregate_dir(results_dir: Path, chapter: str, profile: str) -> Path:
    return Path(results_dir) / chapter / f"{profile}-seeds"


def check_run_base(name: str | None, profile: str) -> str:
    """The base of the seed runs' names: the profile, or a named budget (`--name medium` for a
    paper-profile sweep at a shorter budget, so its runs are never mistaken for the profile's)."""
    if name is None or name == profile:
        return profile
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name) or re.search(r"-seeds?\d*$", name):
        raise ConfigError(
            f"--name {name!r}: use lower-case letters, digits, '-' and '_' (e.g. medium-1k), "
            "not ending in -seed or -seeds"
        )
    if name in PROFILES:
        raise ConfigError(
            f"--name {name!r} is another profile's name; runs of the {profile} profile under it "
            f"would pass for {name} runs (pick a budget name such as {profile}-short)"
        )
    return name


def finished_run(run_dir: Path) -> dict[str, Any] | None:
    """`{"summary", "config"}` of a committed run, or None when there is none to trust.

    A run folder appears only when its run committed (staging is swapped in whole), so a readable
    `summary.json` beside a `provenance.json` with a config means the run finished."""
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
        config = json.loads((run_dir / "provenance.json").read_text())["config"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(summary, dict) or not isinstance(config, dict):
        return None
    return {"summary": summary, "config": config}


def seed_runs(results_dir: Path, chapter: str, profile: str) -> dict[int, Path]:
    """Every `<profile>-seed<s>` folder of a chapter, by seed."""
    pattern = re.compile(rf"{re.escape(profile)}-seed(\d+)")
    chapter_dir = Path(results_dir) / chapter
    found = {}
    if chapter_dir.is_dir():
        for d in chapter_dir.iterdir():
            m = pattern.fullmatch(d.name)
            if m and d.is_dir():
                found[int(m.group(1))] = d
    return dict(sorted(found.items()))


def budget_fields(chapter: str) -> frozenset[str]:
    """Settings that decide where or how long a run goes, not what it measures (the chapter's
    `BUDGET_FIELDS`): seeds that differ only there belong to one ensemble."""
    from replication import chapters

    try:
        return frozenset(chapters.config_class(chapter).BUDGET_FIELDS)
    except KeyError:
        return frozenset({"device", "data_dir"})


def config_differences(
    a: dict[str, Any], b: dict[str, Any], ignore: frozenset[str] = frozenset()
) -> dict[str, tuple[Any, Any]]:
    """Keys whose values differ between two run configs, the seed (and `ignore`) aside."""
    keys = (set(a) | set(b)) - {"seed"} - ignore
    return {k: (a.get(k), b.get(k)) for k in sorted(keys) if a.get(k) != b.get(k)}


def check_same_config(
    configs: dict[int, dict[str, Any]],
    want: dict[str, Any] | None,
    ignore: frozenset[str] = frozenset(),
) -> None:
    """Refuse to mix configurations: an aggregate over different settings would be meaningless.

    `want` is the configuration asked for (None: the first run's)."""
    if not configs:
        return
    first = min(configs)
    ref = want if want is not None else configs[first]
    what = "this sweep asks for" if want is not None else f"seed {first}'s run has"
    bad = []
    for seed, cfg in configs.items():
        diff = config_differences(cfg, ref, ignore)
        if diff:
            shown = ", ".join(f"{k}={v!r} (vs {w!r})" for k, (v, w) in diff.items())
            bad.append(f"seed {seed}: {shown}")
    if bad:
        raise ConfigError(
            "finished seed runs disagree with what "
            + what
            + " (apart from the seed): "
            + "; ".join(bad)
            + ". Move those run folders away or sweep under another profile."
        )


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _stat(values: dict[int, Any]) -> dict[str, Any]:
    """One headline key over seeds: numbers get mean/sd, booleans a count, others their values."""
    present = {s: v for s, v in values.items() if v is not None}
    per_seed = {str(s): v for s, v in values.items()}
    if present and all(_is_number(v) and math.isfinite(v) for v in present.values()):
        xs = list(present.values())
        mean = sum(xs) / len(xs)
        sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else None
        return {"mean": mean, "sd": sd, "n": len(xs), "values": per_seed}
    if present and all(isinstance(v, bool) for v in present.values()):
        k, n = sum(present.values()), len(present)
        return {"true": k, "n": n, "agreement": f"{k} of {n}", "values": per_seed}
    distinct = {json.dumps(v, sort_keys=True) for v in values.values()}
    if len(distinct) == 1:
        return {"value": next(iter(values.values())), "n": len(values)}
    return {"differs": True, "n": len(values), "values": per_seed}


def aggregate(
    chapter: str,
    profile: str,
    summaries: dict[int, dict[str, Any]],
    *,
    seeds: list[int] | None = None,
    failed: dict[int, str] | None = None,
    extra: dict[str, Any] | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """The aggregate of per-seed summaries. `seeds` are those asked for (default: those given);
    the aggregate is complete only when every one of them has a summary and none failed. `name`
    is the runs' base name when it is not the profile's (a named budget, e.g. `medium`)."""
    base = name or profile
    failed = failed or {}
    seeds = sorted(seeds if seeds is not None else set(summaries) | set(failed))
    flat = {
        s: _flatten({k: v for k, v in summ.items() if k not in META_KEYS})
        for s, summ in sorted(summaries.items())
    }
    keys = list(dict.fromkeys(k for f in flat.values() for k in f))
    commits = _by_value(summaries, "git_commit")
    devices = _by_value(summaries, "device")
    return {
        "chapter": chapter,
        "profile": profile,
        "name": base,
        "run_names": [run_name(base, s) for s in seeds],
        "seeds": seeds,
        "seeds_aggregated": sorted(summaries),
        "complete": not failed and all(s in summaries for s in seeds),
        "failed": {str(s): log for s, log in sorted(failed.items())},
        "git_commits": commits,
        # provenance as every result carries it: a commit of this repository, the newest seed
        # run's when the seeds ran at several (each seed's is in git_commits)
        "git_commit": _newest_commit(summaries),
        "commits_mixed": len(commits) > 1,
        "device": next(iter(devices)) if len(devices) == 1 else "mixed (see devices)",
        "devices": devices,
        **(extra or {}),
        "metrics": {k: _stat({s: f.get(k) for s, f in flat.items()}) for k in keys},
    }


def _newest_commit(summaries: dict[int, dict[str, Any]]) -> str:
    """The commit of the seed run that started last (ties and missing times: the highest seed)."""
    if not summaries:
        return "unknown"
    s = max(summaries, key=lambda k: (str(summaries[k].get("started_utc", "")), k))
    return str(summaries[s].get("git_commit", "unknown"))


def _by_value(summaries: dict[int, dict[str, Any]], key: str) -> dict[str, list[int]]:
    """Seeds grouped by their summary's `key` (commit, device)."""
    out: dict[str, list[int]] = {}
    for s, summ in sorted(summaries.items()):
        out.setdefault(str(summ.get(key, "unknown")), []).append(s)
    return out


def write_aggregate(results_dir: Path, agg: dict[str, Any]) -> Path:
    from replication.runs.store import atomic_write_json  # torch: only the writing process

    base = agg.get("name") or agg["profile"]
    path = aggregate_dir(results_dir, agg["chapter"], base) / "summary.json"
    atomic_write_json(path, agg)
    return path


def aggregate_existing(
    results_dir: Path, chapter: str, profile: str, name: str | None = None
) -> tuple[dict, Path]:
    """`python -m replication aggregate`: every `<name>-seed<s>` run there is (the name defaults
    to the profile), committed or failed (a `<run>.failed.ipynb` from the notebook runner counts
    as a failed seed)."""
    from replication.runs.sweep import relative_to_project

    results_dir = Path(results_dir)
    base = check_run_base(name, profile)
    runs = {s: finished_run(d) for s, d in seed_runs(results_dir, chapter, base).items()}
    runs = {s: r for s, r in runs.items() if r is not None}
    failed = {}
    for nb in (results_dir / chapter).glob(f"{base}-seed*.failed.ipynb"):
        m = re.fullmatch(rf"{re.escape(base)}-seed(\d+)\.failed\.ipynb", nb.name)
        if m:
            failed[int(m.group(1))] = relative_to_project(nb, results_dir)
    if not runs and not failed:
        named = f" --name {base}" if base != profile else ""
        raise ConfigError(
            f"no finished {base}-seed<s> runs of {chapter} under {results_dir / chapter}; "
            f"run `python -m replication sweep {chapter} --profile {profile}{named} --seeds 0-4` "
            "first"
        )
    check_same_config({s: r["config"] for s, r in runs.items()}, None, budget_fields(chapter))
    summaries = {s: r["summary"] for s, r in runs.items()}
    extra = None
    if runs:
        from replication.runs.sweep import off_profile

        try:  # what makes a named budget another budget, as the sweep records it
            extra = {"parameters": off_profile(chapter, profile, runs[min(runs)]["config"])}
        except (ConfigError, KeyError):  # a chapter the registry does not know (tests' fakes)
            extra = None
    agg = aggregate(chapter, profile, summaries, failed=failed, name=base, extra=extra)
    return agg, write_aggregate(results_dir, agg)
