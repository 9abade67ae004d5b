"""tapeapp's default run vs scikit-learn's MLP on the tables scikit-learn ships (no internet needed).

    python bench/sklearn_tables.py              # breast cancer, iris, wine, diabetes; seeds 0-4
    python bench/sklearn_tables.py --seeds 10
    python bench/sklearn_tables.py --quick      # one seed, 5 epochs: check that it runs

Both learn from the same rows and the same numbers: tapeapp's default preset prepares the table (stratified split,
scaling fitted on the training rows) and scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` with the same hidden
layers (64, 64) get ``run.prepared.x_train`` and are scored on ``run.prepared.x_val``. scikit-learn keeps its own
defaults (Adam, learning rate 1e-3, batches of min(200, rows), up to 200 epochs, ReLU); tapeapp keeps its own (the
tutorial's RMSprop, batch 32, 60 epochs, LeakyReLU). Regression: scikit-learn fits the same standardised target
tapeapp trains on, and both are scored in the target's units.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np

from _common import machine, print_table

TABLES = ("breast_cancer", "iris", "wine", "diabetes")


def compare(key: str, seed: int, epochs: int) -> dict[str, float]:
    """One table, one seed: the validation score of each, and seconds to train."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    from tapeapp import TrainConfig, inspect_frame, load_sample, start_run

    frame = load_sample(key).frame
    run = start_run(frame, inspect_frame(frame), TrainConfig(seed=seed, epochs=epochs))
    started = time.perf_counter()
    run.fit()
    tapeapp_seconds = time.perf_counter() - started
    data = run.prepared
    regression = run.task == "regression"
    peer = (MLPRegressor if regression else MLPClassifier)(hidden_layer_sizes=(64, 64), random_state=seed)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        peer.fit(data.x_train, data.y_train)
    peer_seconds = time.perf_counter() - started
    if regression:
        actual = data.target_encoder.decode_regression(data.y_val)
        peer_score = r2_score(actual, data.target_encoder.decode_regression(peer.predict(data.x_val)))
        score = run.history[-1].validation["r2"]
    else:
        peer_score = accuracy_score(data.y_val, peer.predict(data.x_val))
        score = run.history[-1].validation["accuracy"]
    return {"task": run.task, "rows": f"{len(data.y_train)} / {len(data.y_val)}", "tapeapp": score,
            "sklearn": peer_score, "tapeapp_s": tapeapp_seconds, "sklearn_s": peer_seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="one seed, 5 epochs")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.epochs = 1, 5
    rows = []
    for key in TABLES:
        results = [compare(key, seed, args.epochs) for seed in range(args.seeds)]
        ours, theirs = (np.array([r[name] for r in results]) for name in ("tapeapp", "sklearn"))
        metric = "R2" if results[0]["task"] == "regression" else "accuracy %"
        scale = 1.0 if metric == "R2" else 100.0
        rows.append([key, results[0]["task"], results[0]["rows"], metric,
                     f"{ours.mean() * scale:.2f} ({ours.min() * scale:.2f}-{ours.max() * scale:.2f})",
                     f"{theirs.mean() * scale:.2f} ({theirs.min() * scale:.2f}-{theirs.max() * scale:.2f})",
                     f"{round((ours - theirs).mean() * scale, 2) + 0.0:+.2f}",
                     f"{np.median([r['tapeapp_s'] for r in results]):.2f} / "
                     f"{np.median([r['sklearn_s'] for r in results]):.2f}"])
        print(f"{key}: done", file=sys.stderr, flush=True)
    print(f"\n## tapeapp default vs scikit-learn MLP (64, 64); {args.epochs} epochs for tapeapp; "
          f"seeds 0-{args.seeds - 1}")
    print(f"{machine()}\n")
    print_table(rows, ["table", "task", "train / validation rows", "metric", "tapeapp mean (min-max)",
                       "scikit-learn mean (min-max)", "tapeapp - scikit-learn", "seconds to train tapeapp / sklearn"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
