"""Repeat a tapeapp run from scratch: same split, same preprocessing, same network, same GradientTape loop.

Usage:  python reproduce.py DATA.csv

Needs only tensorflow, pandas and scikit-learn. It prints one line per epoch, then one JSON line with the same
shape and figures as `python -m tapeapp train` (seconds_per_epoch aside: that one depends on the machine).
Every step is written out so you can read it, change it, and see what happens.
"""

import json
import math
import os
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

tf.config.experimental.enable_op_determinism()

SETTINGS = {}  # written by tapeapp: the run's settings, columns and how the file was read

CONFIG = SETTINGS["config"]
TARGET, TASK = SETTINGS["target"], SETTINGS["task"]
NUMERIC, CATEGORICAL = SETTINGS["numeric"], SETTINGS["categorical"]
PLAIN = SETTINGS.get("plain", [])  # number columns kept as they are even when skewed
DATES = SETTINGS.get("dates", {})  # date column -> the formats its dates are read with, tried in turn per value
MISSING = ""  # missing text values become a category of their own
CLIP, MAX_LEVELS, MIN_LEVEL_ROWS, MAX_SPREAD = 10.0, 250, 5, 1e18
ISO_TEXT = r"\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
ZONE = r"(\d:\d\d(?::\d\d(?:\.\d+)?)?)\s*(?:Z|[+-]\d\d:?\d\d)$"


# 1. Read the table as tapeapp read it.
def to_number(column):
    """'1,234', '45%' or '$3' as numbers; anything unreadable becomes missing."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return pd.to_numeric(column, errors="coerce")
    text = column.astype("string").str.replace(r"[\s$€£%]", "", regex=True)
    if SETTINGS["read"].get("decimal") == ",":
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        text = text.str.replace(",", "", regex=False)
    return pd.to_numeric(text, errors="coerce")


def read(path):
    options = SETTINGS["read"]
    frame = pd.read_csv(path, sep=options.get("delimiter") or ",", encoding=options.get("encoding") or "utf-8",
                        decimal=options.get("decimal") or ".", na_values=options["missing_markers"],
                        keep_default_na=False, header=0 if options.get("header", True) else None,
                        skipinitialspace=True)
    if not options.get("header", True):
        frame.columns = [f"column_{i + 1}" for i in range(frame.shape[1])]
    frame.columns = [str(c).strip() for c in frame.columns]
    for col in NUMERIC:
        frame[col] = to_number(frame[col])
    return frame


# 2. Drop rows without a target, then split before looking at any statistics.
def class_order(value):
    return (0, float(value), "") if isinstance(value, (int, float, np.integer, np.floating, bool)) else (1, 0.0, str(value))


def split(frame):
    frame = frame[frame[TARGET].notna()]
    if TASK == "regression":
        frame = frame[~np.isnan(numbers(frame[TARGET]))]  # inf and numbers too large for float32 are left out
    positions = np.arange(len(frame))
    stratify = frame[TARGET].to_numpy() if SETTINGS["stratified"] else None
    train, val = train_test_split(positions, test_size=CONFIG["val_fraction"], random_state=CONFIG["seed"],
                                  stratify=stratify)
    return frame, frame.iloc[np.sort(train)], frame.iloc[np.sort(val)]


# 3. Learn the preprocessing from the training rows only, then apply it to both sides.
def numbers(column):
    """Numbers as float32; inf, numbers too large for float32 and text become missing."""
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return np.where(np.abs(values) <= np.finfo(np.float32).max, values, np.nan).astype("float32")


def texts(column):
    return np.array([str(v) for v in column.astype("object").where(column.notna(), MISSING)], dtype=object)


def read_dates(column, formats):
    """Dates to the second; the first format that reads a value wins; missing or unreadable values become NaT.

    ISO8601 reads only text written year-month-day (a time zone is dropped: the clock time counts); 'mixed' lets
    pandas guess each value. Years outside 1-9999 count as unreadable.
    """
    if pd.api.types.is_datetime64_any_dtype(column):
        column = column.dt.tz_localize(None) if column.dt.tz is not None else column
        out = column.to_numpy(dtype="datetime64[s]", na_value=np.datetime64("NaT"))
    else:
        text = pd.Series([str(v).strip() if pd.notna(v) else np.nan for v in column], index=column.index, dtype="str")
        out = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[s]")
        for fmt in formats:
            todo = text.notna().to_numpy() & np.isnat(out)
            if not todo.any():
                break
            part = text[todo]
            if fmt == "ISO8601":
                part = part.str.replace(ZONE, r"\1", regex=True)
                part = part.where(part.str.fullmatch(ISO_TEXT).fillna(False).astype(bool))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    mixed = fmt in ("mixed", "mixed-dayfirst")
                    read = pd.to_datetime(part, format="mixed" if mixed else fmt, dayfirst=fmt == "mixed-dayfirst",
                                          errors="coerce")
                except (ValueError, TypeError, OverflowError):
                    continue
            if not pd.api.types.is_datetime64_any_dtype(read):
                continue
            read = read.dt.tz_localize(None) if read.dt.tz is not None else read
            out[todo] = read.to_numpy(dtype="datetime64[s]", na_value=np.datetime64("NaT"))
    years = out.astype("datetime64[Y]").astype("int64") + 1970
    return np.where((years < 1) | (years > 9999), np.datetime64("NaT"), out).astype("datetime64[s]")


def date_parts(seconds):
    """Whole days since 1970-01-01, second of the day, year and month of seconds since 1970-01-01."""
    moments = seconds.astype("datetime64[s]")
    return (seconds // 86_400, seconds % 86_400, moments.astype("datetime64[Y]").astype("int64") + 1970,
            moments.astype("datetime64[M]").astype("int64") % 12 + 1)


def skewness(values):
    centred = values - values.mean()
    spread = float(np.mean(centred ** 2))
    return float(np.mean(centred ** 3) / spread ** 1.5) if spread > 0 else 0.0


def signed_log(values, scale):
    return np.sign(values) * np.log1p(np.abs(values) / scale)


def fit_preprocessing(train):
    tutorial = CONFIG["preprocessing"] == "tutorial"
    stats = {}
    for col in NUMERIC:
        values = numbers(train[col]).astype("float64")
        values = values[~np.isnan(values)]
        fill, skew = float(values.mean() if tutorial else np.median(values)), None
        # skewed (>= 10 distinct values, |skewness| > 1): sign(x) * log(1 + |x| / s), s the median nonzero |x|
        if not tutorial and col not in PLAIN and len(np.unique(values)) >= 10 and abs(skewness(values)) > 1:
            size = np.abs(values)
            skew = {"scale": float(np.median(size[size > 0])) if (size > 0).any() else 1.0,
                    "zero": bool(np.mean(values == 0) >= 0.1)}  # then an "is zero" 0/1 input too
            values = signed_log(values, skew["scale"])
        mean, std = values.mean(), (values.std(ddof=1) if values.size > 1 else 0.0) if tutorial else values.std()
        if std > MAX_SPREAD:  # huge values: scale by the median and the spread of the middle half
            mean, std = np.median(values), np.subtract(*np.percentile(values, [75, 25]))
        stats[col] = {"fill": fill, "mean": float(mean), "std": min(float(std), MAX_SPREAD) if std > 0 else 1.0,
                      "skew": skew}
    for col in CATEGORICAL:
        counts = pd.Series(texts(train[col])).value_counts(sort=True)
        # every category with at least 5 training rows, up to 250 (the rest count as 'other'); tutorial: all
        levels = sorted(counts.index) if tutorial else list(counts.index[counts.to_numpy() >= MIN_LEVEL_ROWS][:MAX_LEVELS])
        stats[col] = {"levels": levels}
        if tutorial:
            codes = np.array([levels.index(v) for v in texts(train[col])], dtype="float64")
            std = codes.std(ddof=1) if codes.size > 1 else 0.0
            stats[col].update(mean=float(codes.mean()), std=float(std) if std > 0 else 1.0)
    for col in DATES:  # the first date, the median date (for missing ones), and the spread of days and years
        moments = read_dates(train[col], DATES[col])
        seconds = moments[~np.isnat(moments)].astype("int64")
        days, second, years, _ = date_parts(seconds)
        origin = int(days.min())
        since = (days - origin).astype("float64") + second / 86_400.0
        years = years.astype("float64")
        stats[col] = {"origin": origin, "fill": int(np.floor(np.median(seconds))),
                      "mean": [float(since.mean()), float(years.mean())],
                      "std": [float(v.std()) if v.std() > 0 else 1.0 for v in (since, years)],
                      "hours": bool((second != 0).any())}
    return stats


def scale(values, mean, std):
    return (values - np.float32(mean)) / np.maximum(np.sqrt(np.float32(std ** 2)), np.float32(1e-7))


def transform(frame, stats):
    tutorial = CONFIG["preprocessing"] == "tutorial"
    parts = []
    for col in NUMERIC:
        s = stats[col]
        values = numbers(frame[col])
        values = np.where(np.isnan(values), np.float32(s["fill"]), values)
        zero = (values == 0).astype("float32")
        if s["skew"]:
            values = signed_log(values, np.float32(s["skew"]["scale"])).astype("float32")
        values = scale(values, s["mean"], s["std"])
        parts.append((values if tutorial else np.clip(values, -CLIP, CLIP)).reshape(-1, 1))
        if s["skew"] and s["skew"]["zero"]:
            parts.append(zero.reshape(-1, 1))
    for col in CATEGORICAL:
        levels = {v: i for i, v in enumerate(stats[col]["levels"])}
        index = np.array([levels.get(v, -1) for v in texts(frame[col])])
        if tutorial:  # the category's code, unseen categories -1, then scaled like a number
            parts.append(scale(index.astype("float32"), stats[col]["mean"], stats[col]["std"]).reshape(-1, 1))
        else:  # one-hot: first column for 'other / unseen', then one per category seen in training
            onehot = np.zeros((len(index), len(levels) + 1), "float32")
            onehot[np.arange(len(index)), index + 1] = 1.0
            parts.append(onehot)
    for col in DATES:  # days since the first date and year, scaled; month, day of week (and hour) on a circle
        s = stats[col]
        moments = read_dates(frame[col], DATES[col])
        days, second, year, month = date_parts(np.where(np.isnat(moments), s["fill"], moments.astype("int64")))
        since = (days - s["origin"]).astype("float64") + second / 86_400.0
        columns = [np.clip((since - s["mean"][0]) / s["std"][0], -CLIP, CLIP),
                   np.clip((year.astype("float64") - s["mean"][1]) / s["std"][1], -CLIP, CLIP)]
        turns = [(month - 1).astype("float64") / 12.0, ((days + 3) % 7).astype("float64") / 7.0]  # 0 = Monday
        if s["hours"]:
            turns.append(second.astype("float64") / 86_400.0)
        for turn in turns:
            columns += [np.sin(2.0 * math.pi * turn), np.cos(2.0 * math.pi * turn)]
        parts.append(np.stack(columns, axis=1).astype("float32"))
    return np.concatenate(parts, axis=1).astype("float32")


# 4. The network and its training pieces.
def build_model(n_inputs, n_outputs):
    l2 = keras.regularizers.L2(CONFIG["l2"]) if CONFIG["l2"] > 0 else None
    seed = CONFIG["seed"]
    inputs = keras.Input(shape=(n_inputs,), name="features")
    x = inputs
    for i, width in enumerate(CONFIG["hidden"], start=1):
        x = keras.layers.Dense(width, name=f"hidden_{i}", kernel_regularizer=l2,
                               kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 100 + i))(x)
        if CONFIG["activation"] == "leaky_relu":
            x = keras.layers.LeakyReLU(negative_slope=0.3)(x)
        else:
            x = keras.layers.Activation(CONFIG["activation"])(x)
        if CONFIG["dropout"] > 0:
            x = keras.layers.Dropout(CONFIG["dropout"], seed=seed * 100 + 50 + i)(x)
    head = {"binary": "sigmoid", "multiclass": "softmax", "regression": None}[TASK]
    outputs = keras.layers.Dense(n_outputs, activation=head, name="output",
                                 kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 100 + 99))(x)
    return keras.Model(inputs, outputs)


def make_optimizer():
    lr = CONFIG["learning_rate"]
    return {"rmsprop": lambda: keras.optimizers.RMSprop(lr), "adam": lambda: keras.optimizers.Adam(lr),
            "adamw": lambda: keras.optimizers.AdamW(lr),
            "sgd": lambda: keras.optimizers.SGD(lr, momentum=CONFIG["momentum"])}[CONFIG["optimizer"]]()


def make_metrics(n_outputs):
    """Keras' streaming metrics, as the tutorial's BinaryAccuracy: update per batch, read, reset each epoch."""
    if TASK == "binary":
        return {"accuracy": keras.metrics.BinaryAccuracy(), "auc": keras.metrics.AUC()}
    if TASK == "multiclass":
        return {"accuracy": keras.metrics.SparseCategoricalAccuracy(),
                "auc": keras.metrics.AUC(multi_label=True, num_labels=n_outputs)}
    return {"mae": keras.metrics.MeanAbsoluteError(), "rmse": keras.metrics.RootMeanSquaredError(),
            "r2": keras.metrics.R2Score()}


def update(metrics, y, predictions, n_outputs):
    if TASK == "regression":
        y = tf.reshape(y, (-1, 1))
    for name, metric in metrics.items():
        metric.update_state(tf.one_hot(y, n_outputs) if TASK == "multiclass" and name == "auc" else y, predictions)


def results(metrics, loss, scale):
    """MAE and RMSE back in the target's units (regression trains on a standardised target)."""
    out = {"loss": float(loss)}
    out.update({k: float(m.result()) * (scale if k in ("mae", "rmse") else 1.0) for k, m in metrics.items()})
    return out


# 5. Which training rows choose the epoch (the validation rows never do, unless inner_fraction is 0).
def plan(y_train):
    """'last' (no early stopping), 'validation', ('inner', fit rows, choosing rows) or ('folds', [(fit, held)...])."""
    from sklearn.model_selection import KFold, StratifiedKFold

    n, classes = len(y_train), (np.bincount(y_train) if TASK != "regression" else None)
    if CONFIG["patience"] <= 0:
        return ("last",)
    if CONFIG["inner_fraction"] <= 0:
        return ("validation",)
    if n < CONFIG["cv_below"] and n >= 6:  # small tables: 3-fold cross-validation chooses how many epochs
        stratified = classes is not None and classes[classes > 0].min() >= 3
        splitter = (StratifiedKFold if stratified else KFold)(3, shuffle=True, random_state=CONFIG["seed"])
        folds = splitter.split(np.zeros(n), y_train if stratified else None)
        return ("folds", [(np.sort(fit), np.sort(held)) for fit, held in folds])
    return inner_plan(y_train)


def inner_plan(y_train):
    """The training rows split again: the network learns from the first part, the second chooses the epoch."""
    n, classes = len(y_train), (np.bincount(y_train) if TASK != "regression" else None)
    n_inner = math.ceil(n * CONFIG["inner_fraction"])
    if n_inner < 1 or n - n_inner < 2:
        return ("last",)
    stratify = None
    if classes is not None:
        present = classes[classes > 0]
        if present.min() >= 2 and n_inner >= len(present) and n - n_inner >= len(present):
            stratify = y_train
    fit, inner = train_test_split(np.arange(n), test_size=n_inner, random_state=CONFIG["seed"], stratify=stratify)
    return ("inner", np.sort(fit), np.sort(inner))


def train(x_train, y_train, x_val, y_val, weights, n_outputs, scale, epochs, patience, fit=None, choose=None,
          quiet=False):
    """Train a fresh network on the training rows at ``fit``; early stopping watches the rows at ``choose`` (else
    the validation rows) and the best epoch's weights are put back at the end. Returns (history, reason, kept)."""
    model = build_model(x_train.shape[1], n_outputs)
    loss_fn = {"binary": keras.losses.BinaryCrossentropy(), "multiclass": keras.losses.SparseCategoricalCrossentropy(),
               "regression": keras.losses.MeanSquaredError()}[TASK]
    optimizer = make_optimizer()
    optimizer.build(model.trainable_variables)

    @tf.function(reduce_retracing=True)
    def train_step(x, y, w):
        with tf.GradientTape() as tape:
            predictions = model(x, training=True)
            loss = loss_fn(y, predictions, sample_weight=w)
            if model.losses:
                loss += tf.add_n(model.losses)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss, predictions

    def scores(metrics, x, y):
        for metric in metrics.values():
            metric.reset_state()
        predictions = model(tf.constant(x), training=False)
        update(metrics, tf.constant(y), predictions, n_outputs)
        return results(metrics, float(loss_fn(tf.constant(y), predictions)), scale)

    train_metrics, val_metrics, inner_metrics = (make_metrics(n_outputs) for _ in range(3))
    x, y, w = tf.constant(x_train), tf.constant(y_train), tf.constant(weights)
    rows = tf.constant(np.arange(len(y_train)) if fit is None else fit, tf.int32)
    batch, n = CONFIG["batch_size"], int(rows.shape[0])
    good, best, history, reason = model.get_weights(), (math.inf, 0, None), [], "finished"
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        order = tf.gather(rows, tf.random.experimental.stateless_shuffle(tf.range(n), seed=[CONFIG["seed"], epoch]))
        for metric in train_metrics.values():
            metric.reset_state()
        losses = []
        for start in range(0, n, batch):
            picked = order[start:start + batch]
            y_batch = tf.gather(y, picked)
            loss, predictions = train_step(tf.gather(x, picked), y_batch, tf.gather(w, picked))
            update(train_metrics, y_batch, predictions, n_outputs)
            losses.append(float(loss))
        val_m = scores(val_metrics, x_val, y_val)
        inner_m = scores(inner_metrics, x_train[choose], y_train[choose]) if choose is not None else {}
        seconds = time.perf_counter() - started
        train_m = results(train_metrics, np.mean(np.float32(losses)), scale)
        history.append((train_m, val_m, seconds, inner_m))
        if not quiet:
            print(f"epoch {epoch:3d}  " + "  ".join(f"train_{k} {v:.4f}" for k, v in train_m.items()) + "  "
                  + "  ".join(f"val_{k} {v:.4f}" for k, v in val_m.items())
                  + "".join(f"  inner_{k} {v:.4f}" for k, v in inner_m.items()))
        weights_now = model.get_weights()
        if not (math.isfinite(train_m["loss"]) and all(np.isfinite(v).all() for v in weights_now)):
            model.set_weights(good)
            return history, "not_finite", epoch - 1
        good = weights_now
        watched = (inner_m or val_m)["loss"]
        if patience > 0 and math.isfinite(watched) and watched < best[0]:
            best = (watched, epoch, weights_now)
        if patience > 0 and best[1] and epoch - best[1] >= patience:
            reason = "early_stopping"
            break
    if patience > 0 and best[1]:
        model.set_weights(best[2])  # the best epoch's weights, as Keras' restore_best_weights
        return history, reason, best[1]
    return history, reason, len(history)


def main(path):
    frame, train_rows, val_rows = split(read(path))
    stats = fit_preprocessing(train_rows)
    x_train, x_val = transform(train_rows, stats), transform(val_rows, stats)
    if TASK == "regression":
        y_all = train_rows[TARGET].to_numpy(dtype="float64")
        mean, std = y_all.mean(), y_all.std() or 1.0
        y_train = ((train_rows[TARGET].to_numpy(dtype="float64") - mean) / std).astype("float32")
        y_val = ((val_rows[TARGET].to_numpy(dtype="float64") - mean) / std).astype("float32")
        scale, n_outputs = std, 1
    else:
        classes = sorted(pd.unique(frame[TARGET]), key=class_order)
        index = {c: i for i, c in enumerate(classes)}
        y_train = np.array([index[v] for v in train_rows[TARGET]], "int32")
        y_val = np.array([index[v] for v in val_rows[TARGET]], "int32")
        scale, n_outputs = 1.0, 1 if TASK == "binary" else len(classes)
    weights = np.ones(len(y_train), "float32")
    if TASK != "regression" and CONFIG["class_weight"] == "balanced":
        found, counts = np.unique(y_train, return_counts=True)
        weights = (len(y_train) / (len(found) * counts))[np.searchsorted(found, y_train)].astype("float32")

    how = plan(y_train)
    data = (x_train, y_train, x_val, y_val, weights, n_outputs, scale)
    if how[0] == "folds":  # each fold until its held-out loss stops improving; the lowest mean loss is the count
        curves = []
        for fit, held in how[1]:
            fold, ending, _ = train(*data, CONFIG["epochs"], CONFIG["patience"], fit, held, quiet=True)
            if ending == "not_finite":  # the loss stopped being a number: train as on a larger table instead
                how = inner_plan(y_train)
                break
            curves.append([h[3]["loss"] if math.isfinite(h[3]["loss"]) else math.inf for h in fold])
        else:
            length = min(len(curve) for curve in curves)
            chosen = int(np.argmin(np.mean([curve[:length] for curve in curves], axis=0))) + 1
            print(f"3-fold cross-validation on the training rows chose {chosen} epochs")
            history, reason, kept = train(*data, chosen, 0)
    if how[0] == "inner":
        history, reason, kept = train(*data, CONFIG["epochs"], CONFIG["patience"], how[1], how[2])
    elif how[0] != "folds":
        history, reason, kept = train(*data, CONFIG["epochs"], CONFIG["patience"])

    rounded = lambda d: {k: (None if not math.isfinite(v) else round(float(v), 6)) for k, v in d.items()}  # noqa: E731
    times = [h[2] for h in history[1:]] or [h[2] for h in history]
    shown = history[max(kept, 1) - 1] if history else None
    print(json.dumps({
        "task": TASK, "target": TARGET, "epochs_run": len(history), "stopped_because": reason,
        "seconds_per_epoch": round(float(np.median(times)), 6) if times else None,
        "rows": {"train": int(len(y_train)), "validation": int(len(y_val))},
        "train": rounded(shown[0]) if shown else {}, "validation": rounded(shown[1]) if shown else {},
    }))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python reproduce.py DATA.csv")
    main(sys.argv[1])
