"""Prototype: guess the column to predict and the task as a statistician would (issue 20), from the table alone.

    python bench/defaults_guess.py        # hit rates on bench/defaults_tables.py and on a check set never tuned on

``guess_target(frame)`` is a pure function over the DataFrame; it reuses tapeapp's column kinds
(``tapeapp.inspect_frame``) and decides in this order:

1. A name that only an outcome has (target, label, class, outcome, response, y, diagnosis, survived, churn,
   default, species, ...; 'y' not when 'x' is a column too: then it is a coordinate): that column.
2. Otherwise every usable column (not an ID, row number, name, free text, date or constant; categories with at
   most 200 levels) scores points, and the highest wins (ties: the earlier column):
   - +2 its name holds a word that usually names a response (price, wage, salary, sales, profit, visits, vote,
     choice, quality, grade, deny, purchase, disease, ...);
   - +1 it is the first usable column, +1 it is the last one (statistics tables put the response first,
     machine-learning files last);
   - +1 it is a class-like column (yes/no, or text with at most 10 levels) at either end;
   - +1 it is the only column of its shape (the only yes/no, the only text categories, the only quantity among
     codes, ...); -1 it is a category with more than 20 levels.
3. Task: 2 values -> binary; text -> multiclass; numbers that are not whole -> regression; whole numbers ->
   regression when they have more than 10 levels, or look like counts (non-negative, at least 5 levels, the
   smallest value the most common: 0-9 visits); otherwise classes.

The rules were written from how statistics and machine-learning tables are usually laid out, then checked on the
27 tables of ``defaults_tables.py`` (the same tables the rest of the benchmark uses, so that hit rate flatters the
rules) and on a check set of tables they were not looked at for: statsmodels' datasets with their documented
``endog_name``, scikit-learn's bundled tables, vega_datasets' iris and barley.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

STRONG = frozenset({
    "target", "label", "labels", "class", "classes", "outcome", "outcomes", "response", "result", "results", "y",
    "dv", "diagnosis", "survived", "survival", "churn", "churned", "default", "output", "species", "yesno",
})
WEAK = frozenset({
    "price", "prices", "cost", "costs", "charges", "salary", "salaries", "wage", "wages", "earnings", "sales",
    "revenue", "profit", "profits", "yield", "demand", "visits", "quality", "grade", "vote", "choice", "decision",
    "deny", "denied", "approved", "accepted", "admit", "admitted", "purchase", "purchased", "fraud", "spam",
    "disease", "death", "died", "dead", "success", "passed", "mpg", "consumption", "expenditure", "los",
})
_ID_NAMES = frozenset({"id", "index", "idx", "row", "rowid", "rownames", "rownum", "key", "name", "names"})


def words(name: str) -> list[str]:
    """A column name's words: split at anything not a letter or digit and at lowerUpper boundaries."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name))
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def _shape(kind: str, distinct: int, numeric: bool) -> str:
    if kind == "boolean" or distinct == 2:
        return "yes/no"
    if not numeric:
        return "classes" if distinct <= 20 else "many levels"
    return "codes" if distinct <= 10 else "quantity"


def _is_row_number(series: pd.Series) -> bool:
    if not pd.api.types.is_integer_dtype(series) or series.isna().any() or len(series) < 3:
        return False
    values = series.to_numpy()
    return len(np.unique(values)) == len(values) and values.max() - values.min() == len(values) - 1


def guess_task(series: pd.Series) -> tuple[str, str]:
    values = series.dropna()
    distinct = values.nunique()
    if distinct <= 2:
        return "binary", "2 values"
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return "multiclass", f"{distinct} text values"
    numbers = values.to_numpy("float64")
    if not np.all(numbers == np.round(numbers)):
        return "regression", "numbers that are not whole"
    if distinct > 10:
        return "regression", f"{distinct} whole numbers"
    counts = values.value_counts()
    if numbers.min() >= 0 and distinct >= 5 and counts.idxmax() == values.min():
        return "regression", f"a count ({int(numbers.min())}-{int(numbers.max())}, mostly {int(values.min())})"
    return "multiclass", f"{distinct} whole numbers: codes"


def guess_target(frame: pd.DataFrame) -> tuple[str, str, str]:
    """(column, task, reason in a few words)."""
    from tapeapp import inspect_frame

    schema = inspect_frame(frame)
    names = [c.name for c in schema.columns]
    usable = []
    for column in schema.columns:
        if column.kind in ("identifier", "text", "constant", "empty", "date"):
            continue
        numeric = pd.api.types.is_numeric_dtype(frame[column.name]) and column.kind != "boolean"
        if not numeric and column.distinct > 200:
            continue
        if set(words(column.name)) & _ID_NAMES and len(words(column.name)) <= 2 or _is_row_number(frame[column.name]):
            continue
        usable.append((column, _shape(column.kind, column.distinct, numeric)))
    if not usable:
        return schema.target, schema.task, "nothing usable: tapeapp's guess"
    lowered = {n.lower() for n in names}
    for column, _ in usable:
        key = re.sub(r"[\s_\-.]+", "", column.name.lower())
        if key == "y" and "x" in lowered:
            continue
        if key in STRONG or key.endswith(("target", "label")):
            return column.name, guess_task(frame[column.name])[0], "an outcome's name"
    shapes = [shape for _, shape in usable]
    best, best_score, best_why = None, -np.inf, ""
    for i, (column, shape) in enumerate(usable):
        score, why = 0.0, []
        if set(words(column.name)) & WEAK:
            score += 2
            why.append("a response's word")
        edge = i == 0 or i == len(usable) - 1
        if i == 0:
            score += 1
            why.append("first")
        if i == len(usable) - 1:
            score += 1
            why.append("last")
        if edge and shape in ("yes/no",) or edge and shape == "classes" and column.distinct <= 10:
            score += 1
            why.append("class-like")
        if shapes.count(shape) == 1 and shape != "many levels":
            score += 1
            why.append(f"the only {shape}")
        if shape == "many levels":
            score -= 1
        if score > best_score:
            best, best_score, best_why = column, score, ", ".join(why)
    return best.name, guess_task(frame[best.name])[0], best_why


# ------------------------------------------------------------------------------------------------ a check set

# The task each statsmodels dataset's documentation fits (its example model): counts and shares as quantities, the
# 7-point party identification of anes96 as classes (a multinomial logit), yes/no answers as binary.
CHECK_TASKS = {"anes96": "multiclass", "cancer": "regression", "ccard": "regression", "committee": "regression",
               "copper": "regression", "cpunish": "regression", "engel": "regression", "grunfeld": "regression",
               "longley": "regression", "modechoice": "binary", "randhie": "regression", "scotland": "regression",
               "spector": "binary", "stackloss": "regression", "star98": "regression", "strikes": "regression"}


def check_tables() -> dict[str, tuple[pd.DataFrame, str, str]]:
    """Tables the rules were not written or tuned on: (frame, documented response, task)."""
    import statsmodels.api as sm
    from sklearn import datasets as skd

    out = {}
    for name in CHECK_TASKS:
        try:
            data = getattr(sm.datasets, name).load_pandas()
        except Exception:  # noqa: BLE001 - a dataset missing from this statsmodels
            continue
        endog = data.endog_name if isinstance(data.endog_name, str) else data.endog_name[0]
        out[f"statsmodels {name}"] = (data.data, endog, CHECK_TASKS[name])
    for name, loader, task in (("iris", skd.load_iris, "multiclass"), ("wine", skd.load_wine, "multiclass"),
                               ("breast_cancer", skd.load_breast_cancer, "binary"),
                               ("diabetes", skd.load_diabetes, "regression")):
        frame = loader(as_frame=True).frame
        out[f"sklearn {name}"] = (frame, "target", task)
    from vega_datasets import local_data

    out["vega iris"] = (local_data.iris(), "species", "multiclass")
    out["vega barley"] = (local_data.barley(), "yield", "regression")
    return out


def main() -> int:
    import warnings

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import defaults_tables

    from _common import print_table
    from tapeapp import inspect_frame

    warnings.filterwarnings("ignore")
    sets = {"defaults_tables (the rules were checked on these)":
            {k: (defaults_tables.load(k), e.target, e.task) for k, e in defaults_tables.TABLES.items()},
            "check set (never tuned on)": check_tables()}
    for title, tables in sets.items():
        rows, hits = [], [0, 0, 0, 0]
        for key, (frame, target, task) in tables.items():
            schema = inspect_frame(frame)
            now_task = inspect_frame(frame, target=target).task
            column, guessed_task, why = guess_target(frame)
            hits[0] += schema.target == target
            hits[1] += schema.target == target and schema.task == task
            hits[2] += column == target
            hits[3] += column == target and guessed_task == task
            rows.append([key, f"{target} ({task[:5]}, col {list(frame.columns).index(target) + 1}/{frame.shape[1]})",
                         f"{'ok' if schema.target == target else schema.target} / {schema.task[:5]}"
                         + ("" if schema.target == target else f" (right col: {now_task[:5]})"),
                         f"{'ok' if column == target else column} / {guessed_task[:5]}"
                         + ("" if column == target else f" (right col: {guess_task(frame[target])[0][:5]})"),
                         why])
        print(f"\n{title}\n")
        print_table(rows, ["table", "documented", "tapeapp now", "prototype", "prototype's reason"])
        n = len(tables)
        print(f"\nColumn right: now {hits[0]} of {n}, prototype {hits[2]} of {n}; column and task right: now "
              f"{hits[1]} of {n}, prototype {hits[3]} of {n}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
