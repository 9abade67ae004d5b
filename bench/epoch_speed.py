"""Seconds per epoch and validation accuracy: the tutorial's eager loop, model.fit, scikit-learn and tapeapp.

    python bench/epoch_speed.py                      # generated heart-shaped table, 60 epochs, seeds 0-2
    python bench/epoch_speed.py --csv heart.csv --target HeartDisease
    python bench/epoch_speed.py --quick              # a few seconds, to check the script runs
    python bench/epoch_speed.py --recipe-seeds 0-9 --csv heart.csv --target HeartDisease
    python bench/epoch_speed.py --recipe-seeds 0-99 --csv heart.csv --target HeartDisease --in-process

Same data, same network (Dense 64 LeakyReLU(0.3) x2 -> Dense 1 sigmoid), batch 32, same epochs for all four.
The data for every method is tapeapp's own prepared matrices (``run.prepared.x_train`` ...) from the "tutorial"
preset: the tutorial's unstratified 60/40 split, category codes and mean/std scaling fitted on the training rows.
The three Keras methods also start from the same initial weights (copied from the tapeapp run's fresh model),
so accuracy differences come from batch order and arithmetic only. The tutorial loop, model.fit and tapeapp run
in step, one epoch each in turn (shared machines drift in speed; this way epoch k of each sees the same machine);
scikit-learn, which has no per-epoch hook, runs its whole fit three times per seed (total time / epochs, median),
each fit alternating with a fresh tapeapp run consumed back to back, which is what scikit-learn is compared with.
Seconds per epoch are the median after one warm-up epoch; for tapeapp they are the wall time of one
``next()`` on ``run.epochs()``, i.e. what the page waits for (compiled epoch, validation pass, per-epoch metrics,
gradient and weight norms). All run in one process under tapeapp's TensorFlow settings (oneDNN off, op
determinism on, one inter-op thread).

``--recipe-seeds`` instead runs the tutorial's recipe end to end from the raw table (its own preprocessing and
seeding) next to ``python -m tapeapp train`` with the tutorial preset and with the default preset, per seed.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from _common import (
    HEART_LIKE_TARGET,
    ROOT,
    heart_like,
    machine,
    median_after_warmup,
    print_table,
    spread,
    tutorial_model,
)

ONEDNN = os.environ.get("TF_ENABLE_ONEDNN_OPTS")  # as the shell set it, before `import tapeapp` turns it off

BATCH = 32
METHODS = ("tutorial", "fit", "sklearn", "tapeapp", "tapeapp_alone")
LABELS = {
    "tutorial": "tutorial eager GradientTape loop",
    "fit": "Keras model.fit",
    "sklearn": "scikit-learn MLPClassifier",
    "tapeapp": "tapeapp run.epochs(), in step with the two above",
    "tapeapp_alone": "tapeapp run.epochs(), back to back like sklearn",
}
GOALS = {"tutorial": 40.0, "fit": 5.0, "sklearn": 1.0}
# Each peer is compared with tapeapp timed the same way: the Keras loops epoch by epoch in step, scikit-learn's
# whole fit against tapeapp's epochs run back to back (as the page runs them), with nothing in between.
PEER = {"tutorial": "tapeapp", "fit": "tapeapp", "sklearn": "tapeapp_alone"}


@dataclass
class Result:
    seconds: float  # per epoch, median after warm-up
    accuracy: float  # validation accuracy after the last epoch
    loop_seconds: float = float("nan")  # tapeapp only: EpochUpdate.seconds (the compiled epoch call)


# ---------------------------------------------------------------------------------------------------- the methods

def tutorial_loop(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, make_model,
                  epochs: int) -> Iterator[tuple[float, float]]:
    """The tutorial's loop as written there: tf.data, an eager GradientTape step per batch, no tf.function.

    A generator so that the benchmark can run it in step with the others: it yields (seconds, validation accuracy)
    after each epoch; the timed part is exactly the tutorial's epoch (training pass + validation pass). The model is
    made after the datasets, in the tutorial's order, so the random draws stay the tutorial's.
    """
    import keras
    import tensorflow as tf

    train_dataset = tf.data.Dataset.from_tensor_slices((x_train.astype("float32"), y_train.astype("float32")))
    train_dataset = train_dataset.shuffle(len(x_train)).batch(BATCH).prefetch(tf.data.AUTOTUNE)
    val_dataset = tf.data.Dataset.from_tensor_slices((x_val.astype("float32"), y_val.astype("float32")))
    val_dataset = val_dataset.batch(BATCH).prefetch(tf.data.AUTOTUNE)
    model = make_model()
    loss_fn = keras.losses.BinaryCrossentropy()
    optimizer = keras.optimizers.RMSprop(learning_rate=1e-3)
    train_acc_metric = keras.metrics.BinaryAccuracy()
    val_acc_metric = keras.metrics.BinaryAccuracy()

    for _epoch in range(epochs):
        started = time.perf_counter()
        for x_batch_train, y_batch_train in train_dataset:
            with tf.GradientTape() as tape:
                logits = model(x_batch_train, training=True)
                loss_value = loss_fn(y_batch_train, logits)
            grads = tape.gradient(loss_value, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            train_acc_metric.update_state(y_batch_train, logits)
        train_acc = float(train_acc_metric.result())  # noqa: F841 (the tutorial prints it)
        train_acc_metric.reset_state()
        for x_batch_val, y_batch_val in val_dataset:
            val_logits = model(x_batch_val, training=False)
            val_acc_metric.update_state(y_batch_val, val_logits)
        val_acc = float(val_acc_metric.result())
        val_acc_metric.reset_state()
        yield time.perf_counter() - started, val_acc


def tapeapp_epochs(run) -> Iterator[tuple[float, float, float]]:
    """Consume the generator the way the page does: one update per epoch, read its numbers, go on.

    Yields (wall seconds for the update, the update's own ``seconds``, validation accuracy).
    """
    updates = run.epochs()
    while True:
        started = time.perf_counter()
        update = next(updates, None)
        if update is None:
            return
        seconds = time.perf_counter() - started
        _ = (update.train["loss"], update.validation["accuracy"], dict(update.grad_norms))
        yield seconds, update.seconds, update.validation["accuracy"]


def lockstep(p, initial_weights, epochs: int, seed: int, run) -> dict[str, Result]:
    """model.fit, with the tutorial's loop and tapeapp each advanced by one epoch at the end of every fit epoch.

    Shared machines drift in speed over minutes; running the three in step makes epoch k of each method see the
    same machine, so the ratios hold even when the absolute times wander. Each epoch is timed on its own.
    """
    import keras

    keras.utils.set_random_seed(seed)  # the tutorial's shuffle and fit's need it under tapeapp's op determinism
    def start_from_initial_weights():
        model = tutorial_model(p.x_train.shape[1])
        model.set_weights(initial_weights)
        return model

    tutorial = tutorial_loop(p.x_train, p.y_train, p.x_val, p.y_val, start_from_initial_weights, epochs)
    ours = tapeapp_epochs(run)
    times: dict[str, list] = {"fit": [], "tutorial": [], "tapeapp": []}

    class InStep(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):  # called after fit's validation pass
            times["fit"].append(time.perf_counter() - self.started)
            times["tutorial"].append(next(tutorial))
            times["tapeapp"].append(next(ours))

    model = tutorial_model(p.x_train.shape[1])
    model.set_weights(initial_weights)
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss=keras.losses.BinaryCrossentropy(),
                  metrics=[keras.metrics.BinaryAccuracy(name="accuracy")])
    history = model.fit(p.x_train, p.y_train.astype("float32"), batch_size=BATCH, epochs=epochs, verbose=0,
                        validation_data=(p.x_val, p.y_val.astype("float32")), callbacks=[InStep()])
    return {
        "fit": Result(median_after_warmup(times["fit"]), float(history.history["val_accuracy"][-1])),
        "tutorial": Result(median_after_warmup([t for t, _ in times["tutorial"]]), times["tutorial"][-1][1]),
        "tapeapp": Result(median_after_warmup([t for t, _, _ in times["tapeapp"]]), times["tapeapp"][-1][2],
                          median_after_warmup([t for _, t, _ in times["tapeapp"]])),
    }


def sklearn_and_tapeapp_alone(p, epochs: int, seed: int, new_run, repeats: int = 3) -> dict[str, Result]:
    """scikit-learn has no per-epoch hook: total fit time / epochs, median of a few fits (each well under a second).

    Each fit alternates with a fresh tapeapp run consumed back to back, the same way, so both see the same machine
    and both run their epochs hot. scikit-learn's loss-plateau stop is switched off so that it runs every epoch.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    per_epoch, ours, loops = [], [], []
    for _ in range(repeats):
        clf = MLPClassifier(hidden_layer_sizes=(64, 64), solver="adam", batch_size=BATCH, max_iter=epochs,
                            learning_rate_init=1e-3, random_state=seed, n_iter_no_change=epochs + 1, tol=0.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            started = time.perf_counter()
            clf.fit(p.x_train, p.y_train)
            per_epoch.append((time.perf_counter() - started) / max(clf.n_iter_, 1))
        timed = list(tapeapp_epochs(new_run()))
        ours.append(median_after_warmup([t for t, _, _ in timed]))
        loops.append(median_after_warmup([t for _, t, _ in timed]))
    return {"sklearn": Result(statistics.median(per_epoch), float(clf.score(p.x_val, p.y_val))),
            "tapeapp_alone": Result(statistics.median(ours), timed[-1][2], statistics.median(loops))}


# ---------------------------------------------------------------------------------------------------- data

def load_table(csv: str | None, target: str | None) -> tuple[pd.DataFrame, str, str]:
    """The user's CSV through tapeapp's reader, or the generated heart-shaped table."""
    if csv:
        from tapeapp import read_table

        if not target:
            sys.exit("--csv needs --target COLUMN")
        table = read_table(csv)
        return table.frame, target, f"{Path(csv).name} ({len(table.frame)} rows)"
    frame = heart_like()
    return frame, HEART_LIKE_TARGET, f"generated heart-shaped table ({len(frame)} rows, seed 0)"


def binary_schema(frame: pd.DataFrame, target: str):
    from tapeapp import inspect_frame

    schema = inspect_frame(frame, target=target)
    if schema.task != "binary":
        schema = inspect_frame(frame, target=target, task="binary")
    if schema.task != "binary":
        sys.exit(f"'{target}' is not a two-class column; this benchmark compares binary classifiers.")
    return schema


# ---------------------------------------------------------------------------------------------------- speed

def speed(args: argparse.Namespace) -> int:
    frame, target, source = load_table(args.csv, args.target)
    from tapeapp import preset, start_run  # imports TensorFlow

    schema = binary_schema(frame, target)
    results: dict[str, list[Result]] = {m: [] for m in METHODS}
    seeds = list(range(args.seeds))
    for seed in seeds:
        config = preset("tutorial").replace(seed=seed, epochs=args.epochs, batch_size=BATCH)
        run = start_run(frame, schema, config)
        p = run.prepared
        initial = run.model.get_weights()
        measured = lockstep(p, initial, args.epochs, seed, run)
        measured.update(sklearn_and_tapeapp_alone(p, args.epochs, seed,
                                                  lambda config=config: start_run(frame, schema, config)))
        for method in METHODS:
            r = measured[method]
            results[method].append(r)
            print(f"seed {seed}  {method:8s}  {r.seconds * 1000:9.2f} ms/epoch  val acc {r.accuracy:.4f}",
                  file=sys.stderr, flush=True)

    print(f"\n## epoch_speed: {source}; {len(p.y_train)} train / {len(p.y_val)} validation rows, "
          f"{p.x_train.shape[1]} inputs; batch {BATCH}; {args.epochs} epochs; seeds {seeds[0]}-{seeds[-1]}")
    print(f"{machine()}\n")
    def ratios(method: str) -> list[float]:
        return [r.seconds / t.seconds for r, t in zip(results[method], results[PEER[method]])]

    rows = []
    for method in METHODS:
        rs = results[method]
        rows.append([
            LABELS[method],
            spread([r.seconds * 1000 for r in rs], "{:.2f}"),
            spread([1 / r.seconds for r in rs], "{:.0f}"),
            spread([r.accuracy * 100 for r in rs], "{:.1f}"),
            spread(ratios(method), "{:.1f}") + "x" if method in PEER else "-",
        ])
    print_table(rows, ["method", "ms/epoch median (min-max)", "epochs/s", "val accuracy %",
                       "tapeapp is faster by"])
    for method in ("tapeapp", "tapeapp_alone"):
        loop_ms = [r.loop_seconds * 1000 for r in results[method]]
        print(f"\n{LABELS[method]}: its own EpochUpdate.seconds (the compiled epoch call) {spread(loop_ms, '{:.2f}')} "
              "ms; the rest of the wall time is building the update (numbers to Python, checks).")

    print("\nGoals:")
    for method, goal in GOALS.items():
        ratio = statistics.median(ratios(method))
        ok = ratio >= goal
        what = "no slower than" if goal == 1.0 else f">= {goal:.0f}x faster than"
        print(f"- [{'met' if ok else 'MISSED'}] {what} {LABELS[method]}: {ratio:.2f}x")
    gap = (statistics.median(r.accuracy for r in results["tapeapp"])
           - statistics.median(r.accuracy for r in results["tutorial"])) * 100
    ok = gap >= -1.0
    row_points = 100 / len(p.y_val)
    print(f"- [{'met' if ok else 'MISSED'}] validation accuracy within 1 point of the tutorial loop's: "
          f"{gap:+.1f} points (median over {len(seeds)} seeds; one validation row is {row_points:.2f} points: "
          "judge accuracy with --recipe-seeds 0-9)")
    return 0


# ---------------------------------------------------------------------------------------------------- recipe

def tutorial_recipe(frame: pd.DataFrame, target: str, seed: int, epochs: int) -> float:
    """The tutorial end to end from the raw table; returns validation accuracy after the last epoch."""
    import keras
    from sklearn.model_selection import train_test_split

    df = frame.copy()
    for column in df.columns:
        if column != target and not pd.api.types.is_numeric_dtype(df[column]):
            df[column] = df[column].astype("category").cat.codes
    if not pd.api.types.is_numeric_dtype(df[target]):
        df[target] = df[target].astype("category").cat.codes
    train, test = train_test_split(df, test_size=0.4, random_state=seed)
    train_stats = train.describe()
    train_stats.pop(target)
    train_stats = train_stats.transpose()
    train_labels = train.pop(target)
    test_labels = test.pop(target)

    def norm(x):
        return (x - train_stats["mean"]) / train_stats["std"]

    normed_train_data, normed_test_data = norm(train), norm(test)

    keras.utils.set_random_seed(seed)
    val_acc = float("nan")
    for _, val_acc in tutorial_loop(normed_train_data.values, train_labels.values,  # noqa: B007  (the last one)
                                    normed_test_data.values, test_labels.values,
                                    lambda: tutorial_model(normed_train_data.shape[1]), epochs):
        pass
    return val_acc


def tapeapp_accuracy(csv: Path, target: str, seed: int, epochs: int, preset_args: list[str],
                     in_process: bool) -> float:
    """Validation accuracy of ``python -m tapeapp train CSV --target T --seed S --epochs E ...``.

    ``in_process`` runs the same arguments through the CLI's own parser and config (``tapeapp.cli.train_config``)
    and the same core calls in the calling process, without 5 s of imports per run. The process must have imported
    tapeapp before TensorFlow (tapeapp sets TensorFlow's numerics at import): ``recipe`` calls it in a fresh worker.
    """
    arguments = ["train", str(csv), "--target", target, "--seed", str(seed), "--epochs", str(epochs), *preset_args]
    if in_process:
        from tapeapp import inspect_frame, start_run
        from tapeapp.cli import build_parser, train_config

        frame = _read_once(str(csv))
        run = start_run(frame, inspect_frame(frame, target=target), train_config(build_parser().parse_args(arguments)))
        return float(run.fit().summary()["validation"]["accuracy"])
    command = [sys.executable, "-m", "tapeapp", *arguments]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return float(json.loads(lines[-1])["validation"]["accuracy"])


def tapeapp_accuracies(csv: Path, target: str, seed: int, epochs: int, in_process: bool) -> list[float]:
    """Every tapeapp column of one seed (run in the worker by ``--in-process``)."""
    return [tapeapp_accuracy(csv, target, seed, epochs, extra, in_process) for extra in RECIPE_COLUMNS.values()]


@functools.lru_cache(maxsize=1)
def _read_once(csv: str) -> pd.DataFrame:
    from tapeapp import read_table

    return read_table(csv).frame


def parse_seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out += list(range(int(lo), int(hi) + 1))
        elif part:
            out.append(int(part))
    return out


RECIPE_COLUMNS = {  # column title -> the CLI arguments of that tapeapp run
    "tapeapp --preset tutorial %": ["--preset", "tutorial"],
    "tapeapp default preprocessing, tutorial's split (--preset tutorial --preprocessing standard) %":
        ["--preset", "tutorial", "--preprocessing", "standard"],
    "tapeapp default (stratified split) --val-fraction 0.4 %": ["--val-fraction", "0.4"],
}


def recipe(args: argparse.Namespace) -> int:
    seeds = parse_seeds(args.recipe_seeds)
    frame, target, source = load_table(args.csv, args.target)
    if "tensorflow" not in sys.modules:  # the recipe runs on TensorFlow's default kernels, as its readers run it
        os.environ.pop("TF_ENABLE_ONEDNN_OPTS", None)
        if ONEDNN is not None:
            os.environ["TF_ENABLE_ONEDNN_OPTS"] = ONEDNN
    with tempfile.TemporaryDirectory(prefix="tapeapp-recipe-") as tmp:
        csv = Path(args.csv) if args.csv else Path(tmp) / "heart_like.csv"
        if not args.csv:
            frame.to_csv(csv, index=False)
        rows = []
        # --in-process: tapeapp's columns in one fresh worker, which imports tapeapp before TensorFlow (this process
        # imports TensorFlow with its defaults for the recipe), working on seed s while the recipe runs here.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as worker:
            for seed in seeds:
                tapeapp_columns = (worker.submit(tapeapp_accuracies, csv, target, seed, args.epochs, True)
                                   if args.in_process else None)
                row = [tutorial_recipe(frame, target, seed, args.epochs)]
                row += (tapeapp_columns.result() if tapeapp_columns
                        else tapeapp_accuracies(csv, target, seed, args.epochs, False))
                rows.append([seed, *row])
                print(f"seed {seed}: " + "  ".join(f"{v:.4f}" for v in row), file=sys.stderr, flush=True)
    how = "through the CLI's parser in one worker process" if args.in_process else "one `python -m tapeapp train` each"
    print(f"\n## recipe accuracy: {source}; {args.epochs} epochs; seeds {args.recipe_seeds}; tapeapp columns {how}")
    print(f"{machine()}\n")
    cols = np.array([r[1:] for r in rows]) * 100
    table = [[r[0]] + [f"{v * 100:.2f}" for v in r[1:]] for r in rows]
    table.append(["mean"] + [f"{v:.2f}" for v in cols.mean(axis=0)])
    if len(rows) > 1:
        table.append(["std"] + [f"{v:.2f}" for v in cols.std(axis=0, ddof=1)])
    print_table(table, ["seed", "tutorial recipe (eager, own preprocessing) %", *RECIPE_COLUMNS])
    n = len(rows)

    def gap(column: int, against: int = 0) -> tuple[float, float]:
        """Mean difference over seeds and its standard error (seeds are independent repeats)."""
        diff = cols[:, column] - cols[:, against]
        return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")

    print("\nmean difference vs the tutorial recipe, +- its standard error (same rows held back per seed in the first "
          "two tapeapp columns, but other initial weights and batch order):")
    for i, name in enumerate(RECIPE_COLUMNS, start=1):
        print(f"- {name[:-2]}: {gap(i)[0]:+.2f} +- {gap(i)[1]:.2f} points")
    print("\nThe preprocessing alone (same split, initial weights and batch order per seed): default minus the "
          "tutorial's codes {:+.2f} points (standard error {:.2f}).".format(*gap(2, 1)))
    print("\nGoal:")
    tutorial_gap = gap(1)[0]
    print(f"- [{'met' if tutorial_gap >= -1.0 else 'MISSED'}] tapeapp --preset tutorial within 1 point of the "
          f"tutorial recipe (or better), mean over seeds: {tutorial_gap:+.2f} points")
    for column, what in ((2, "default preprocessing on the recipe's split"), (3, "default preset")):
        print(f"- [{'met' if gap(column)[0] >= 0 else 'MISSED'}] the {what} at least as good as the recipe, mean "
              f"over seeds: {gap(column)[0]:+.2f} points")
    return 0


# ---------------------------------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--csv", help="a CSV file to use instead of the generated table")
    parser.add_argument("--target", help="the 0/1 column to predict (with --csv)")
    parser.add_argument("--quick", action="store_true", help="3 epochs, 1 seed: check that it runs")
    parser.add_argument("--recipe-seeds", help="e.g. 0-9: compare accuracies with the tutorial's recipe instead")
    parser.add_argument("--in-process", action="store_true",
                        help="with --recipe-seeds: run the tapeapp columns through the CLI's parser in one worker "
                             "process, beside the recipe (same figures, no 5 s start-up per run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.seeds = min(args.epochs, 3), 1
        if args.recipe_seeds:
            args.recipe_seeds = args.recipe_seeds.split(",")[0].split("-")[0]
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first is a warm-up)")
    return recipe(args) if args.recipe_seeds else speed(args)


if __name__ == "__main__":
    sys.exit(main())
