"""The ``stancelab`` command.

``train`` hands its arguments to Hydra untouched (overrides, ``-m`` multirun, ``--cfg job``...).
The other commands parse their own options and take the same Hydra overrides as trailing
arguments, so that ``data build``, ``evaluate`` and ``train`` see one config. Heavy libraries
are imported inside the commands that need them: ``stancelab --help`` and ``predict`` on a
local model start fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stancelab import __version__
from stancelab.errors import StancelabError

log = logging.getLogger("stancelab")

USAGE = """stancelab {train,predict,evaluate,data} ...

  stancelab train [HYDRA OVERRIDES]            build the dataset, train, evaluate, log to MLflow
  stancelab train -m model=logreg,sgd          a sweep (one parent run in MLflow)
  stancelab predict --model URI TEXT ...       stance of each text (or --input FILE, --article FILE)
  stancelab evaluate --model URI --data FILE   score a saved model on an annotated file
  stancelab data build|validate|stats|segment  dataset building and corpus tools
"""


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(format="%(message)s", level=logging.WARNING, stream=sys.stderr)
    log.setLevel(logging.DEBUG if verbose else logging.INFO)


# --------------------------------------------------------------------------- errors


def debugging() -> bool:
    """Show full stacks (``--debug``, or Hydra's own ``HYDRA_FULL_ERROR=1``)."""
    return os.environ.get("HYDRA_FULL_ERROR") == "1" or os.environ.get("STANCELAB_DEBUG") == "1"


def unexpected(err: BaseException) -> str:
    """One line for an error stancelab did not anticipate (exit 1): what, and how to see more."""
    first = (str(err).strip().splitlines() or [""])[0]
    return (
        f"error: unexpected {type(err).__name__}: {first}\n"
        "(this is a bug or an unforeseen input; run again with --debug for the full stack)"
    )


# --------------------------------------------------------------------------- train


def _train(argv: Sequence[str]) -> int:
    import hydra
    from hydra.core.hydra_config import HydraConfig

    from stancelab.config import conf_dir, register_resolvers

    register_resolvers()

    @hydra.main(config_path=str(conf_dir()), config_name="config", version_base="1.3")
    def job(cfg: Any) -> float | None:
        from stancelab.config import with_choices
        from stancelab.schema import validate
        from stancelab.training import train

        hydra_cfg = HydraConfig.get()
        cfg = with_choices(cfg, hydra_cfg.runtime.choices)
        try:
            validate(cfg, list(hydra_cfg.overrides.task))
            if cfg.get("search"):
                from stancelab.search import run_search

                return run_search(cfg)["best_value"]
            result = train(cfg)
        except StancelabError as err:
            if debugging():
                raise
            print(f"error: {err}", file=sys.stderr)
            sys.exit(err.exit_code)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as err:
            if debugging():
                raise
            print(unexpected(err), file=sys.stderr)
            sys.exit(1)
        print(_summary(result, cfg), flush=True)
        return result.metrics.get(f"val_{cfg.evaluation.primary_metric}")

    sys.argv = ["stancelab train", *argv]
    job()
    return 0


def _summary(result: Any, cfg: Any) -> str:
    if cfg.get("json"):
        return json.dumps(
            {
                "run_id": result.run_id,
                "model_uri": result.model_uri,
                "registered": result.registered,
                "metrics": result.metrics,
            }
        )
    m = result.metrics
    shown = [
        k
        for k in ("val_macro_f1", "val_f_avg", "test_macro_f1", "test_f_avg", "test_accuracy")
        if k in m
    ]
    lines = [f"run       {result.run_id or '(tracking off)'}"]
    lines.append("metrics   " + "  ".join(f"{k} {m[k]:.3f}" for k in shown))
    if "test_macro_f1_ci_low" in m:
        lines.append(
            f"          test macro-F1 95% CI [{m['test_macro_f1_ci_low']:.3f}, "
            f"{m['test_macro_f1_ci_high']:.3f}]"
        )
    if "realdev_macro_f1" in m:  # the news-derived documents held out as real_dev
        interval = (
            f"  95% CI [{m['realdev_macro_f1_ci_low']:.3f}, {m['realdev_macro_f1_ci_high']:.3f}]"
            if "realdev_macro_f1_ci_low" in m
            else ""
        )
        lines.append(
            f"real_dev  realdev_macro_f1 {m['realdev_macro_f1']:.3f}  "
            f"realdev_f_avg {m['realdev_f_avg']:.3f}{interval}"
        )
    if result.model_uri:
        lines.append(f"model     {result.model_uri}")
    if result.registered:
        lines.append(f"registered {result.registered}")
    if result.model_uri:
        lines.append(
            f"predict   stancelab predict --model {result.registered or result.model_uri} "
            '"Paris will not rule out sending instructors to Ukraine."'
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- data


def _data(args: argparse.Namespace) -> int:
    from stancelab.config import compose

    if args.data_command == "segment":
        return _segment(args)
    cfg = compose(args.overrides)
    if args.data_command == "validate":
        from stancelab.data.build import prepare

        prepared = prepare(cfg.dataset)
        n = sum(len(v) for v in prepared.splits.values())
        print(f"ok: {n} sentences in {len(prepared.report['files'])} file(s), no problems")
        return 0
    if args.data_command == "build":
        from stancelab.data.build import build_dataset

        built = build_dataset(cfg.dataset, force=args.force)
        state = "reused" if built.reused else "built"
        sizes = ", ".join(f"{k} {len(v)}" for k, v in built.dataset.items())
        print(f"{state} {built.path} ({sizes}); fingerprint {built.fingerprint[:12]}")
        return 0
    from stancelab.data.stats import corpus_stats, render_markdown, render_stats

    stats = corpus_stats(cfg)
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        print(render_markdown(stats) if args.markdown else render_stats(stats), end="")
    return 0


def _segment(args: argparse.Namespace) -> int:
    from stancelab.data.segment import segment_file, write_annotation_file

    path = Path(args.article)
    sentences = segment_file(path, language=args.language)
    out = write_annotation_file(sentences, path, args.output, fmt=args.format, target=args.target)
    if args.output:
        print(f"{len(sentences)} sentences → {out}", file=sys.stderr)
    else:
        sys.stdout.write(out)
    return 0


# --------------------------------------------------------------------------- predict / evaluate


# With ``--engine auto``, inputs longer than this go to scikit-learn: the NumPy copy starts ~2 s
# sooner but scores hashed features ~1.5x slower (experiments/bench: 13k vs 20k sentences/s),
# so past ~100k sentences the pipeline is the quicker of the two.
LITE_MAX_ROWS = 100_000


def _predict(args: argparse.Namespace) -> int:
    from stancelab.inference import load
    from stancelab.io import read_inputs, write_predictions

    if args.article:
        from stancelab.data.segment import segment_file
        from stancelab.inference import article_report

        data: Any = segment_file(Path(args.article))
    elif args.input:
        data = read_inputs(Path(args.input))
    elif args.texts:
        data = list(args.texts)
    else:
        raise StancelabError("give texts to classify, or --input FILE, or --article FILE")
    engine = "sklearn" if args.engine == "auto" and len(data) > LITE_MAX_ROWS else args.engine
    predictor = load(args.model, trust=args.trust, experiment=args.experiment, engine=engine)
    if args.article:
        print(article_report(predictor.predict_records(data, args.target), predictor.classes))
        return 0
    records = predictor.iter_records(
        data, args.target, batch_size=args.batch_size, progress=bool(args.input)
    )
    write_predictions(records, args.output, predictor.classes)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from stancelab.inference import evaluate_file, load

    predictor = load(args.model, trust=args.trust, experiment=args.experiment)
    report = evaluate_file(
        predictor, Path(args.data), fmt=args.format, target=args.target, overrides=args.overrides
    )
    print(json.dumps(report["metrics"], indent=2) if args.json else report["text"])
    return 0


# --------------------------------------------------------------------------- parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stancelab", usage=USAGE, description="Train, track and serve stance classifiers."
    )
    parser.add_argument("--version", action="version", version=f"stancelab {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the full stack of any error (also HYDRA_FULL_ERROR=1)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("train", help="train (Hydra overrides; see `stancelab train --help`)")

    def model_args(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--model",
            required=True,
            help="runs:/ID/model, models:/NAME@ALIAS, models:/NAME/N, a folder, or best",
        )
        p.add_argument("--target", help="target for texts that do not name one")
        p.add_argument(
            "--trust",
            action="append",
            default=[],
            metavar="TYPE",
            help="trust this type when loading the model (repeatable)",
        )
        p.add_argument("--experiment", default="stancelab", help="experiment searched by 'best'")

    p = sub.add_parser("predict", help="predict stances with a saved model")
    model_args(p)
    p.add_argument("texts", nargs="*", help="texts to classify")
    p.add_argument("--input", help="file: .txt (a sentence a line), .jsonl or .csv with 'text'")
    p.add_argument("--output", help="write .jsonl or .csv here (default: JSONL on stdout)")
    p.add_argument("--article", help="a raw article: segment, classify, summarise")
    p.add_argument(
        "--batch-size",
        type=_positive_int,
        default=4096,
        help="sentences scored at a time (default 4096)",
    )
    p.add_argument(
        "--engine",
        choices=["auto", "sklearn", "lite"],
        default="auto",
        help="auto (default): the model's NumPy-only copy when it has one (it "
        "starts without importing scikit-learn), the fitted pipeline for inputs "
        "over 100,000 sentences; sklearn: always the pipeline; lite: always the "
        "copy",
    )

    p = sub.add_parser("evaluate", help="evaluate a saved model on an annotated file")
    model_args(p)
    p.add_argument("--data", required=True, help="annotated file (.jsonl, .csv, .tsv, ...)")
    p.add_argument("--format", help="source format (default: from the file extension)")
    p.add_argument("--json", action="store_true", help="print metrics as JSON")
    p.add_argument("overrides", nargs="*", help="Hydra overrides (e.g. dataset.label_map...)")

    p = sub.add_parser("data", help="build, validate, describe and segment data")
    dsub = p.add_subparsers(dest="data_command", required=True)
    for name, text in (
        ("build", "build the configured dataset (cached)"),
        ("validate", "check the configured dataset's files; write nothing"),
        ("stats", "counts per target, label, split and document kind"),
    ):
        d = dsub.add_parser(name, help=text)
        d.add_argument("overrides", nargs="*", help="Hydra overrides, as for train")
        if name == "build":
            d.add_argument("--force", action="store_true", help="rebuild even if cached")
        if name == "stats":
            d.add_argument("--json", action="store_true", help="print the figures as JSON")
            d.add_argument(
                "--markdown", action="store_true", help="print the corpus card's Markdown tables"
            )
    d = dsub.add_parser("segment", help="split a raw article into sentences ready to annotate")
    d.add_argument("article")
    d.add_argument("--output", help="file to write (default: stdout)")
    d.add_argument("--format", choices=["jsonl", "label_studio"], default="jsonl")
    d.add_argument("--target", default="troop deployment to Ukraine")
    d.add_argument("--language", default="en")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--debug" in argv:
        argv.remove("--debug")
        os.environ["STANCELAB_DEBUG"] = "1"
        os.environ["HYDRA_FULL_ERROR"] = "1"
    if argv and argv[0] == "train":
        try:
            return _train(argv[1:])
        except KeyboardInterrupt:
            return 130
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        if args.command == "data":
            return _data(args)
        if args.command == "predict":
            return _predict(args)
        if args.command == "evaluate":
            return _evaluate(args)
    except StancelabError as err:
        if debugging():
            raise
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as err:
        if debugging():
            raise
        print(unexpected(err), file=sys.stderr)
        return 1
    return 0


def run() -> None:
    """Console entry point: ``main()``, then a quick exit.

    Python's teardown frees every module one by one: ~0.4 s after a ``predict`` (a fifth of a
    cold start) and ~1.5 s after a ``train`` that loaded MLflow. Once the command is done, exit
    handlers are run (MLflow's, logging's, an interrupted sweep's parent run is closed), output
    is flushed, and the process ends without that teardown. When other threads are still alive
    (e.g. a launcher's workers; daemon threads do not count, Python never joins them) the
    normal exit is kept, so that they are joined as usual.
    """
    code = main()
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    # Python would join non-daemon threads before exiting; a profiler or tracer (cProfile,
    # coverage, a debugger) writes its results after the program ends.
    if any(not t.daemon for t in others) or sys.getprofile() or sys.gettrace():
        sys.exit(code)
    from stancelab._compat import run_exit_handlers

    run_exit_handlers()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # e.g. `stancelab predict ... | head`
        pass
    os._exit(code)


if __name__ == "__main__":
    run()
