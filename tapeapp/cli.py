"""The command line: the same core calls as the page, for scripts, benchmarks and people who like terminals."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tapeapp import data, explain, features, judge, keep, report, train, words
from tapeapp.config import TrainConfig, preset
from tapeapp.errors import TapeError

# The folders load their modules on first use (tapeapp/__init__.py): a mistake in the knobs, the file or the target is
# said before TensorFlow is imported (0.4 s instead of 5 s for a refused command).

class _Parser(argparse.ArgumentParser):
    """argparse exits with status 2 already; make its message one plain ``error:`` line like ours."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise TapeError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tapeapp", description="Train a small neural network on a table, epoch by epoch "
                                                 "(also: python -m tapeapp).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    inspect = sub.add_parser("inspect", help="show each column's kind and the guessed target and task")
    inspect.add_argument("data")
    inspect.add_argument("--target")
    train_cmd = sub.add_parser("train", help="train and print one line per epoch; the last stdout line is JSON")
    _add_run_arguments(train_cmd)
    train_cmd.add_argument("--out", help="a folder, or a FILE.zip, for the project: model.keras, history.csv, "
                                         "config.json, predictions.csv, importance.csv, reproduce.py, report.html, "
                                         "the table, ...")
    train_cmd.add_argument("--no-table", action="store_true", help="leave the table out of --out's project")
    train_cmd.add_argument("--no-baselines", action="store_true",
                       help="do not fit the simpler models (majority/mean, linear, boosted trees) beside the network")
    lr_find = sub.add_parser("lr-find", help="range-test learning rates on a copy of the model and suggest one; "
                                             "the last stdout line is JSON")
    _add_run_arguments(lr_find)
    predict = sub.add_parser("predict", help="predict new rows with a project (.zip or folder) or a model.keras")
    predict.add_argument("model", help="a project .zip, the folder 'train --out' wrote, or a model.keras")
    predict.add_argument("data")
    predict.add_argument("--out", help="CSV file to write (default: print to stdout)")
    explain_cmd = sub.add_parser("explain", help="take rows apart: each row's prediction and what each column "
                                             "contributed to it (Shapley values), as CSV")
    explain_cmd.add_argument("run", help="the project 'train --out' wrote (a .zip or a folder), or its model.keras")
    explain_cmd.add_argument("data")
    explain_cmd.add_argument("--out", help="CSV file to write (default: print to stdout)")
    return parser


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The table, target and every training knob: one definition for ``train`` and ``lr-find``."""
    parser.add_argument("data")
    parser.add_argument("--target")
    parser.add_argument("--task", choices=list(words.TASK_CHOICES), default="auto")
    parser.add_argument("--preset")
    for flag, name in [("--epochs", "epochs"), ("--seed", "seed"), ("--val-fraction", "val_fraction"),
                       ("--hidden", "hidden"), ("--activation", "activation"), ("--optimizer", "optimizer"),
                       ("--lr", "learning_rate"), ("--batch-size", "batch_size"), ("--patience", "patience"),
                       ("--dropout", "dropout"), ("--l2", "l2"), ("--class-weight", "class_weight"),
                       ("--preprocessing", "preprocessing"), ("--split", "split"),
                       ("--inner-fraction", "inner_fraction"), ("--cv-below", "cv_below")]:
        parser.add_argument(flag, dest=name)


def _load(path: str):
    if not Path(path).is_file():
        raise TapeError(f"There is no file at '{path}'.")
    return data.read_table(path)


def _one_line(message: object) -> str:
    """A message on one line (a column name may hold a line break), so each problem is exactly one line."""
    return " ".join(str(message).splitlines())


def _warn(lines) -> None:
    for line in lines:
        print(f"warning: {_one_line(line)}", file=sys.stderr)


def cmd_inspect(args: argparse.Namespace) -> None:
    table = _load(args.data)
    schema = data.inspect_frame(table.frame, target=args.target)
    info = table.info
    print(f"{info.rows} rows x {info.columns} columns ({info.format}, delimiter {info.delimiter!r}, "
          f"encoding {info.encoding})")
    print(schema.to_frame().to_string(index=False))
    print(f"\ntarget: {schema.target}\ntask: {schema.task} ({schema.task_reason})")
    _warn(info.notes)
    _warn(schema.warnings)


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig that ``train`` with these arguments runs (benchmarks reuse it to run the same in-process)."""
    base = preset(args.preset) if args.preset else TrainConfig()
    changes = {k: getattr(args, k) for k in ("epochs", "seed", "val_fraction", "hidden", "activation", "optimizer",
                                              "learning_rate", "batch_size", "patience", "dropout", "l2",
                                              "class_weight", "preprocessing", "split", "inner_fraction",
                                              "cv_below")
               if getattr(args, k) is not None}
    return TrainConfig.from_dict({**base.to_dict(), **changes})


def _epoch_line(update) -> str:
    parts = [f"epoch {update.epoch}/{update.epochs}"]
    parts += [f"train_{k} {v:.4f}" for k, v in update.train.items()]
    parts += [f"val_{k} {v:.4f}" for k, v in update.validation.items()]
    if update.inner:
        parts += [f"inner_loss {update.inner['loss']:.4f}", f"kept epoch {update.kept_epoch}"]
    parts.append(f"{update.seconds * 1000:.1f} ms")
    return "  ".join(parts)


def _start(args: argparse.Namespace, baselines: bool = False):
    """The table read, its schema and a fresh run, warnings on stderr: what ``train`` and ``lr-find`` share.

    The knobs, the file and the target are checked before TensorFlow is imported (seconds): a mistake is said at once.
    """
    config = train_config(args)
    table = _load(args.data)
    schema = data.inspect_frame(table.frame, target=args.target, task=None if args.task == "auto" else args.task)
    _warn(table.info.notes)
    run = train.start_run(table.frame, schema, config, source_sha256=table.info.sha256,
                          baselines=judge.start_baselines if baselines else None)
    _warn(run.warnings)
    return table, schema, run


def cmd_train(args: argparse.Namespace) -> None:
    table, schema, run = _start(args, baselines=not args.no_baselines)
    for update in run.epochs():
        print(_epoch_line(update), file=sys.stderr)
    if run.message:
        print(run.message, file=sys.stderr)
    if run.history:
        _warn(filter(None, [judge.no_better_than_guessing(judge.evaluate(run), run.target)]))
    _advise(run)
    if args.out:
        written = _write_project(args, table, schema, run)
        names = sorted(p.name if p == Path(args.out) else p.relative_to(args.out).as_posix() for p in written)
        print(f"wrote {', '.join(names)} to {args.out}", file=sys.stderr)
    print(json.dumps(run.summary()))


def _write_project(args: argparse.Namespace, table, schema, run) -> list[Path]:
    """--out: the project (``tapeapp.keep.project``) as a folder or a .zip, with its report and the table itself."""
    info = table.info
    ranked = explain.importance(run)
    source = (keep.TableSource(name=info.name, fraction=info.fraction, sha256=info.sha256) if args.no_table
              else keep.TableSource.upload(Path(args.data).read_bytes(), info))
    return keep.write_project(args.out, run, schema, source, importance=ranked,
                         frame=table.frame, report=report.report_html(run, info, schema, importance=ranked, wait=0),
                         read_options={"delimiter": info.delimiter, "encoding": info.encoding,
                                       "decimal": info.decimal, "header": info.header})


def _advise(run) -> None:
    """Wait for the baselines (the JSON line and config.json report them), then say what to change, one line each."""
    run.wait_baselines()
    for advice in judge.diagnose(run):
        print(f"advice: [{advice.code}] {_one_line(advice.message)}", file=sys.stderr)


def cmd_lr_find(args: argparse.Namespace) -> None:
    _, _, run = _start(args)
    print(f"range test: up to 100 batches of {run.config.batch_size} rows, {run.config.optimizer}, learning rate "
          f"1e-06 to 1", file=sys.stderr)
    finding = train.find_learning_rate(run)
    print(f"{len(finding.losses)} batches ({finding.stopped_because}); suggested learning rate "
          f"{finding.suggested_learning_rate:g} by the rule {finding.rule}", file=sys.stderr)
    print(json.dumps(finding.to_dict()))


def cmd_predict(args: argparse.Namespace) -> None:
    source = Path(args.model)
    model, meta = keep.load_predictor(source / "model.keras" if source.is_dir() else source)
    frame = _load(args.data).frame
    extra = features.unexpected_columns(frame, [*(i["column"] for i in meta["inputs"]), meta["target"]])
    if extra:
        _warn([f"ignored columns the model does not use: {', '.join(map(str, extra))}"])
    out = keep.predict_with_model(model, meta, frame)
    if args.out:
        out.to_csv(args.out, index=False)
        print(f"wrote {len(out)} predictions to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(out.to_csv(index=False))


def cmd_explain(args: argparse.Namespace) -> None:
    result = keep.explain_folder(args.run, args.data)
    _warn(result.notes)
    if args.out:
        Path(args.out).write_text(result.csv)
        print(f"wrote the explanations of {result.rows} rows to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(result.csv)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        commands = {"inspect": cmd_inspect, "train": cmd_train, "lr-find": cmd_lr_find, "predict": cmd_predict,
                    "explain": cmd_explain}
        commands[args.command](args)
    except TapeError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001  (a fault in tapeapp: one line here, the traceback when asked for)
        if os.environ.get("TAPEAPP_DEBUG"):
            raise
        print(f"error: tapeapp failed unexpectedly ({type(exc).__name__}: {_one_line(exc)[:200]}); this is a fault "
              "in tapeapp, not in your input (set TAPEAPP_DEBUG=1 to see where)", file=sys.stderr)
        return 1
    return 0


def main_exit() -> None:
    """The ``tapeapp`` command (the same as ``python -m tapeapp``)."""
    sys.exit(main())
