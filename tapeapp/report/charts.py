"""Altair charts of a run's history and evaluation: small frames in, charts out, usable on the page or in a notebook.

Every chart sends only what it draws: curves are at most a few thousand points, histograms are binned here,
scatter plots are sampled, so a large table never ships its rows to the browser.
"""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from tapeapp.words import AXIS_NAMES, BASELINE_SHORT, METRICS, SHARES

MAX_POINTS = 5_000
HEIGHT = 260
SPLIT_COLORS = {"train": "#4c78a8", "validation": "#f58518", "epoch chooser": "#54a24b"}
# "epoch chooser": the training rows held back from the weights to choose the epoch the run keeps (``Run.choice``)
# Fit the container's width but keep each chart's height for its plot, not for its title and legend as well.
AUTOSIZE = alt.AutoSizeParams(type="fit-x", contains="padding")
RUN_STYLE = {"this run": (1.0, [1, 0]), "previous run": (0.3, [4, 3])}
CHART_EPOCHS = 500  # epochs drawn per line at most: 7 layers' gradient lines stay under Altair's 5,000 rows


def _title(text: str, *subtitle: str) -> alt.TitleParams:
    lines = [line for line in subtitle if line]
    return alt.TitleParams(text, subtitle=lines if len(lines) > 1 else lines[0] if lines else alt.Undefined,
                           anchor="start")


def _curve_frame(history: pd.DataFrame, key: str, run: str) -> pd.DataFrame:
    """One row per epoch and split, dropping epochs where a value is missing (e.g. no validation rows)."""
    parts = []
    if "epoch" not in history:
        return pd.DataFrame({"epoch": pd.Series(dtype=int), "split": pd.Series(dtype=str),
                             "value": pd.Series(dtype=float), "run": pd.Series(dtype=str)})
    for split, prefix in (("train", "train_"), ("validation", "val_"), ("epoch chooser", "inner_")):
        column = prefix + key
        if column in history:
            values = pd.to_numeric(history[column], errors="coerce")
            parts.append(pd.DataFrame({"epoch": history["epoch"].astype(int), "split": split, "value": values}))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["epoch", "split", "value"])
    frame = frame[np.isfinite(frame["value"].astype("float64"))]
    return frame.assign(run=run)


def thin_epochs(history: pd.DataFrame, keep: int = CHART_EPOCHS) -> pd.DataFrame:
    """Every n-th epoch (and always the last) of a long run, at most ``keep``: the curves look the same, a live
    refresh stays small, and a chart stays within Altair's 5,000 rows however long the run and however many lines.
    """
    if len(history) <= keep:
        return history
    step = -(-(len(history) - 1) // (keep - 1))  # keep - 1 evenly spaced epochs, then the last
    return history.iloc[list(range(0, len(history) - 1, step)) + [len(history) - 1]]


def curve_rows(history: pd.DataFrame, key: str, previous: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rows a curve chart draws: one per epoch, split and run, at most MAX_POINTS."""
    frame = _curve_frame(thin_epochs(history), key, "this run")
    if previous is not None and len(previous):
        frame = pd.concat([_curve_frame(thin_epochs(previous), key, "previous run"), frame], ignore_index=True)
    return frame


def curve_chart(history: pd.DataFrame, key: str, previous: pd.DataFrame | None = None,
                epochs: int | None = None, title: str = "", subtitle: str = "",
                data_name: str | None = None) -> alt.Chart:
    """Train and validation values of one history column by epoch; a previous run's lines drawn faded behind.

    With ``data_name`` the rows are left out of the chart, named for the caller to supply (``curve_rows``).
    """
    frame = curve_rows(history, key, previous)
    last = max(int(frame["epoch"].max()) if len(frame) else 1, epochs or 1)
    splits = [s for s in SPLIT_COLORS if s != "epoch chooser" or f"inner_{key}" in history]
    share = key in SHARES
    y_scale = alt.Scale(domain=[0, 1]) if share else alt.Scale(zero=False)
    y_format = ".0%" if share else "~g"
    points = (epochs or len(history)) <= 60
    label, meaning = AXIS_NAMES.get(key, key), METRICS.get(key, (key, ""))[1]
    lines = [subtitle or meaning] + (["Faded, dashed lines: your previous run."] if previous is not None else [])
    data = alt.NamedData(data_name) if data_name else frame
    return alt.Chart(data, height=HEIGHT, autosize=AUTOSIZE, title=_title(title or label, *lines)).mark_line(
        point=alt.OverlayMarkDef(size=18) if points else False, strokeWidth=2,
    ).encode(
        x=alt.X("epoch:Q", title="Epoch", scale=alt.Scale(domain=[1, last], nice=False),
                axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("value:Q", title=label, scale=y_scale,
                axis=alt.Axis(format=y_format)),
        color=alt.Color("split:N", title="", scale=alt.Scale(domain=splits,
                                                               range=[SPLIT_COLORS[s] for s in splits]),
                        legend=alt.Legend(orient="top", symbolType="stroke")),
        opacity=alt.Opacity("run:N", scale=alt.Scale(domain=list(RUN_STYLE), range=[s[0] for s in RUN_STYLE.values()]),
                            legend=None),
        strokeDash=alt.StrokeDash("run:N", scale=alt.Scale(domain=list(RUN_STYLE),
                                                           range=[s[1] for s in RUN_STYLE.values()]),
                                  legend=None),
        tooltip=[alt.Tooltip("run:N", title="Run"), alt.Tooltip("epoch:Q", title="Epoch"),
                 alt.Tooltip("split:N", title="Rows"), alt.Tooltip("value:Q", title="Value", format=".4~g")],
    )


def loss_chart(history: pd.DataFrame, previous: pd.DataFrame | None = None, epochs: int | None = None,
               data_name: str | None = None) -> alt.Chart:
    """The loss the optimizer lowers, on training rows and on the held-back validation rows."""
    return curve_chart(history, "loss", previous, epochs, "Loss (lower is better)",
                       "Train should fall; validation rising again means memorising.", data_name=data_name)




def _label_offsets(values) -> list[int]:
    """Each baseline's label above its line, but below it when the next line up is too close to leave room."""
    shown = [*values, 0.0]
    room = 0.06 * ((max(shown) - min(shown)) or 1.0)  # about a label's height on the chart's 250 px
    order = sorted(range(len(values)), key=lambda i: values[i])
    offsets = [-6] * len(values)
    for lower, upper in zip(order, order[1:]):
        if values[upper] - values[lower] < room and offsets[lower] == -6:
            offsets[lower] = 10
    return offsets


def metric_chart(history: pd.DataFrame, metric: str, previous: pd.DataFrame | None = None,
                 epochs: int | None = None, baselines: dict[str, float] | None = None,
                 data_name: str | None = None) -> alt.Chart | alt.LayerChart:
    """The task's main score by epoch (accuracy for classes, RMSE for numbers); with ``baselines`` (name -> the
    simpler model's validation score), one labelled dotted line for each, to see at a glance what 'good' means."""
    better = "lower is better" if metric in ("rmse", "mae", "loss") else "higher is better"
    curves = curve_chart(history, metric, previous, epochs, f"{AXIS_NAMES.get(metric, metric)} ({better})",
                         data_name=data_name)
    marks = {name: value for name, value in (baselines or {}).items() if value is not None and math.isfinite(value)}
    if not marks:
        return curves
    lines = pd.DataFrame({"name": [BASELINE_SHORT.get(n, n) for n in marks], "value": list(marks.values())})
    rule = alt.Chart(lines).mark_rule(strokeDash=[2, 3], color="#6c757d", strokeWidth=1.5).encode(
        y="value:Q", tooltip=[alt.Tooltip("name:N", title="Simpler model"),
                              alt.Tooltip("value:Q", title="Validation", format=".4~g")])
    offsets = np.array(_label_offsets(lines["value"].tolist()))
    labels = [alt.Chart(lines[offsets == dy]).mark_text(align="left", dx=4, dy=int(dy), fontSize=11,
                                                        color="#495057").encode(x=alt.value(0), y="value:Q",
                                                                                text="name:N")
              for dy in sorted(set(offsets))]
    title = curves.title
    curves = curves.copy()
    curves.title, curves.autosize = alt.Undefined, alt.Undefined  # a layer's title and size are the layer's own
    return alt.layer(curves, rule, *labels).properties(title=title, height=HEIGHT, autosize=AUTOSIZE)


def grad_norm_frame(history: pd.DataFrame) -> pd.DataFrame:
    """Long form of the grad_norm_<layer> columns, keeping only values a log scale can show."""
    columns = [c for c in history.columns if c.startswith("grad_norm_")]
    if not columns or "epoch" not in history:
        return pd.DataFrame(columns=["epoch", "layer", "norm"])
    frame = history[["epoch", *columns]].melt("epoch", var_name="layer", value_name="norm")
    frame["layer"] = frame["layer"].str.removeprefix("grad_norm_").str.replace("_", " ")
    frame["norm"] = pd.to_numeric(frame["norm"], errors="coerce")
    return frame[np.isfinite(frame["norm"]) & (frame["norm"] > 0)].reset_index(drop=True)


def grad_norm_rows(history: pd.DataFrame) -> pd.DataFrame:
    """The rows the gradient-norm chart draws: one per epoch and layer, at most MAX_POINTS."""
    return grad_norm_frame(thin_epochs(history))


def grad_norm_chart(history: pd.DataFrame, epochs: int | None = None, data_name: str | None = None) -> alt.Chart:
    """How big each layer's gradient is: near zero means that layer stopped learning, exploding means trouble."""
    frame = grad_norm_rows(history)
    last = max(int(frame["epoch"].max()) if len(frame) else 1, epochs or 1)
    layers = list(dict.fromkeys(frame["layer"]))
    return alt.Chart(alt.NamedData(data_name) if data_name else frame, height=HEIGHT, autosize=AUTOSIZE, title=_title(
        "Under the hood: gradient norms per layer", "Log scale. Sinking to zero: stalled. Shooting up: unstable.",
    )).mark_line(strokeWidth=2).encode(
        x=alt.X("epoch:Q", title="Epoch", scale=alt.Scale(domain=[1, last], nice=False),
                axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("norm:Q", title="Gradient norm", scale=alt.Scale(type="log"), axis=alt.Axis(format="~g")),
        color=alt.Color("layer:N", title="", sort=layers, legend=alt.Legend(orient="top", symbolType="stroke")),
        tooltip=[alt.Tooltip("epoch:Q", title="Epoch"), alt.Tooltip("layer:N", title="Layer"),
                 alt.Tooltip("norm:Q", title="Norm", format=".3~g")],
    )


CELL, REGION = "cell", "region"  # the selections a user makes on the results' charts (their names in the spec)


def confusion_chart(confusion: pd.DataFrame, pickable: bool = False) -> alt.LayerChart:
    """Counts of actual (rows) against predicted (columns) classes; the diagonal is what the model got right.

    ``pickable``: a click selects one cell (the selection ``CELL``, over ``actual`` and ``predicted``), outlined."""
    frame = confusion.copy()
    frame["actual"] = frame["actual"].astype(str)
    frame["predicted"] = frame["predicted"].astype(str)
    totals = frame.groupby("actual")["count"].transform("sum")
    frame["share"] = np.where(totals > 0, frame["count"] / totals.where(totals > 0, 1), 0.0)
    labels = list(dict.fromkeys([*frame["actual"], *frame["predicted"]]))
    dark = float(frame["count"].max()) / 2 if len(frame) else 0.0
    base = alt.Chart(frame)
    encode = dict(x=alt.X("predicted:N", title="Predicted", sort=labels, axis=alt.Axis(labelAngle=0, orient="top")),
                  y=alt.Y("actual:N", title="Actual", sort=labels))
    cells = base.mark_rect().encode(
        **encode,
        color=alt.Color("count:Q", title="Rows", scale=alt.Scale(scheme="blues"), legend=None),
        tooltip=[alt.Tooltip("actual:N", title="Actual"), alt.Tooltip("predicted:N", title="Predicted"),
                 alt.Tooltip("count:Q", title="Rows"), alt.Tooltip("share:Q", title="Share of actual", format=".0%")],
    )
    if pickable:
        picked = alt.selection_point(name=CELL, fields=["actual", "predicted"], on="click", clear="dblclick")
        cells = cells.add_params(picked).encode(
            stroke=alt.when(picked).then(alt.value("#e8590c")).otherwise(alt.value("transparent")),
            strokeWidth=alt.value(3))
    text = base.mark_text(fontSize=15, fontWeight="bold").encode(
        **encode, text=alt.Text("count:Q", format="d"),
        color=alt.when(alt.datum["count"] > dark).then(alt.value("white")).otherwise(alt.value("#262730")),
    )
    return alt.layer(cells, text).properties(
        height=max(160, 48 * len(labels)), autosize=AUTOSIZE,
        title=_title("Confusion matrix", "Lines: what the rows really were. Diagonal: right."))


def _diagonal(x0: float, x1: float, y0: float, y1: float) -> alt.Chart:
    line = pd.DataFrame({"x": [x0, x1], "y": [y0, y1]})
    return alt.Chart(line).mark_line(strokeDash=[4, 4], color="#999999").encode(x="x:Q", y="y:Q")


def _in_order(curve: pd.DataFrame) -> pd.DataFrame:
    """Number each curve's points as scikit-learn gave them: sorting by an axis would zigzag where values tie."""
    return curve.assign(step=curve.groupby("class").cumcount()) if len(curve) else curve.assign(step=[])


def _curve(frame: pd.DataFrame, x: tuple[str, str, str], y: tuple[str, str, str]) -> alt.Chart:
    """One line per class along a threshold sweep; ``x``/``y`` are (column, axis title, tooltip title)."""
    return alt.Chart(_in_order(frame)).mark_line(strokeWidth=2).encode(
        x=alt.X(f"{x[0]}:Q", title=x[1], scale=alt.Scale(domain=[0, 1])),
        y=alt.Y(f"{y[0]}:Q", title=y[1], scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("class:N", title="Class", legend=alt.Legend(orient="top")),
        order="step:Q",
        tooltip=[alt.Tooltip("class:N", title="Class"), alt.Tooltip(f"{x[0]}:Q", format=".2f", title=x[2]),
                 alt.Tooltip(f"{y[0]}:Q", format=".2f", title=y[2])],
    )


def roc_chart(roc: pd.DataFrame) -> alt.LayerChart:
    """True positives found against false alarms as the threshold moves; the dashed line is guessing."""
    curves = _curve(roc, ("fpr", "False alarm rate", "False alarms"), ("tpr", "Share of positives found", "Found"))
    return alt.layer(_diagonal(0, 1, 0, 1), curves).properties(
        height=HEIGHT, autosize=AUTOSIZE, title=_title("ROC curve", "Top-left is better; dashed is guessing."))


def pr_chart(pr: pd.DataFrame) -> alt.Chart:
    """Precision against recall as the threshold moves: the trade-off between being sure and finding all."""
    return _curve(pr, ("recall", "Recall (share of the class found)", "Recall"),
                  ("precision", "Precision (share of finds that are right)", "Precision")).properties(
        height=HEIGHT, autosize=AUTOSIZE, title=_title("Precision-recall curve", "Top-right is better."))


def _sample(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    return frame.sample(MAX_POINTS, random_state=seed) if len(frame) > MAX_POINTS else frame


def predicted_actual_chart(points: pd.DataFrame, target: str = "target", pickable: bool = False) -> alt.LayerChart:
    """Each validation row as a dot; on the dashed line the prediction is exactly right.

    ``pickable``: dragging a rectangle selects the rows inside it (the selection ``REGION``, over the two axes)."""
    frame = _sample(points)
    low = float(min(frame["actual"].min(), frame["predicted"].min())) if len(frame) else 0.0
    high = float(max(frame["actual"].max(), frame["predicted"].max())) if len(frame) else 1.0
    dots = alt.Chart(frame).mark_circle(size=28, opacity=0.6).encode(
        x=alt.X("actual:Q", title=f"Actual {target}", scale=alt.Scale(zero=False)),
        y=alt.Y("predicted:Q", title=f"Predicted {target}", scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("actual:Q", format=".4~g"), alt.Tooltip("predicted:Q", format=".4~g")],
    )
    if pickable:
        dots = dots.add_params(alt.selection_interval(name=REGION, encodings=["x", "y"]))
    return alt.layer(_diagonal(low, high, low, high), dots).properties(
        height=HEIGHT, autosize=AUTOSIZE,
        title=_title("Predicted against actual", "Dots on the dashed line are exactly right."))


def residual_chart(points: pd.DataFrame, target: str = "target") -> alt.LayerChart:
    """Errors against predictions: a shapeless band around zero is good, a pattern means something was missed."""
    frame = _sample(points)
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(strokeDash=[4, 4], color="#999999").encode(y="y:Q")
    dots = alt.Chart(frame).mark_circle(size=28, opacity=0.6).encode(
        x=alt.X("predicted:Q", title=f"Predicted {target}", scale=alt.Scale(zero=False)),
        y=alt.Y("residual:Q", title="Actual − predicted"),
        tooltip=[alt.Tooltip("predicted:Q", format=".4~g"), alt.Tooltip("residual:Q", format=".4~g")],
    )
    return alt.layer(zero, dots).properties(
        height=HEIGHT, autosize=AUTOSIZE,
        title=_title("Errors (residuals)", "Actual minus predicted: a shapeless band around 0 is good."))


def target_frame(values: pd.Series, numeric: bool, bins: int = 30, top: int = 30) -> pd.DataFrame:
    """What the target chart draws: bins for numbers, the most common values for categories."""
    if numeric:
        data = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        data = data[np.isfinite(data)]
        if len(data) == 0:
            return pd.DataFrame(columns=["start", "end", "rows"])
        counts, edges = np.histogram(data, bins=min(bins, max(1, len(np.unique(data)))))
        return pd.DataFrame({"start": edges[:-1], "end": edges[1:], "rows": counts})
    counts = values.astype("string").fillna("(missing)").value_counts()
    frame = counts.head(top).rename_axis("value").reset_index(name="rows")
    if len(counts) > top:
        frame.loc[len(frame)] = [f"({len(counts) - top} more values)", int(counts.iloc[top:].sum())]
    frame["share"] = frame["rows"] / max(1, int(counts.sum()))
    return frame


def target_chart(values: pd.Series, numeric: bool, name: str | None = None) -> alt.Chart:
    """How the column to predict is spread: balanced classes or a skewed quantity change what 'good' means."""
    name = name or str(values.name)
    frame = target_frame(values, numeric)
    title = _title(f"What '{name}' looks like", "Rows per value of the column to predict.")
    if numeric:
        return alt.Chart(frame, height=200, autosize=AUTOSIZE, title=title).mark_bar(binSpacing=1).encode(
            x=alt.X("start:Q", title=name, bin="binned"), x2="end:Q", y=alt.Y("rows:Q", title="Rows"),
            tooltip=[alt.Tooltip("start:Q", title="From", format=".4~g"),
                     alt.Tooltip("end:Q", title="To", format=".4~g"), alt.Tooltip("rows:Q", title="Rows")],
        )
    return alt.Chart(frame, height=alt.Step(26), autosize=AUTOSIZE, title=title).mark_bar().encode(
        y=alt.Y("value:N", title="", sort="-x"), x=alt.X("rows:Q", title="Rows"),
        tooltip=[alt.Tooltip("value:N", title=name), alt.Tooltip("rows:Q", title="Rows"),
                 alt.Tooltip("share:Q", title="Share", format=".1%")],
    )


_AXIS_TYPE = {"number": "Q", "date": "T", "text": "N"}


def _axis_encoding(channel, field: str, title: str, kind: str):
    """A map axis: continuous for a number or a date, one band per category for a text column."""
    if kind == "text":
        return channel(f"{field}:N", title=title, sort=None)
    return channel(f"{field}:{_AXIS_TYPE[kind]}", title=title, scale=alt.Scale(zero=False, nice=False))


def _tooltip(field: str, title: str, kind: str) -> alt.Tooltip:
    formats = {"number": ".4~g", "date": "%Y-%m-%d", "text": ""}
    return alt.Tooltip(f"{field}:{_AXIS_TYPE[kind]}", title=title, format=formats[kind])


def _cells(grid: pd.DataFrame, x_kind: str, y_kind: str) -> pd.DataFrame:
    """Each grid point as a cell: half a step either side of a number or date, the category itself for text."""
    frame = grid.copy()
    for axis, kind in (("x", x_kind), ("y", y_kind)):
        if kind == "text":
            frame[axis] = frame[axis].astype(str)
            continue
        values = np.sort(pd.unique(frame[axis]))
        step = (values[1:] - values[:-1]).min() if len(values) > 1 else (
            pd.Timedelta(days=1) if kind == "date" else 1.0)
        frame[f"{axis}0"], frame[f"{axis}1"] = frame[axis] - step / 2, frame[axis] + step / 2
    return frame


def with_data(chart: alt.TopLevelMixin, frames: dict[str, pd.DataFrame]) -> alt.TopLevelMixin:
    """A chart drawn from named data sets (see the ``*_template`` functions) with those data sets filled in."""
    def plain(frame: pd.DataFrame) -> list[dict]:
        frame = frame.assign(**{c: frame[c].dt.strftime("%Y-%m-%dT%H:%M:%S") for c in frame.columns
                                if pd.api.types.is_datetime64_any_dtype(frame[c])})
        return frame.astype(object).where(frame.notna(), None).to_dict("records")

    records = {name: plain(frame) for name, frame in frames.items()}
    return chart.properties(datasets=records)


_RIGHT_WRONG = alt.Legend(labelExpr="datum.value ? 'right' : 'wrong'", symbolFillColor="#262730",
                          symbolStrokeColor="#262730")
CLASS_PAIR = ["#174a87", "#a63c06"]  # two classes: the dark ends of the decision map's blue-orange scale


def decision_map_data(grid: pd.DataFrame, points: pd.DataFrame, x_kind: str = "number",
                      y_kind: str = "number", marked: tuple | None = None) -> dict[str, pd.DataFrame]:
    """The data sets a decision map draws: the grid's cells, the validation rows on top, and ``marked`` (the x and
    y of one row being tried, or none)."""
    dots = _sample(points).copy()
    mark = pd.DataFrame({"x": [marked[0]] if marked else [], "y": [marked[1]] if marked else []})
    for axis, kind in (("x", x_kind), ("y", y_kind)):
        if kind == "text":
            dots[axis] = dots[axis].astype(str)
            mark[axis] = mark[axis].astype(str)
    return {"decision_cells": _cells(grid, x_kind, y_kind), "decision_dots": dots, "decision_mark": mark}


def decision_map_template(x_name: str, y_name: str, task: str, target: str, classes: tuple = (),
                          x_kind: str = "number", y_kind: str = "number") -> alt.LayerChart:
    """The decision map without its data (named ``decision_cells`` and ``decision_dots``): built once per choice of
    axes, while every refresh during training only brings new rows. Axis kinds: 'number', 'date' or 'text'."""
    names = [str(c) for c in classes]
    x_cell = dict(x=_axis_encoding(alt.X, "x", x_name, x_kind)) if x_kind == "text" else \
        dict(x=_axis_encoding(alt.X, "x0", x_name, x_kind), x2="x1")
    y_cell = dict(y=_axis_encoding(alt.Y, "y", y_name, y_kind)) if y_kind == "text" else \
        dict(y=_axis_encoding(alt.Y, "y0", y_name, y_kind), y2="y1")
    x_tip, y_tip = _tooltip("x", x_name, x_kind), _tooltip("y", y_name, y_kind)
    tooltip = [x_tip, y_tip]
    if task == "binary":
        cell_color = alt.Color("value:Q", title=f"P({names[1]})", scale=alt.Scale(domain=[0, 1], scheme="blueorange"),
                               legend=alt.Legend(format=".0%", gradientLength=110))
        dot_color = alt.Color("truth:N", title=f"Actual {target}", scale=alt.Scale(domain=names, range=CLASS_PAIR))
        tooltip.append(alt.Tooltip("value:Q", title=f"Probability of {names[1]}", format=".1%"))
        truth_tip, resolve = alt.Tooltip("truth:N", title=f"Actual {target}"), "independent"
    elif task == "multiclass":
        cell_color = alt.Color("value:N", title=f"{target}", scale=alt.Scale(domain=names))
        dot_color = alt.Color("truth:N", title=f"{target}", scale=alt.Scale(domain=names))
        tooltip += [alt.Tooltip("value:N", title="Predicted"), alt.Tooltip("confidence:Q", title="Probability",
                                                                             format=".0%")]
        truth_tip, resolve = alt.Tooltip("truth:N", title=f"Actual {target}"), "shared"
    else:
        cell_color = alt.Color("value:Q", title=f"{target}", scale=alt.Scale(scheme="viridis"),
                               legend=alt.Legend(gradientLength=110))
        dot_color = alt.Color("truth:Q", title=f"{target}", scale=alt.Scale(scheme="viridis"))
        tooltip.append(alt.Tooltip("value:Q", title=f"Predicted {target}", format=".4~g"))
        truth_tip, resolve = alt.Tooltip("truth:Q", title=f"Actual {target}", format=".4~g"), "independent"
    opacity = alt.Opacity("confidence:Q", scale=alt.Scale(domain=[0, 1], range=[0.15, 0.9]), legend=None) \
        if task == "multiclass" else alt.value(0.85)
    heat = alt.Chart(alt.NamedData("decision_cells")).mark_rect().encode(
        **x_cell, **y_cell, color=cell_color, opacity=opacity, tooltip=tooltip)
    dots = alt.Chart(alt.NamedData("decision_dots")).mark_point(size=42, filled=True, opacity=1,
                                                                strokeWidth=0.8).encode(
        x=_axis_encoding(alt.X, "x", x_name, x_kind), y=_axis_encoding(alt.Y, "y", y_name, y_kind),
        color=dot_color,
        shape=alt.Shape("correct:N", title="The model is", scale=alt.Scale(domain=[True, False],
                                                                          range=["circle", "cross"]),
                        legend=_RIGHT_WRONG),
        stroke=alt.value("white"),
        tooltip=[x_tip, y_tip, truth_tip, alt.Tooltip("correct:N", title="Right?")],
    )
    mark = alt.Chart(alt.NamedData("decision_mark")).mark_point(
        shape="diamond", size=260, filled=False, strokeWidth=3, color="#111111").encode(
        x=_axis_encoding(alt.X, "x", x_name, x_kind), y=_axis_encoding(alt.Y, "y", y_name, y_kind),
        tooltip=[alt.Tooltip("x:N", title="The row you are trying")])
    return alt.layer(heat, dots, mark).resolve_scale(color=resolve).configure_legend(
        orient="bottom", direction="horizontal", titleLimit=150, labelLimit=90).properties(
        height=HEIGHT + 60, autosize=AUTOSIZE,
        title=_title("Decision map", f"The model's answer as {x_name} and {y_name} change."))


def decision_map_chart(grid: pd.DataFrame, points: pd.DataFrame, x_name: str, y_name: str, task: str,
                       target: str, classes: tuple = (), x_kind: str = "number",
                       y_kind: str = "number") -> alt.LayerChart:
    """The model's answer as a heat map over two columns, with validation rows on top (crosses: wrong answers)."""
    return with_data(decision_map_template(x_name, y_name, task, target, classes, x_kind, y_kind),
                     decision_map_data(grid, points, x_kind, y_kind))


def hidden_map_template(task: str, target: str, neurons: int, classes: tuple = ()) -> alt.Chart:
    """The hidden-layer picture without its data (named ``hidden_rows``)."""
    if task == "regression":
        color = alt.Color("label:Q", title=target, scale=alt.Scale(scheme="viridis"))
        label = alt.Tooltip("label:Q", title=f"Actual {target}", format=".4~g")
    else:
        domain = [str(c) for c in classes]
        scale = alt.Scale(domain=domain, range=CLASS_PAIR) if task == "binary" else alt.Scale(domain=domain)
        color, label = alt.Color("label:N", title=target, scale=scale), alt.Tooltip("label:N", title=f"Actual {target}")
    return alt.Chart(alt.NamedData("hidden_rows"), height=HEIGHT + 60, autosize=AUTOSIZE, title=_title(
        "Inside the last hidden layer", f"{neurons} neurons drawn flat: rows the network tells apart drift apart.",
    )).mark_point(size=30, filled=True, opacity=0.8).encode(
        x=alt.X("x:Q", title="Direction 1", axis=alt.Axis(labels=False, ticks=False)),
        y=alt.Y("y:Q", title="Direction 2", axis=alt.Axis(labels=False, ticks=False)),
        color=color,
        shape=alt.Shape("correct:N", title="The model is", scale=alt.Scale(domain=[True, False],
                                                                          range=["circle", "cross"]),
                        legend=_RIGHT_WRONG),
        tooltip=[label, alt.Tooltip("correct:N", title="Right?")],
    )


def hidden_map_chart(frame: pd.DataFrame, task: str, target: str, neurons: int, classes: tuple = ()) -> alt.Chart:
    """Validation rows as the last hidden layer sees them, flattened to two dimensions."""
    return with_data(hidden_map_template(task, target, neurons, classes), {"hidden_rows": _sample(frame)})


def importance_chart(frame: pd.DataFrame, measure: str, share: bool = True) -> alt.LayerChart:
    """One bar per column: how much the score suffers when the column is shuffled, with its spread."""
    data = frame.assign(low=frame["importance"] - frame["std"], high=frame["importance"] + frame["std"])
    order = list(data["column"].astype(str))
    y = alt.Y("column:N", title="", sort=order)
    bars = alt.Chart(data).mark_bar(color=SPLIT_COLORS["validation"]).encode(
        y=y, x=alt.X("importance:Q", title=measure, axis=alt.Axis(format=".0%" if share else "~g")),
        tooltip=[alt.Tooltip("column:N", title="Column"),
                 alt.Tooltip("importance:Q", title="Importance", format=".1%" if share else ".4~g"),
                 alt.Tooltip("std:Q", title="Spread (std)", format=".1%" if share else ".3~g")],
    )
    spread = alt.Chart(data).mark_rule(color="#262730", strokeWidth=1.5).encode(y=y, x="low:Q", x2="high:Q")
    return alt.layer(bars, spread).properties(
        height=alt.Step(24), autosize=AUTOSIZE,
        title=_title("Which columns matter", "Longer bar: the model leans on that column more."))


def contributions_chart(contributions: pd.DataFrame, toward: str, unit: str = "points", top: int = 12) -> alt.Chart:
    """What pushed one row's answer: a bar per column, right for towards ``toward``, left for away from it.

    ``contributions`` has ``column``, ``value`` and ``contribution``
    (``tapeapp.explain.contributions.RowExplained``); for probabilities
    ``unit`` "points" shows them as percentage points. Only the ``top`` largest are drawn."""
    frame = contributions.head(top).copy()
    frame["value"] = frame["value"].astype(str)  # numbers, text and dates in one column: all drawn as text
    frame["label"] = [f"{c} = {v}" for c, v in zip(frame["column"].astype(str), frame["value"])]
    frame["direction"] = np.where(frame["contribution"] >= 0, f"towards {toward}", f"away from {toward}")
    share = unit == "points"
    bars = alt.Chart(frame).mark_bar().encode(
        y=alt.Y("label:N", title="", sort=list(frame["label"])),
        x=alt.X("contribution:Q", title=f"Push on the answer ({'percentage points' if share else unit})",
                axis=alt.Axis(format="+.0%" if share else "+~g")),
        color=alt.Color("direction:N", title="", scale=alt.Scale(
            domain=[f"towards {toward}", f"away from {toward}"], range=["#e8590c", "#4c78a8"]),
                        legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("column:N", title="Column"), alt.Tooltip("value:N", title="Value"),
                 alt.Tooltip("contribution:Q", title="Push", format="+.1%" if share else "+.4~g")],
    )
    return bars.properties(height=alt.Step(22), autosize=AUTOSIZE,
                           title=_title("What pushed it", "Each column's share of this answer, against the average."))


def learning_rate_chart(learning_rates, losses, suggested: float) -> alt.LayerChart:
    """The range test: the smoothed loss as the learning rate grows (log scale), with the suggested rate marked."""
    frame = pd.DataFrame({"learning_rate": np.asarray(learning_rates, "float64"),
                          "loss": np.asarray(losses, "float64")})
    frame = frame[np.isfinite(frame["loss"])]
    x = alt.X("learning_rate:Q", title="Learning rate (log scale)", scale=alt.Scale(type="log"),
              axis=alt.Axis(format="~g"))
    curve = alt.Chart(frame).mark_line(strokeWidth=2, color=SPLIT_COLORS["train"]).encode(
        x=x, y=alt.Y("loss:Q", title="Loss (smoothed)", scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("learning_rate:Q", title="Learning rate", format=".2~g"),
                 alt.Tooltip("loss:Q", title="Loss", format=".4~g")])
    mark = pd.DataFrame({"learning_rate": [suggested], "label": [f"suggested: {suggested:.2g}"]})
    rule = alt.Chart(mark).mark_rule(color=SPLIT_COLORS["validation"], strokeWidth=2, strokeDash=[4, 3]).encode(x=x)
    label = alt.Chart(mark).mark_text(align="left", dx=5, dy=8, color=SPLIT_COLORS["validation"],
                                      fontWeight="bold").encode(x=x, y=alt.value(0), text="label:N")
    return alt.layer(curve, rule, label).properties(
        height=HEIGHT, autosize=AUTOSIZE,
        title=_title("Learning-rate finder", "A copy of the model trains while the rate grows each batch. Pick a "
                     "rate where the loss falls fastest, well before it shoots up."))
