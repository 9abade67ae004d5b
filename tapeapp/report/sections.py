"""The report's sections, in the page's words (``tapeapp.words``): each reads the run (and what the page already
holds) and returns its body as safe HTML (``tapeapp.report.markup``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import altair as alt
import numpy as np
import pandas as pd

from tapeapp.config import PRESETS
from tapeapp.data.table import read_how
from tapeapp.explain import insight
from tapeapp.judge.advice import Advice, diagnose
from tapeapp.judge.comparison import compare_with_baselines, comparison_frame, network_score
from tapeapp.judge.evaluation import Evaluation, no_better_than_guessing
from tapeapp.report import charts
from tapeapp.report.markup import Safe, bullets, join, svg, table, tag
from tapeapp.train.metrics import MAIN_METRIC
from tapeapp.train.stopping import STOP_REASONS
from tapeapp.words import (
    ACTIVATION_LABELS,
    AXIS_NAMES,
    CLASS_WEIGHT_LABELS,
    KNOB_HELP,
    KNOBS,
    LOSSES,
    METRICS,
    OPTIMIZER_CHOICES,
    PREPROCESSING_LABELS,
    SPLIT_LABELS,
    TASK_LABELS,
    TASKS_IN_A_SENTENCE,
    changes_text,
    duration_text,
    score_text,
    setting_text,
)

if TYPE_CHECKING:
    from tapeapp.data.schema import Schema
    from tapeapp.data.table import TableInfo
    from tapeapp.train.run import Run

MAX_CLASSES = 20  # classes in the confusion matrix and the per-class table
MAX_CURVE_CLASSES = 10  # lines of the ROC and precision-recall curves
MAX_DOTS = 1_000  # validation rows drawn on a scatter plot
MAX_BARS = 20  # columns drawn in the importance chart
MAP_RESOLUTION, MAP_ROWS = 40, 60  # the page's decision map once training has ended
REPEATS = 5  # shuffles per column for importance, as on the page


@dataclass(frozen=True)
class Section:
    """One part of the report: its anchor, heading and body."""

    key: str
    title: str
    body: Safe


@dataclass
class Facts:
    """What several sections read, computed once."""

    run: Run
    info: TableInfo | None
    schema: Schema | None
    evaluation: Evaluation | None
    importance: pd.DataFrame | None
    advice: list[Advice] | None
    axes: tuple[str, str] | None
    drawn: int = 0  # charts so far: each one's SVG ids get its number

    @cached_property
    def classes(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.run.prepared.target_encoder.classes_)

    @cached_property
    def verdict(self) -> str | None:
        """The one sentence comparing the network with the simpler models (a pass over the validation rows)."""
        return compare_with_baselines(self.run)

    @cached_property
    def noise(self) -> float:
        """The standard error of the network's main validation score."""
        return network_score(self.run)[1] if self.run.history else math.nan

    def figure(self, chart, caption: object = "") -> Safe:
        self.drawn += 1
        return tag("figure", svg(chart, self.drawn), tag("figcaption", caption) if caption else "")


def kept_epoch(run: Run) -> int | None:
    """The epoch whose weights the model holds: the best one with early stopping, the one before a loss that was
    not a number, else the last (0: untrained weights; None: nothing ran)."""
    if not run.history:
        return None
    last = run.history[-1].epoch
    if run.history[-1].kept_epoch and run.stopped_because in ("finished", "early_stopping", "not_finite"):
        return run.history[-1].kept_epoch  # said by the run itself (records older than issue 20 do not)
    if run.stopped_because == "not_finite":
        return last - 1
    if run.config.patience > 0 and run.stopped_because in ("finished", "early_stopping"):
        losses = [u.validation.get("loss", math.nan) for u in run.history]
        finite = [(loss, u.epoch) for loss, u in zip(losses, run.history) if math.isfinite(loss)]
        return min(finite)[1] if finite else last
    return last


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


# --------------------------------------------------------------------------------------------- the sections

def _table_section(f: Facts) -> Safe:
    run, info = f.run, f.info
    data = run.prepared
    parts = []
    if info is not None:
        parts.append(tag("p", tag("strong", info.name or "your table"), " · ", read_how(info)))
        if info.fraction < 1:
            parts.append(tag("p", f"The file was too big to read whole: a random {info.fraction:.0%} of its rows "
                                  "was read.", cls="note"))
        parts.append(tag("h3", "What was changed while reading the file"))
        parts.append(bullets(info.notes) or tag("p", "Nothing: the file was read as it is."))
    else:
        parts.append(tag("p", "How the file was read was not recorded with this run."))
    later = list(run.warnings)
    if data.dropped_rows:
        later.append(f"{_plural(data.dropped_rows, 'row')} with no value in '{run.target}' "
                     f"{'was' if data.dropped_rows == 1 else 'were'} left out: there is nothing to learn from them.")
    if later:
        parts += [tag("h3", "Before training"), bullets(later)]
    parts.append(tag("p", f"Training used {len(data.y_train):,} rows; {len(data.y_val):,} rows were held back to "
                          "check the model (the validation rows)."))
    return join(parts)


def _target_section(f: Facts) -> Safe:
    run, schema = f.run, f.schema
    data = run.prepared
    why = f" — {schema.task_reason}" if schema is not None and schema.task == run.task else ""
    parts = [tag("p", "The model predicts ", tag("strong", run.target), ": ", tag("strong", TASK_LABELS[run.task]), why,
                 ".")]
    if run.task == "regression":
        values = data.target_encoder.decode_regression(np.concatenate([data.y_train, data.y_val]).astype("float64"))
        values = values[np.isfinite(values)]
        if len(values):
            parts.append(tag("p", f"In the rows used, '{run.target}' runs from {values.min():,.4g} to "
                                  f"{values.max():,.4g}; half the rows are below {np.median(values):,.4g}."))
        return join(parts)
    counts = np.bincount(np.concatenate([data.y_train, data.y_val]).astype(int), minlength=len(f.classes))
    order = np.argsort(-counts, kind="stable")
    total = max(1, int(counts.sum()))
    rows = [(f.classes[k], f"{counts[k]:,}", f"{counts[k] / total:.1%}") for k in order]
    parts.append(table(["Class", "Rows", "Share"], rows, numeric=(1, 2), limit=MAX_CLASSES, what="classes"))
    return join(parts)


def _columns_section(f: Facts) -> Safe:
    run, schema = f.run, f.schema
    parts = []
    if schema is not None:
        frame = schema.to_frame()
        used = int((frame["role"] == "feature").sum())
        parts.append(tag("p", f"The model learns from {_plural(used, 'column')} (role 'feature'); the others are "
                              "left out, each for the reason given."))
        rows = frame[["name", "kind", "missing", "distinct", "examples", "role", "reason"]].itertuples(index=False)
        parts.append(table(["Column", "Kind", "Missing", "Distinct values", "Examples", "Role", "Why this role"],
                           [(n, k, f"{m:,}", f"{d:,}", e, r, why) for n, k, m, d, e, r, why in rows],
                           numeric=(2, 3), what="columns"))
        if schema.warnings:
            parts.append(bullets(schema.warnings))
    else:
        parts.append(tag("p", f"The model learns from {_plural(len(run.prepared.features), 'column')}: ",
                         ", ".join(map(str, run.prepared.features)), "."))
    summary = run.prepared.preprocessor.summary()
    if len(summary):
        parts.append(tag("h3", "What the preprocessing learned from the training rows"))
        cells = [[_cell(v) for v in row] for row in summary.itertuples(index=False)]
        parts.append(table([str(h)[:1].upper() + str(h)[1:] for h in summary.columns], cells, what="inputs"))
    return join(parts)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{value:,.4g}"
    return str(value)


def _knob_rows(run: Run) -> list[tuple[str, str, str]]:
    """(name, value, what it does) for every knob, in the page's words."""
    c = run.config
    ran = len(run.history)
    help_of = lambda key: KNOB_HELP[key].split(". ")[0].rstrip(".") + "."  # noqa: E731
    rows = [
        (KNOBS["hidden"], f"{setting_text(c.hidden)} ({_plural(len(c.hidden), 'layer')})", help_of("layers")),
        (KNOBS["activation"], ACTIVATION_LABELS.get(c.activation, c.activation), help_of("activation")),
        (KNOBS["dropout"], setting_text(c.dropout) if c.dropout else "0 (off)", help_of("dropout")),
        (KNOBS["l2"], setting_text(c.l2) if c.l2 else "0 (off)", help_of("l2")),
        (KNOBS["optimizer"], OPTIMIZER_CHOICES.get(c.optimizer, c.optimizer), help_of("optimizer")),
        (KNOBS["learning_rate"], setting_text(c.learning_rate), help_of("learning_rate")),
        (KNOBS["momentum"], setting_text(c.momentum) if c.optimizer == "sgd" else "not used (only SGD uses it)",
         help_of("momentum")),
        (KNOBS["batch_size"], f"{c.batch_size:,} rows", help_of("batch_size")),
        (KNOBS["epochs"], f"{c.epochs:,} ({ran:,} ran)", help_of("epochs")),
        (KNOBS["val_fraction"], f"{c.val_fraction:.0%} of the rows", help_of("val_fraction")),
        (KNOBS["patience"], _plural(c.patience, "epoch") + " without progress" if c.patience else "0 (off)",
         help_of("patience")),
    ]
    if run.task != "regression":
        rows.append((KNOBS["class_weight"], CLASS_WEIGHT_LABELS.get(c.class_weight, c.class_weight),
                     help_of("class_weight")))
    rows += [(KNOBS["preprocessing"], PREPROCESSING_LABELS.get(c.preprocessing, c.preprocessing),
              help_of("preprocessing")),
             (KNOBS["split"], SPLIT_LABELS.get(c.split, c.split), help_of("split")),
             (KNOBS["seed"], str(c.seed), help_of("seed"))]
    return [(name[0].upper() + name[1:], value, why) for name, value, why in rows]


def _knobs_section(f: Facts) -> Safe:
    run = f.run
    preset = next((p for p in PRESETS.values() if p.config == run.config), None)
    said = f"These are the knobs of the preset '{preset.name}': {preset.why}" if preset else \
        "The knobs this run was trained with."
    return join([tag("p", said),
                 table(["Knob", "Value", "What it does"], _knob_rows(run)),
                 tag("p", f"The network lowers the {LOSSES[run.task]} (its loss), one batch at a time, with a "
                          "hand-written TensorFlow GradientTape loop.")])


def _curves_section(f: Facts) -> Safe:
    run = f.run
    ending = run.message or STOP_REASONS.get(run.stopped_because, run.stopped_because)
    if not run.history:
        return tag("p", ending + " No epoch finished, so there are no curves to show.")
    history = run.history_frame()
    main = MAIN_METRIC[run.task]
    kept = kept_epoch(run)
    seconds = sum(u.seconds for u in run.history)
    base = run.baselines
    marks = {n: s.validation.get(main) for n, s in base.scores.items() if not s.error} if base else {}
    last = run.history[-1].epoch
    mark = kept if kept and kept != last else None
    loss = _mark_epoch(charts.loss_chart(history, epochs=run.config.epochs), mark)
    metric = _mark_epoch(charts.metric_chart(history, main, epochs=run.config.epochs, baselines=marks), mark)
    kept_words = ("The model keeps its starting, untrained weights." if kept == 0 else
                  f"The model keeps the weights of epoch {kept} (the dotted black line)." if mark else
                  f"The model keeps the weights of its last epoch, {last}.")
    thinned = f" The curves show {charts.CHART_EPOCHS} of the {len(history):,} epochs, evenly spread." \
        if len(history) > charts.CHART_EPOCHS else ""
    return join([tag("p", ending, " ", f"{_plural(len(run.history), 'epoch')} took {duration_text(seconds)}. ",
                     kept_words, thinned),
                 tag("div", f.figure(loss), f.figure(metric, "Dotted grey lines: the simpler models on the same "
                                                             "validation rows." if marks else ""), cls="charts")])


def _mark_epoch(chart, epoch: int | None):
    """A curve chart with a dotted line at the epoch whose weights the model keeps."""
    if not epoch:
        return chart
    rule = alt.Chart(pd.DataFrame({"epoch": [epoch]})).mark_rule(strokeDash=[2, 2], color="#262730").encode(
        x="epoch:Q")
    inner = chart.copy()
    title, height = inner.title, inner.height
    inner.title, inner.autosize = alt.Undefined, alt.Undefined
    return alt.layer(inner, rule).properties(title=title, height=height, autosize=charts.AUTOSIZE)


def _headline_rows(evaluation: Evaluation) -> list[Safe]:
    return [tag("tr", tag("th", METRICS.get(k, (k, ""))[0]),
                tag("td", score_text(k, v), cls="num", data_metric=k),
                tag("td", METRICS.get(k, (k, ""))[1]))
            for k, v in evaluation.headline.items()]


def _results_section(f: Facts) -> Safe:
    run, evaluation = f.run, f.evaluation
    if evaluation is None:
        return tag("p", "No epoch finished, so the model has no results yet.")
    data = run.prepared
    parts = [tag("p", f"Scored on the {len(data.y_val):,} validation rows the model never trained on.")]
    if run.task == "binary":
        positive = f.classes[1]
        parts.append(tag("p", f"A row is called '{positive}' when the model is at least "
                              f"{evaluation.threshold:.0%} sure (the decision threshold)."))
    parts.append(tag("table", tag("tbody", *_headline_rows(evaluation)), cls="headline"))
    if warning := no_better_than_guessing(evaluation, run.target):
        parts.append(tag("p", warning, cls="warning"))
    if run.task == "regression":
        points = evaluation.points
        shown = points.sample(MAX_DOTS, random_state=0) if len(points) > MAX_DOTS else points
        note = f" {len(shown):,} of the {len(points):,} validation rows are drawn." if len(shown) < len(points) else ""
        if np.isfinite(points["predicted"]).all() and len(points):
            parts.append(tag("div", f.figure(charts.predicted_actual_chart(shown, run.target), note),
                             f.figure(charts.residual_chart(shown, run.target), note), cls="charts"))
        return join(parts)
    parts.append(_classification_charts(f, evaluation))
    per_class = evaluation.per_class.sort_values("support", ascending=False, kind="stable")
    parts.append(tag("p", tag("strong", "Per class"), " — precision: of the rows called this class, the share that "
                          "were; recall: of the rows that were this class, the share found."))
    parts.append(table(["Class", "Precision", "Recall", "F1", "Rows"],
                       [(c, f"{p:.1%}", f"{r:.1%}", f"{f1:.1%}", f"{s:,}")
                        for c, p, r, f1, s in per_class.itertuples(index=False)],
                       numeric=(1, 2, 3, 4), limit=MAX_CLASSES, what="classes (the most common)"))
    return join(parts)


def _classification_charts(f: Facts, evaluation: Evaluation) -> Safe:
    support = evaluation.per_class.sort_values("support", ascending=False, kind="stable")["class"].tolist()
    kept = set(support[:MAX_CLASSES])
    confusion = evaluation.confusion
    note = ""
    if len(support) > MAX_CLASSES:
        confusion = confusion[confusion["actual"].isin(kept) & confusion["predicted"].isin(kept)]
        note = (f" The {MAX_CLASSES} most common of the {len(support)} classes are shown; rows taken for another "
                "class are left out of this picture.")
    figures = [f.figure(charts.confusion_chart(confusion), "Columns: what the model said." + note)]
    if len(evaluation.roc):
        lines = set(support[:MAX_CURVE_CLASSES])
        roc, pr = evaluation.roc[evaluation.roc["class"].isin(lines)], evaluation.pr[evaluation.pr["class"].isin(lines)]
        cut = f" One line for each of the {MAX_CURVE_CLASSES} most common classes." \
            if evaluation.roc["class"].nunique() > MAX_CURVE_CLASSES else ""
        figures += [f.figure(charts.roc_chart(roc), cut), f.figure(charts.pr_chart(pr), cut)]
    return tag("div", *figures, cls="charts")


def _comparison_section(f: Facts) -> Safe:
    run = f.run
    if run.baselines_future is None:
        return tag("p", "No simpler models were fitted for this run.")
    frame = comparison_frame(run)
    if frame is None:
        return tag("p", "The simpler models were still being fitted on the same training rows when this report was "
                        "written.")
    metrics = [c for c in frame.columns if c not in ("model", "error")]
    rows = []
    for record in frame.to_dict("records"):
        error = record.get("error")
        if isinstance(error, str) and error:
            rows.append([record["model"], *(["–"] * len(metrics)), error])
        else:
            rows.append([record["model"], *(score_text(m, record.get(m)) for m in metrics), ""])
    errors = any(row[-1] for row in rows)
    headers = ["Model", *(METRICS.get(m, (m, ""))[0] for m in metrics)] + (["Note"] if errors else [])
    rows = [row if errors else row[:-1] for row in rows]
    note = run.baselines.note if run.baselines else ""
    return join([tag("p", f.verdict, cls="verdict") if f.verdict else "",
                 table(headers, rows, numeric=range(1, len(metrics) + 1)),
                 tag("p", f"All four use the same {len(run.prepared.y_train):,} training rows and are scored on the "
                          f"same validation rows ({MAIN_METRIC[run.task]} is the headline score). The linear model "
                          "reads the network's inputs; the boosted trees read the raw columns." +
                          (f" {note}" if note else ""), cls="note")])


def _advice_section(f: Facts) -> Safe:
    run = f.run
    if not run.history:
        return tag("p", "No epoch finished, so there is no advice yet.")
    if f.advice is None:
        f.advice = diagnose(run, wait=0)
    missing = "" if run.baselines is not None else \
        " The simpler models were not there to compare with, so the advice that needs them was not checked."
    if not f.advice:
        return tag("p", "Nothing in the curves or the scores calls for a change." + missing)
    items = [join([item.message, f" Would change: {changes_text(dict(item.changes))}." if item.changes else ""])
             for item in f.advice]
    return join([tag("p", "What to try next, most basic first. Each change can be set on the page (Apply) before "
                          "training again." + missing), bullets(items)])


def importance_rows(run: Run) -> int:
    """Validation rows importance shuffles: the page's own choice, fewer for a network too big to afford them."""
    return insight.affordable_rows(run, len(run.prepared.features) * REPEATS, insight.IMPORTANCE_ROWS, floor=100)


def _importance_section(f: Facts) -> Safe:
    run = f.run
    if not run.history:
        return tag("p", "No epoch finished, so the model leans on nothing yet.")
    rows = importance_rows(run)
    if f.importance is None:
        f.importance = insight.importance(run, repeats=REPEATS, rows=rows)
    frame = f.importance
    share = run.task != "regression"
    measure = insight.importance_measure(run.task)
    shown = frame.head(MAX_BARS)
    cut = f" The {MAX_BARS} columns it leans on most are drawn; every column is in the table below." \
        if len(frame) > MAX_BARS else ""
    score = "RMSE" if run.task == "regression" else "accuracy"
    caption = insight.explanation("importance", score=score, rows=f"{min(len(run.prepared.y_val), rows):,}",
                                  repeats=REPEATS) + cut
    number = (lambda v: f"{v:.1%}") if share else (lambda v: score_text("rmse", v))  # noqa: E731
    return join([f.figure(charts.importance_chart(shown, measure, share), caption),
                 table(["Column", measure, "Spread (std)"],
                       [(c, number(v), number(s)) for c, v, s in frame[["column", "importance", "std"]].itertuples(
                           index=False)], numeric=(1, 2), what="columns")])


def _axes(f: Facts) -> tuple[str, str] | None:
    """The page's axes when given and usable, else the two columns that tell most about the target on their own."""
    features = list(f.run.prepared.features)
    if len(features) < 2:
        return None
    if f.axes is not None and f.axes[0] != f.axes[1] and all(a in features for a in f.axes):
        return f.axes
    ranked = insight.useful_columns(f.run)
    return ranked[0], ranked[1]


def _map_section(f: Facts) -> Safe:
    run = f.run
    if not run.history:
        return tag("p", "No epoch finished, so there is no map to draw.")
    axes = _axes(f)
    if axes is None:
        return tag("p", "The decision map needs two input columns; this model learns from only one.")
    x, y = axes
    rows = insight.affordable_rows(run, MAP_RESOLUTION ** 2, MAP_ROWS)
    grid = insight.decision_map(run, x, y, MAP_RESOLUTION, rows)
    if not insight.is_finite_map(grid):
        return tag("p", "The model's answers are not numbers any more, so there is no map to draw.")
    x_kind, y_kind = insight.axis_kind(run, x), insight.axis_kind(run, y)
    chart = charts.decision_map_chart(grid, insight.map_points(run, x, y), x, y, run.task, run.target,
                                      f.classes, x_kind, y_kind)
    chosen = "" if f.axes == axes else " (the two columns that, on their own, tell most about the target)"
    shown = min(len(run.prepared.y_val), rows)
    return join([tag("p", "Across: ", tag("strong", x), "; up: ", tag("strong", y), chosen, "."),
                 f.figure(chart, insight.explanation("decision_map", rows=f"{shown:,}"))])


def _uncertainty(f: Facts) -> str:
    """How much the main validation score could move by chance alone (two standard errors), in words; '' if unknown."""
    error = f.noise
    if not math.isfinite(error):
        return ""
    if f.run.task == "regression":
        return f"give or take about {2 * error:,.3g} by chance alone"
    return f"give or take about {200 * error:.1f} points by chance alone"


def _limits(f: Facts) -> list[str]:
    run, data, evaluation = f.run, f.run.prepared, f.evaluation
    out = [f"It learned from {len(data.y_train):,} rows of one table and knows nothing beyond them."]
    pre = data.preprocessor
    ranked = list(f.importance["column"]) if f.importance is not None else list(pre.columns)
    numbers = [c for c in ranked if c in pre.numeric and c in pre.range_][:3]
    if numbers:
        spans = "; ".join(f"'{c}' from {pre.range_[c][0]:,.4g} to {pre.range_[c][1]:,.4g}" for c in numbers)
        out.append(f"Its training rows hold {spans}. For values outside what it saw, its answers are guesses.")
    if evaluation is not None and (spread := _uncertainty(f)):
        main = MAIN_METRIC[run.task]
        out.append(f"Its score was measured on only {len(data.y_val):,} rows ({AXIS_NAMES[main]} "
                   f"{score_text(main, evaluation.headline.get(main))}, {spread}).")
    if run.stopped_because not in ("finished", "early_stopping"):
        out.append(run.message or STOP_REASONS.get(run.stopped_because, run.stopped_because))
    if evaluation is not None and (warning := no_better_than_guessing(evaluation, run.target)):
        out.append(warning)
    if evaluation is not None and run.task != "regression":
        weak = evaluation.per_class[(evaluation.per_class["support"] > 0) & (evaluation.per_class["recall"] < 0.5)]
        for name, recall in weak[["class", "recall"]].head(5).itertuples(index=False):
            out.append(f"It finds fewer than half of the '{name}' rows ({recall:.0%} of them).")
    if f.info is not None and f.info.fraction < 1:
        out.append(f"Only a random {f.info.fraction:.0%} of the file's rows was read.")
    if f.schema is not None:
        ignored = [c.name for c in f.schema.columns if c.role == "ignored"]
        if ignored:
            more = f" and {len(ignored) - 10:,} more" if len(ignored) > 10 else ""
            out.append(f"It does not look at {', '.join(ignored[:10])}{more}: whatever they hold, it cannot use.")
    out.append("It finds patterns in this table, not causes: changing a value in real life need not change the "
               "outcome the way the model's answer changes.")
    return out


def _questions(f: Facts) -> list[str]:
    run, evaluation = f.run, f.evaluation
    missing = ("Who is missing from these rows? People, places or times the table leaves out, or holds only a few "
               "of, are where the model is most likely wrong, and its score cannot show it.")
    if run.task != "regression":
        counts = np.bincount(run.prepared.y_train.astype(int), minlength=len(f.classes))
        rare = int(np.argmin(counts))
        missing += f" (The rarest class, '{f.classes[rare]}', has {counts[rare]:,} training rows.)"
    if run.task == "binary":
        negative, positive = f.classes
        wrong = (f"What happens when it is wrong? Who pays when a '{negative}' row is called '{positive}' (a false "
                 f"alarm), and who when a '{positive}' row is missed? The decision threshold trades one for the other.")
    elif run.task == "multiclass":
        wrong = ("What happens when it is wrong? Which mix-ups in the confusion matrix cost the most, and who bears "
                 "them?")
    else:
        rmse = evaluation.headline.get("rmse") if evaluation is not None else None
        typical = f" It is typically off by {score_text('rmse', rmse)}, some rows by much more." \
            if rmse is not None and math.isfinite(rmse) else ""
        wrong = f"What happens when it is wrong? How big an error can be lived with, and by whom?{typical}"
    return [missing, wrong,
            "Will the rows it meets later look like these? Tables age: people, prices and habits change.",
            "Does any column stand in for something it should not use (a postcode for someone's origin, say)?",
            "Who checks its answers, and can a person overrule them?"]


def _card_section(f: Facts) -> Safe:
    run, info = f.run, f.info
    data, config = run.prepared, run.config
    features = [str(c) for c in data.features]
    more = f" and {len(features) - 12:,} more" if len(features) > 12 else ""
    source = info.name if info is not None and info.name else "a table"
    picked = "with the same class shares as the training rows" if data.stratified else "at random"
    checked = (f"On {len(data.y_val):,} validation rows ({config.val_fraction:.0%} of the rows, picked {picked}) "
               "that it never trained on.")
    if f.evaluation is not None:
        main = MAIN_METRIC[run.task]
        checked += f" {METRICS[main][0]}: {score_text(main, f.evaluation.headline.get(main))}."
    checked += f" {f.verdict}" if f.verdict else " It was not compared with simpler models."
    card = [("What it predicts", f"'{run.target}', {TASKS_IN_A_SENTENCE[run.task]}, from "
                                 f"{_plural(len(features), 'column')}: {', '.join(features[:12])}{more}."),
            ("From which data", f"{source}: {len(data.y_train):,} rows to learn from and {len(data.y_val):,} to check "
                                f"it. Fingerprint of the data (SHA-256): {run.source_sha256[:16] or 'not recorded'}."),
            ("How it was checked", checked),
            ("Its limits", bullets(_limits(f))),
            ("Questions to ask before using it", bullets(_questions(f)))]
    return tag("dl", *(join([tag("dt", name), tag("dd", text)]) for name, text in card))


SECTIONS: tuple[tuple[str, str, Callable[[Facts], Safe]], ...] = (
    ("table", "The table", _table_section),
    ("target", "What is predicted", _target_section),
    ("columns", "The columns", _columns_section),
    ("knobs", "The knobs", _knobs_section),
    ("curves", "How it learned", _curves_section),
    ("results", "Results", _results_section),
    ("comparison", "Compared with simpler models", _comparison_section),
    ("advice", "What to try next", _advice_section),
    ("importance", "Which columns matter", _importance_section),
    ("map", "Decision map", _map_section),
    ("card", "Model card", _card_section),
)


