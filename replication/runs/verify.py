"""Is a fresh run inside the committed seed ensemble? Number by number, against
`results/<chapter>/<profile>-seeds/summary.json`.

A GAN's number from one run is one draw over seeds (and, on a CPU, over thread counts: float sums
depend on them), so a fresh run is checked against the spread of the committed seeds, not
against one committed run.

**The band** for a number with n seeds, mean m and sample sd s is the Student-t prediction
interval for one more draw, `m ± t(0.995, n-1) · s · sqrt(1 + 1/n)`: a run from the same
distribution lands inside it 99 % of the time under a normal model, whatever n is. Simpler
bands fail exactly where this project is, at 3 seeds: in a simulation of normal draws, a new
draw falls outside mean ± 3 sd 12 % of the time and outside the seed range widened by one sd
23 % of the time, so a check of ~50 numbers would cry wolf several times on every honest run.
The price is width at small n (11.5 sd at n = 3, 5.0 at 5, 3.4 at 10): more seeds make the check
sharper, and the table prints n and the band so a reader sees how sharp it is.

**The same in every seed** (to 9 digits: float noise of a shared number is no spread) means
one of three things, said per key below. A count the config sets (`CONFIG_COUNTS`: epochs,
samples, seeds) must be equal. A whole number training gives (`OUTCOME_COUNTS`: the epoch
chosen on validation, modes covered) may differ in the next seed even when n seeds agreed: a
whole number cannot show a spread below its resolution, so its sd is taken as at least that of
rounding, 1/sqrt(12), and the band is the usual one (±3.3 at n = 3). A fraction (a part with its
own fixed seed, such as the digit classifier, or an outcome that is whole only by chance, such
as a 0.0 share of good samples: `OUTCOME_FRACTIONS`) must agree to 6 digits, else it is shown
unjudged (`-`): the seeds give it no spread. A whole number in no list is held to equality,
and a test over the committed ensembles makes sure each one is declared. A yes/no is inside when at
least one committed seed gave the same answer; so is an undefined number (null: a standard error
of fewer than two values, say) when a committed seed had it undefined too. An undefined outcome
fraction that no committed seed had undefined is unjudged (`-`): n seeds that never saw it bound
its chance by 1 - 0.01^(1/n), 78 % at n = 3, so they cannot call it outside at 99 %.

**Many numbers**: at 99 % each, a run from the committed distribution puts about 1 in 100 of its
banded numbers outside by chance (fewer when they move together, as a chapter's numbers do), so
the report says how many that is beside how many are outside.

**Exact mode**: a run made with `--deterministic` for a seed the ensemble holds is compared with
that seed's committed values for equality, every number and every bit (same machine type and
library versions assumed; the check says when provenance shows otherwise).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from replication.config import ConfigError
from replication.runs import aggregate as agg

LEVEL = 0.99  # probability that a draw from the committed distribution lands inside its band
# how long, where and at which commit a run went: bookkeeping, not results (wall times, the
# in-run speed benchmarks and cost ratios measure the machine and its load, not the method); and
# `ledger.*`, the Table 1 ledger a run's page computes from the other committed runs
NOT_COMPARED = re.compile(
    r"(^|[._])(started_utc|git_\w+|device|run_name)$|time_s($|_)|^ledger($|\.)"
    r"|wall_s|(^|[._])bench_|cost_per_step_ratio|(^|[._])\w*seconds$"
)
# Whole numbers the config sets (so equal in every seed by construction): must be equal.
CONFIG_COUNTS = re.compile(
    r"(^|[._])(epochs|epochs_(target|trained)|\w*_epochs|n|n_\w+|\w*_n|seeds|seeds_\w+|\w*_seeds"
    r"|steps|\w*_steps|\w*g_iters(\.[\w-]+)?|\w*_per_g_step|\w*_samples|median_window"
    r"|generators_trained|lr_floor_epoch|trend_(from|to)_epoch|\w*_runs|dirac_rates_with_closed_form"
    r"|published_\w+)$"
)
# Whole numbers training gives: n seeds agreeing says no more than that their spread is below
# the resolution of a whole number.
OUTCOME_COUNTS = re.compile(
    r"(^|[._])(epoch_selected|\w*_modes|\w*_converged_runs|\w*_rates_agreeing)$"
)
# Outcomes that are fractions, whole only by chance (no good samples: 0.0; a standard error of
# seeds that agreed: 0.0): held to 6 digits like any shared fraction.
OUTCOME_FRACTIONS = re.compile(r"(^|[._])(\w*_hq|\w*_se|\w*_rkl|\w*_kl|\w*accuracy)$")
WHOLE_NUMBER_SD = 1 / math.sqrt(12)  # the sd of rounding to a whole number
SAME_DIGITS = 1e-9  # seeds agreeing to this relative precision (or 1e-12 absolute) share a number
SHOWN_CHARS = 60  # a long value (a list of claims, say) is cut in the table, compared in full


def compared(key: str) -> bool:
    return not NOT_COMPARED.search(key)


@dataclass(frozen=True)
class Check:
    """One number (or yes/no) of the fresh run against the ensemble."""

    key: str
    fresh: Any
    committed: str  # the ensemble's value as a reader reads it
    band: str
    inside: bool | None  # None: nothing to compare against (e.g. one seed, no sd)
    banded: bool = False  # judged by a prediction band (so outside by chance 1 - LEVEL of the time)


def t_quantile(p: float, dof: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(p, dof))


def band(
    stat: dict[str, Any], level: float = LEVEL, floor: float = 0.0
) -> tuple[float, float] | None:
    """The prediction band of a numeric ensemble entry (`mean`, `sd`, `n`), its sd taken as at
    least `floor`; None below 2 seeds."""
    n, sd, mean = stat.get("n", 0), stat.get("sd"), stat.get("mean")
    if n < 2 or sd is None or mean is None:
        return None
    sd = max(sd, floor)
    half = t_quantile(0.5 + level / 2, n - 1) * sd * math.sqrt(1 + 1 / n)
    return mean - half, mean + half


def fmt(x: Any) -> str:
    if isinstance(x, bool) or x is None:
        return {True: "yes", False: "no", None: "none"}[x]
    if isinstance(x, float):
        return str(int(x)) if x.is_integer() and abs(x) < 1e15 else f"{x:.4g}"
    return str(x)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def kind_of_whole_number(key: str) -> str:
    """'outcome' (training gives it), 'fraction' (whole by chance), 'config' (the config sets
    it) or 'undeclared' (held to equality, as a config count)."""
    if OUTCOME_COUNTS.search(key):
        return "outcome"
    if OUTCOME_FRACTIONS.search(key):
        return "fraction"
    return "config" if CONFIG_COUNTS.search(key) else "undeclared"


def no_spread(stat: dict[str, Any]) -> bool:
    """Every seed gave the same number, up to float noise (a real-image score every seed
    computes, summed in another order: sd 1.6e-14 around 119.8)."""
    sd, mean = stat.get("sd"), stat.get("mean")
    if sd is None or not _is_number(mean) or stat.get("n", 0) < 2:
        return False
    return sd == 0 or sd <= SAME_DIGITS * abs(mean) + 1e-12


def _same_in_every_seed(key: str, fresh: Any, stat: dict[str, Any], level: float) -> Check:
    """A number the seeds agree on. A count the config sets must be equal. A whole-number
    outcome gets a band from the sd of rounding (its seeds' agreement shows no more). A fraction
    equal in every seed comes from a part with a seed of its own (the digit classifier, the
    real-image scores) or is an outcome whole by chance: it must agree to 6 significant digits
    (a thread count moves the last bits), else nothing judges it: the seeds give no spread."""
    mean, shown = stat["mean"], fmt(stat["mean"]) + f" (n={stat['n']})"
    kind = kind_of_whole_number(key)
    if kind == "outcome":  # a count, or a mean of counts over toy seeds (0.6 modes)
        return _banded(key, fresh, stat, level, floor=WHOLE_NUMBER_SD)
    if float(mean).is_integer() and kind in ("config", "undeclared"):
        return Check(
            key, fresh, shown, "equal" if kind == "config" else "equal (undeclared)", fresh == mean
        )
    close = _is_number(fresh) and math.isclose(fresh, mean, rel_tol=1e-6, abs_tol=1e-12)
    return Check(key, fresh, shown, "equal (6 digits), else no spread", True if close else None)


def _undefined_seeds(stat: dict[str, Any]) -> tuple[int, int]:
    """(seeds where the number was undefined, seeds in all): a standard error over fewer than
    two toy seeds with good samples, say, is null in summary.json."""
    values = stat.get("values", {})
    return sum(v is None for v in values.values()), len(values)


def check_number(key: str, fresh: Any, stat: dict[str, Any], level: float = LEVEL) -> Check:
    undefined, seeds = _undefined_seeds(stat)
    if fresh is None and undefined:  # an outcome the committed seeds had too
        committed = f"{fmt(stat['mean'])} ± {fmt(stat['sd'])} (n={stat['n']})"
        return Check(key, fresh, committed, f"undefined in {undefined} of {seeds} seeds", True)
    if fresh is None and seeds and OUTCOME_FRACTIONS.search(key):
        # an outcome that may be undefined (a standard error over fewer than two toy seeds with
        # good samples), never undefined in n committed seeds: n seeds bound its chance only
        # by 1 - 0.01^(1/n) (78 % at n = 3), so they cannot call it outside at 99 %
        band = f"defined in all {seeds} seeds: too few to judge"
        return Check(key, fresh, f"{fmt(stat['mean'])} ± {fmt(stat['sd'])} (n={stat['n']})", band,
                     None)  # fmt: skip
    if no_spread(stat):
        return _same_in_every_seed(key, fresh, stat, level)
    floor = WHOLE_NUMBER_SD if kind_of_whole_number(key) == "outcome" else 0.0
    return _banded(key, fresh, stat, level, floor)


def _banded(key: str, fresh: Any, stat: dict[str, Any], level: float, floor: float) -> Check:
    committed = f"{fmt(stat['mean'])} ± {fmt(stat['sd'])} (n={stat['n']})"
    b = band(stat, level, floor)
    if b is None:
        return Check(key, fresh, committed, "none (1 seed)", None)
    shown = f"[{fmt(b[0])}, {fmt(b[1])}]" + (" (sd ≥ 1/√12)" if floor > stat["sd"] else "")
    if not _is_number(fresh) or not math.isfinite(fresh):
        return Check(key, fresh, committed, shown, False, banded=True)
    return Check(key, fresh, committed, shown, b[0] <= fresh <= b[1], banded=True)


def check_yes_no(key: str, fresh: Any, stat: dict[str, Any]) -> Check:
    k, n = stat["true"], stat["n"]
    same = k if fresh is True else n - k if fresh is False else 0
    return Check(key, fresh, f"yes in {k} of {n}", "seen in a seed", same > 0)


def flat_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """A run's summary keyed as the aggregate keys it (nested dicts as `a.b`)."""
    return agg._flatten({k: v for k, v in summary.items() if k not in agg.META_KEYS})


def compare_band(
    summary: dict[str, Any], aggregate: dict[str, Any], level: float = LEVEL
) -> list[Check]:
    """Every number and yes/no of the ensemble, with the fresh run's value against its band.
    Strings and lists are not compared (they name things or repeat per-fold detail)."""
    fresh = flat_summary(summary)
    out = []
    for key, stat in aggregate["metrics"].items():
        if not compared(key):
            continue
        value = fresh.get(key)
        if "mean" in stat:
            out.append(check_number(key, value, stat, level))
        elif "true" in stat:
            out.append(check_yes_no(key, value, stat))
    return out


def compare_exact(summary: dict[str, Any], aggregate: dict[str, Any], seed: int) -> list[Check]:
    """Every compared value of the fresh run against committed seed `seed`'s, for equality."""
    if seed not in aggregate.get("seeds_aggregated", []):
        raise ConfigError(
            f"seed {seed} is not in the committed ensemble (seeds "
            f"{aggregate.get('seeds_aggregated')}): exact comparison needs one of them"
        )
    fresh = flat_summary(summary)
    out = []
    for key, stat in aggregate["metrics"].items():
        if not compared(key):
            continue
        want = stat["values"].get(str(seed)) if "values" in stat else stat.get("value")
        got = fresh.get(key)
        shown = repr(want) if isinstance(want, float) else fmt(want)
        out.append(Check(key, got, shown, "equal", _same(got, want)))
    return out


def _same(a: Any, b: Any) -> bool:
    """Equality as JSON holds it: bit for bit for floats (NaN was written as null)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _cut(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def table(checks: list[Check], exact: bool = False) -> pd.DataFrame:
    """The comparison as a reader reads it; in exact mode floats in full (`repr`), since a
    difference in the last bit is the point."""

    def show(x: Any) -> str:
        return _cut(repr(x) if exact and isinstance(x, float) else fmt(x))

    cols = (
        ["number", "this run", "committed seed", "equal"]
        if exact
        else ["number", "this run", "committed seeds", "band", "inside"]
    )
    rows = []
    for c in checks:
        verdict = {True: "yes", False: "NO", None: "-"}[c.inside]
        if exact:
            rows.append([c.key, show(c.fresh), _cut(c.committed), verdict])
        else:
            rows.append([c.key, show(c.fresh), _cut(c.committed), c.band, verdict])
    return pd.DataFrame(rows, columns=cols)


# -- reading a chapter's runs ---------------------------------------------------------------------


@dataclass
class ChapterCheck:
    chapter: str
    run: str
    mode: str  # "band" or "exact"
    checks: list[Check]
    notes: list[str]

    @property
    def outside(self) -> list[Check]:
        return [c for c in self.checks if c.inside is False]

    @property
    def expected_outside(self) -> float:
        """How many banded numbers a run from the committed distribution puts outside by
        chance, were they independent (a chapter's numbers move together: fewer)."""
        return sum(c.banded for c in self.checks) * (1 - LEVEL)


def _read(path: Path, what: str, fix: str) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"no {what} at {path}; {fix}") from None
    except ValueError as e:
        raise ConfigError(f"{what} at {path} is not valid JSON ({e})") from None


def ensemble_path(results_dir: Path, chapter: str, profile: str) -> Path:
    return agg.aggregate_dir(results_dir, chapter, profile) / "summary.json"


def verify_chapter(
    results_dir: Path, chapter: str, profile: str, run: str | None = None, mode: str = "auto"
) -> ChapterCheck:
    """Compare `results/<chapter>/<run>` (default: the profile's run, as `nox -s reproduce`
    writes it) with the profile's committed ensemble. `mode`: auto (exact for a run made with
    `--deterministic` whose seed the ensemble holds, else band), band or exact."""
    if mode not in ("auto", "band", "exact"):
        raise ConfigError(f"mode must be auto, band or exact, got {mode!r}")
    run = run or profile
    ens = _read(
        ensemble_path(results_dir, chapter, profile),
        f"committed {profile} seed ensemble of {chapter}",
        f"make one with `python -m replication sweep {chapter} --profile {profile} --seeds 0-2`",
    )
    run_dir = Path(results_dir) / chapter / run
    fix = f"run `python -m replication notebook {chapter} --profile {profile}` (or name --run)"
    summary = _read(run_dir / "summary.json", f"run {chapter}/{run}", fix)
    prov = _read(run_dir / "provenance.json", f"provenance of {chapter}/{run}", fix)
    seed = int(prov.get("seed", summary.get("seed", 0)))
    notes = _config_notes(results_dir, chapter, profile, ens, prov)
    if mode == "auto":
        exact = prov.get("deterministic") and seed in ens.get("seeds_aggregated", [])
        mode = "exact" if exact else "band"
    if mode == "exact":
        notes += _exactness_notes(results_dir, chapter, profile, seed, prov)
        checks = compare_exact(summary, ens, seed)
    else:
        checks = compare_band(summary, ens)
    if not ens.get("complete", True):
        notes.append(f"the committed ensemble is incomplete (failed seeds: {ens.get('failed')})")
    return ChapterCheck(chapter, run, mode, checks, notes)


def _seed_provenance(results_dir: Path, chapter: str, profile: str, seed: int) -> dict | None:
    try:
        path = Path(results_dir) / chapter / agg.run_name(profile, seed) / "provenance.json"
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _config_notes(results_dir, chapter, profile, ens, prov) -> list[str]:
    """Refuse a comparison across configurations: it would say nothing."""
    seeds = ens.get("seeds_aggregated") or []
    ref = _seed_provenance(results_dir, chapter, profile, seeds[0]) if seeds else None
    if ref is None:
        return ["the committed seed runs' provenance was not found: configuration not checked"]
    diff = agg.config_differences(prov.get("config", {}), ref["config"], agg.budget_fields(chapter))
    if diff:
        shown = ", ".join(f"{k}={v!r} (seeds: {w!r})" for k, (v, w) in diff.items())
        raise ConfigError(
            f"{chapter}: this run's configuration differs from the committed seeds' ({shown}); "
            "re-run it with the profile's values, or compare it with an ensemble of its own"
        )
    return []


def _exactness_notes(results_dir, chapter, profile, seed, prov) -> list[str]:
    """Exact equality needs the same arithmetic: say where provenance shows it differs."""
    ref = _seed_provenance(results_dir, chapter, profile, seed)
    if ref is None:
        return [f"seed {seed}'s committed provenance was not found"]
    notes = []
    recorded_later = ("cpu_capability", "cpu_model")  # older committed runs lack them
    for key in ("device_type", "torch_threads", "deterministic", *recorded_later):
        if ref.get(key) != prov.get(key) and (key in ref or key not in recorded_later):
            notes.append(f"{key}: committed {ref.get(key)!r}, this run {prov.get(key)!r}")
    ours, theirs = prov.get("versions", {}), ref.get("versions", {})
    for lib in ("torch", "numpy", "scipy", "python"):
        if ours.get(lib) != theirs.get(lib):
            notes.append(f"{lib} {ours.get(lib)} here, {theirs.get(lib)} in the committed run")
    if notes:
        notes.insert(0, "bit-identical results need the same arithmetic, and it differs:")
    elif prov.get("device_type") == "cpu":
        what = {"cpu_capability": "the CPU's vector unit", "cpu_model": "the CPU's model"}
        for key in recorded_later:
            if key not in ref and prov.get(key):
                notes.append(
                    f"the committed run predates the record of {what[key]} ({key}; this "
                    f"run's: {prov.get(key)!r}): a CPU of another kind sums floats in another "
                    "order, which alone can make a one-thread run differ"
                )
    return notes
