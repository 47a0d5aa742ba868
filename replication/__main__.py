"""Command line: `python -m replication {params,notebook,train,sweep,aggregate,verify,book,...}`.

The same config classes as the notebooks, so `-p key value` is checked the same way.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from replication import chapters
from replication.config import ConfigError
from replication.datasets.mnist import DatasetError
from replication.runs.cli import TrainRequest, add_chapter_arguments
from replication.runs.weights import WeightsError


def _params(pairs: list[list[str]] | None) -> dict:
    from replication.publish.execute import parse_value

    return {k: parse_value(v) for k, v in (pairs or [])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m replication", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        add_chapter_arguments(p, chapters.names(), "")
        p.add_argument("--run-name", default=None)

    p = sub.add_parser("params", help="list a chapter's parameters with their profile values")
    p.add_argument("name", choices=chapters.names())
    p = sub.add_parser("notebook", help="execute a chapter notebook with Papermill")
    common(p)
    p = sub.add_parser("train", help="train a chapter's model without the notebook (long runs)")
    common(p)
    p.add_argument(
        "--time-budget-minutes",
        type=float,
        default=None,
        help="stop after the epoch that crosses this; re-run to resume",
    )
    p.add_argument(
        "--runs",
        default=None,
        help="train only these of the chapter's runs (comma-separated, e.g. wgan_vs_js's "
        "gan-mlp, parzen_tfd's fold names), so that runs can train side by side in separate "
        "processes",
    )
    p = sub.add_parser("book", help="assemble executed notebooks and build the book")
    p.add_argument("--profile", default="auto", choices=["auto", "paper", "quick"])
    p.add_argument("--no-strict", action="store_true")
    p = sub.add_parser(
        "results-table", help="every reproduced claim, published beside ours, from summaries"
    )
    p.add_argument("--results-dir", default=None)
    p.add_argument("--write-readme", action="store_true", help="update README.md's table")
    p = sub.add_parser(
        "rescore", help="re-score a committed run from its committed weights (no training)"
    )
    p.add_argument("name", choices=chapters.names())
    p.add_argument("--run", required=True, help="the run folder's name, e.g. paper-seed0")
    p.add_argument("--results-dir", default=None)
    p.add_argument("--data-dir", default=None)
    p = sub.add_parser(
        "park", help="commit a stopped run's whole training state, so another machine continues"
    )
    p.add_argument("name", choices=chapters.names())
    p.add_argument("--run", required=True)
    p.add_argument("--results-dir", default=None)
    p = sub.add_parser("data", help="verify (or, online, download) MNIST")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--download", action="store_true")
    from replication.runs import sweep_cli

    sweep_cli.add_parsers(sub, chapters.names())
    from replication.runs import verify_cli

    verify_cli.add_parser(sub, chapters.names())
    args = ap.parse_args(argv)
    if getattr(args, "deterministic", False):
        from replication.runs import determinism

        determinism.request()  # inherited by the notebook's kernel and by sweep workers

    try:
        if args.cmd == "params":
            import pandas as pd

            pd.set_option("display.width", 200, "display.max_colwidth", 70)
            print(pd.DataFrame(chapters.config_class(args.name).describe()).to_string(index=False))
        elif args.cmd == "notebook":
            from replication.publish.execute import execute

            out = execute(
                args.name, args.profile, _params(args.parameter), args.results_dir, args.run_name
            )
            print(f"executed notebook: {out}")
        elif args.cmd == "train":
            runs = args.runs.split(",") if args.runs else None
            request = TrainRequest(
                args.profile,
                _params(args.parameter),
                args.results_dir,
                args.run_name,
                args.time_budget_minutes,
                runs,
            )
            chapters.module(args.name).train_cli(request)
        elif args.cmd == "book":
            from replication.publish.book import build

            print(f"book: {build(args.profile, strict=not args.no_strict)}/index.html")
        elif args.cmd == "results-table":
            from replication.report import results_table as rt
            from replication.runs.paths import project_root

            root = project_root()
            table = rt.markdown(rt.rows(Path(args.results_dir or root / "results")))
            if args.write_readme:
                readme = root / "README.md"
                readme.write_text(rt.replace_block(readme.read_text(), table))
            print(table, end="")
        elif args.cmd == "rescore":
            mod = chapters.module(args.name)
            if not hasattr(mod, "rescore_cli"):
                raise ConfigError(f"{args.name} commits no weights; re-run its notebook")
            mod.rescore_cli(args.run, args.results_dir, args.data_dir)
        elif args.cmd == "park":
            from replication.runs.parked import park, parked_dir
            from replication.runs.store import checkpoint_dir

            if not getattr(chapters.module(args.name), "RESUMES_PARKED_STATE", False):
                raise ConfigError(f"{args.name} does not take up parked state; only parzen_mnist")
            ckpt = checkpoint_dir(args.results_dir, args.name, args.run)
            manifest = park(ckpt)
            print(f"parked {len(manifest)} file(s) in {parked_dir(ckpt)}: commit that folder")
        elif args.cmd in ("sweep", "aggregate"):
            return sweep_cli.run(args)
        elif args.cmd == "verify":
            return verify_cli.run(args, chapters.names())
        elif args.cmd == "data":
            from replication.datasets.mnist import download_mnist, locate_mnist

            if args.download:
                print(f"downloaded to {download_mnist(args.data_dir)}")
            for name, path in locate_mnist(args.data_dir).items():
                print(f"ok  {name}: {path}")
    except (ConfigError, DatasetError, WeightsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
