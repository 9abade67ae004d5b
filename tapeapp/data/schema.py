"""What is in each column of a table, which columns to learn from, which one to predict and what kind of task it is."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from tapeapp.data.dates import DateFormat, detect_format, stored_format
from tapeapp.errors import TapeError
from tapeapp.words import TASKS, TASKS_IN_A_SENTENCE

KINDS = ("numeric", "categorical", "boolean", "identifier", "text", "constant", "date", "empty")
ROLES = ("feature", "target", "ignored")

MAX_CLASSES = 200
MAX_CHOSEN_CLASSES = 1000
MANY_LEVELS = 1000
FEW_INTEGERS = 10  # more distinct whole numbers than this: a quantity
COUNT_LEVELS = 5  # whole numbers from 0 with at least this many values, the smallest the most common: a count

_IGNORED_KINDS = ("identifier", "text", "constant", "empty")
_NOT_GUESSED_TARGETS = _IGNORED_KINDS + ("date",)
_TARGET_NAMES = frozenset({
    "target", "label", "labels", "class", "classes", "outcome", "y", "diagnosis", "result",
    "heartdisease", "species", "survived", "churn", "default", "output",
})
_BOOLEAN_PAIRS = (
    frozenset({"yes", "no"}), frozenset({"true", "false"}), frozenset({"y", "n"}),
    frozenset({"t", "f"}), frozenset({"0", "1"}),
)
_ID_NAMES = frozenset({"id", "index", "idx", "row", "rowid", "row_id", "rownum", "row_number", "key", "#"})
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATE_LIKE = re.compile(
    rf"(?i)\s*(?:\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}}|\d{{1,2}}[-/.]\d{{1,2}}[-/.]\d{{2,4}}"
    rf"|\d{{1,2}}[-\s]{_MONTH}[-\s,]*\d{{2,4}}|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{4}}-\d{{2}}(?:-\d{{2}})?T)"
)
_SAMPLE = 1000
_LEAK_REASON = "gives the answer away: it matches the column to predict"
_DATE_SAMPLE = 200
_EXAMPLE_CHARS = 40


@dataclass(frozen=True)
class ColumnInfo:
    """One column as the user sees it: what it holds and whether it is used, with the reason in plain words."""

    name: str
    kind: str
    dtype: str
    missing: int
    distinct: int
    examples: tuple[str, ...]
    role: str
    reason: str


@dataclass(frozen=True)
class ColumnFacts:
    """What the role and task rules need about a column, kept so a schema can change without the data."""

    name: str
    rows: int
    numeric: bool
    integer: bool
    partition: str
    values: str
    kind_reason: str
    date_format: DateFormat | None = None
    row_number: bool = False  # whole numbers counting the rows (1..n in some order): not something to predict
    mode_is_min: bool = False  # the smallest value is more common than any other (as in counts: 0 visits)
    nonnegative: bool = False  # numbers, none below 0


@dataclass(frozen=True)
class Schema:
    """The columns of a table with their kinds and roles, the column to predict and the task."""

    columns: tuple[ColumnInfo, ...]
    target: str
    task: str
    task_reason: str
    warnings: tuple[str, ...]
    facts: tuple[ColumnFacts, ...] = field(default=(), repr=False, compare=False)
    chosen: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)
    chosen_task: str = field(default="", repr=False, compare=False)
    plain: tuple[str, ...] = ()  # number columns kept as they are even when skewed (no signed log)
    target_reason: str = ""  # why this column was guessed as the one to predict ("" when chosen)

    @property
    def features(self) -> tuple[str, ...]:
        """Names of the columns the model learns from, in table order."""
        return tuple(column.name for column in self.columns if column.role == "feature")

    def date_formats(self) -> dict[str, DateFormat]:
        """How each date column writes its dates, as detected: training and predictions read them the same way."""
        kinds = {column.name: column.kind for column in self.columns}
        return {fact.name: fact.date_format for fact in self.facts
                if fact.date_format is not None and kinds.get(fact.name) == "date"}

    def column(self, name: str) -> ColumnInfo:
        """The column called name; a TapeError names the columns there are."""
        for column in self.columns:
            if column.name == name:
                return column
        raise _unknown_column(name, [column.name for column in self.columns])

    def to_frame(self) -> pd.DataFrame:
        """One row per column, for showing (and editing) in a table on the page."""
        return pd.DataFrame({
            "name": [column.name for column in self.columns],
            "kind": [column.kind for column in self.columns],
            "missing": [column.missing for column in self.columns],
            "distinct": [column.distinct for column in self.columns],
            "examples": [", ".join(column.examples) for column in self.columns],
            "role": [column.role for column in self.columns],
            "reason": [column.reason for column in self.columns],
        })

    def with_target(self, name: str) -> Schema:
        """Predict another column: the task is guessed again and the old target goes back to its usual role."""
        self.column(name)
        if name == self.target:
            return self
        chosen = {key: role for key, role in self.chosen if key not in (name, self.target)}
        return replace(_build(self.columns, self.facts, name, "", chosen), plain=self.plain)

    def with_task(self, task: str) -> Schema:
        """Override the guessed task; a TapeError says why when the target cannot be predicted that way."""
        if task not in TASKS:
            raise TapeError(f"'{task}' is not a task; choose one of {', '.join(TASKS)}.")
        return replace(_build(self.columns, self.facts, self.target, task, dict(self.chosen)), plain=self.plain)

    def with_plain(self, columns: tuple[str, ...] | list[str]) -> Schema:
        """Keep these number columns as they are: no signed log even when their training values are skewed (the
        per-column switch for ``Preprocessor.summary``'s "why")."""
        for name in columns:
            self.column(name)
        return replace(self, plain=tuple(dict.fromkeys(str(name) for name in columns)))

    def with_roles(self, roles: Mapping[str, str]) -> Schema:
        """Apply the user's choices of feature, ignored or target for some columns."""
        names = [column.name for column in self.columns]
        for name, role in roles.items():
            if name not in names:
                raise _unknown_column(name, names)
            if role not in ROLES:
                raise TapeError(f"'{role}' is not a role for '{name}'; use feature, ignored or target.")
            if role == "feature" and self.column(name).kind == "empty":
                raise TapeError(f"'{name}' has no values, so it cannot be used as an input; leave it ignored.")
        targets = [name for name, role in roles.items() if role == "target"]
        if len(targets) > 1:
            raise TapeError(
                f"Only one column can be predicted, but {len(targets)} were chosen "
                f"({', '.join(targets)}); choose one."
            )
        target = targets[0] if targets else self.target
        if target != self.target and roles.get(self.target, "target") == "target":
            raise TapeError(
                f"Only one column can be predicted and '{self.target}' already is; "
                f"make '{self.target}' a feature or ignored, or choose '{target}' as the column to predict."
            )
        if target == self.target and roles.get(self.target, "target") != "target":
            raise TapeError(
                f"A column to predict is needed; choose another column to predict before changing '{self.target}'."
            )
        chosen = dict(self.chosen)
        chosen.update({name: role for name, role in roles.items() if role != "target"})
        chosen.pop(target, None)
        task = self.chosen_task if target == self.target else ""
        return replace(_build(self.columns, self.facts, target, task, chosen), plain=self.plain)


def inspect_frame(frame: pd.DataFrame, target: str | None = None, task: str | None = None) -> Schema:
    """Describe every column, suggest roles, and guess (or check) the column to predict and the task."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"inspect_frame needs a pandas DataFrame, not {type(frame).__name__}")
    if frame.shape[1] == 0:
        raise TapeError("The table has no columns; check that you chose the right file.")
    if len(frame) == 0:
        raise TapeError("The table has no rows; add some rows of data.")
    names = [str(name) for name in frame.columns]
    repeated = sorted({name for name in names if names.count(name) > 1}) if len(set(names)) < len(names) else []
    if repeated:
        raise TapeError(f"Two columns are both called '{repeated[0]}'; give every column a different name.")
    columns, facts = [], []
    for position, name in enumerate(names):
        info, fact = _describe(frame.iloc[:, position], name)
        columns.append(info)
        facts.append(fact)
    why = ""
    if target is None:
        target, why = _guess_target(columns, facts)
    elif target not in names:
        raise _unknown_column(target, names)
    if task is not None and task not in TASKS:
        raise TapeError(f"'{task}' is not a task; choose one of {', '.join(TASKS)}.")
    schema = _build(tuple(columns), tuple(facts), target, task or "", {})
    if not why:
        return schema
    marked = tuple(replace(c, reason=f"the column to predict (guessed: {why})") if c.name == target else c
                   for c in schema.columns)
    return replace(schema, columns=marked, target_reason=why)


def _describe(series: pd.Series, name: str) -> tuple[ColumnInfo, ColumnFacts]:
    """Count, hash and classify one column with one factorize pass (values are looked at only on samples)."""
    try:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    except TypeError:
        codes, uniques = pd.factorize(series.astype("str"), use_na_sentinel=True)
    rows = len(series)
    present_rows = codes >= 0
    present = int(present_rows.sum())
    distinct = len(uniques)
    partition = hashlib.blake2b(codes.astype(np.int64, copy=False).tobytes(), digest_size=16)
    values = partition.copy()
    if distinct:
        values.update(pd.util.hash_pandas_object(pd.Series(uniques), index=False).to_numpy().tobytes())
    dtype = series.dtype
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    numbers = _as_floats(uniques) if numeric and distinct else np.empty(0)
    integer = bool(numeric and distinct and np.isfinite(numbers).all() and (numbers == np.round(numbers)).all())
    kind, kind_reason, date_format = _kind(series, name, codes, present_rows, uniques, numbers, integer, rows,
                                           present)
    row_number = bool(integer and distinct == rows and rows >= 3 and numbers.max() - numbers.min() == rows - 1)
    mode_is_min = False
    if numeric and distinct > 1 and present:
        counts = np.bincount(codes[present_rows], minlength=distinct)
        lowest = int(np.nanargmin(numbers))
        mode_is_min = bool(counts[lowest] > np.delete(counts, lowest).max())
    info = ColumnInfo(
        name=name,
        kind=kind,
        dtype=str(dtype),
        missing=rows - present,
        distinct=distinct,
        examples=tuple(_short(value) for value in uniques[:3]),
        role="feature",
        reason="",
    )
    fact = ColumnFacts(
        name=name,
        rows=present,
        numeric=numeric,
        integer=integer,
        partition=partition.hexdigest(),
        values=values.hexdigest(),
        kind_reason=kind_reason,
        date_format=date_format,
        row_number=row_number,
        mode_is_min=mode_is_min,
        nonnegative=bool(numeric and distinct and np.nanmin(numbers) >= 0),
    )
    return info, fact


def _kind(
    series: pd.Series, name: str, codes: np.ndarray, present_rows: np.ndarray, uniques: object,
    numbers: np.ndarray, integer: bool, rows: int, present: int,
) -> tuple[str, str, DateFormat | None]:
    """The kind of a column; for kinds that are not used as inputs and for dates, the reason in plain words; for
    dates, how they are written."""
    distinct = len(uniques)
    dtype = series.dtype
    if distinct == 0:
        return "empty", "all values missing", None
    if distinct == 1:
        return "constant", "same value in every row", None
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean", "", None
    if pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
        date_format = stored_format(pd.Series(uniques))
        return "date", date_format.reason(), date_format
    if pd.api.types.is_numeric_dtype(dtype):
        if distinct == 2 and set(numbers.tolist()) <= {0.0, 1.0}:
            return "boolean", "", None
        if integer and distinct == rows and _id_like(name) and numbers.max() - numbers.min() < 2 * rows:
            return "identifier", "unique for every row, looks like an ID", None
        return "numeric", "", None
    if distinct == 2 and frozenset(str(value).strip().lower() for value in uniques) in _BOOLEAN_PAIRS:
        return "boolean", "", None
    spread = np.linspace(0, distinct - 1, min(distinct, _DATE_SAMPLE)).astype(np.int64)
    date_format = _date_format([str(uniques[i]) for i in spread], uniques)
    if date_format is not None:
        return "date", date_format.reason(), date_format
    where = np.flatnonzero(present_rows)
    spread = np.linspace(0, present - 1, min(present, _SAMPLE)).astype(np.int64)
    picked = [str(uniques[code]) for code in codes[where[spread]]]
    length = float(np.mean([len(value) for value in picked]))
    wordy = sum(" " in value.strip() for value in picked) > 0.5 * len(picked)
    if distinct == present and present > 20 and not (wordy and length > 30):
        return "identifier", "unique for every row, looks like an ID", None
    if distinct > 50 and distinct > 0.5 * present:
        return "text", f"free text with {distinct:,} different values", None
    if length > 30:
        return "text", f"long free text (about {length:.0f} characters a value)", None
    return "categorical", "", None


def _as_floats(uniques: object) -> np.ndarray:
    """The distinct values of a numeric column as a float array."""
    return pd.Index(uniques).to_numpy(dtype="float64", na_value=np.nan)


def _id_like(name: str) -> bool:
    """Whether a column name reads like a row identifier (id, ID, customer_id, CustomerId, index, row)."""
    text = name.strip()
    low = text.lower()
    if low in _ID_NAMES or re.search(r"[_\s.-]id$", low):
        return True
    return re.search(r"[a-z](Id|ID)$", text) is not None


def _date_format(values: list[str], uniques: object) -> DateFormat | None:
    """How the sampled values write dates, when at least 90% are written like dates and read one way; else None.

    All distinct values decide between day/month and month/day when the sample cannot.
    """
    if not values or sum(_DATE_LIKE.match(value) is not None for value in values) < 0.9 * len(values):
        return None
    return detect_format(values, every=uniques)


def _short(value: object) -> str:
    """A value as a short string for the examples column."""
    text = f"{value:.6g}" if isinstance(value, (float, np.floating)) else str(value)
    if isinstance(value, pd.Timestamp) and text.endswith(" 00:00:00"):
        text = text[: -len(" 00:00:00")]
    return text if len(text) <= _EXAMPLE_CHARS else text[: _EXAMPLE_CHARS - 1] + "…"


_OUTCOME_NAMES = frozenset({
    "target", "label", "labels", "class", "classes", "outcome", "outcomes", "response", "result", "results", "y",
    "dv", "diagnosis", "survived", "survival", "churn", "churned", "default", "output", "species", "yesno",
    "heartdisease",
})
_RESPONSE_WORDS = frozenset({
    "price", "prices", "cost", "costs", "charges", "salary", "salaries", "wage", "wages", "earnings", "sales",
    "revenue", "profit", "profits", "yield", "demand", "visits", "quality", "grade", "vote", "choice", "decision",
    "deny", "denied", "approved", "accepted", "admit", "admitted", "purchase", "purchased", "fraud", "spam",
    "disease", "death", "died", "dead", "success", "passed", "mpg", "consumption", "expenditure", "los",
})
_NAME_WORDS = frozenset({"id", "index", "idx", "row", "rowid", "rownames", "rownum", "key", "name", "names"})
_MANY_TARGET_LEVELS = 200


def _words(name: str) -> list[str]:
    """A column name's words: split at anything not a letter or digit and at lowerUpper boundaries."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name))
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def _shape(column: ColumnInfo, fact: ColumnFacts) -> str:
    """What a column looks like as an answer: yes/no, a few classes, many levels, codes or a quantity."""
    if column.kind == "boolean" or column.distinct == 2:
        return "yes/no"
    if not fact.numeric:
        return "classes" if column.distinct <= 20 else "many levels"
    return "codes" if column.distinct <= 10 else "quantity"


def _guess_target(columns: list[ColumnInfo], facts: list[ColumnFacts]) -> tuple[str, str]:
    """The column to predict as a statistician would guess it, and why in a few words.

    A name only an outcome has wins ('y' not beside an 'x': a coordinate then). Otherwise each usable column (not
    an ID, row number, name, free text or date) scores: +2 a word that usually names a response, +1 first, +1 last
    (statistics tables put the response first, machine-learning files last), +1 class-like at either end, +1 the
    only column of its shape, -1 a category with many levels; the highest wins, the earlier on a tie. Measured on
    50 public tables in bench/defaults_findings.md §5 (22 never tuned on: 6 right before, 19 after).
    """
    usable = []
    for column, fact in zip(columns, facts):
        if column.kind in _NOT_GUESSED_TARGETS or (not fact.numeric and column.distinct > _MANY_TARGET_LEVELS):
            continue
        name_words = _words(column.name)
        if (set(name_words) & _NAME_WORDS and len(name_words) <= 2) or fact.row_number:
            continue
        usable.append((column, _shape(column, fact)))
    lowered = {column.name.lower() for column in columns}
    for column in columns:  # even one that cannot be learned: training then says why, in plain words
        key = re.sub(r"[\s_\-.]+", "", column.name.lower())
        if key == "y" and "x" in lowered:
            continue
        if key in _OUTCOME_NAMES or key.endswith(("target", "label")):
            return column.name, "its name reads as an outcome"
    if not usable:
        return columns[-1].name, "the last column: no other can be predicted"
    shapes = [shape for _, shape in usable]
    best, best_score, best_why = usable[0][0], -np.inf, []
    for i, (column, shape) in enumerate(usable):
        score, why = 0.0, []
        if set(_words(column.name)) & _RESPONSE_WORDS:
            score, why = score + 2, why + ["its name reads as a response"]
        edge = i in (0, len(usable) - 1)
        if i == 0:
            score, why = score + 1, why + ["the first column"]
        if i == len(usable) - 1:
            score, why = score + 1, why + ["the last column"]
        if edge and (shape == "yes/no" or shape == "classes" and column.distinct <= 10):
            score, why = score + 1, why + ["an answer of a few classes"]
        if shapes.count(shape) == 1 and shape != "many levels":
            score, why = score + 1, why + [f"the only {shape} column" if shape != "yes/no" else "the only yes/no"]
        if shape == "many levels":
            score -= 1
        if score > best_score:
            best, best_score, best_why = column, score, why
    return best.name, ", ".join(best_why) or "the first usable column"


def _build(
    columns: tuple[ColumnInfo, ...], facts: tuple[ColumnFacts, ...], target: str, chosen_task: str,
    chosen: dict[str, str],
) -> Schema:
    """Assign roles, decide the task and collect warnings for a target, the user's task ("" to guess) and roles."""
    fact = {item.name: item for item in facts}
    goal = next(column for column in columns if column.name == target)
    if chosen_task:
        _check_task(chosen_task, goal, fact[target])
        task, task_reason = chosen_task, f"chosen by you ({TASKS_IN_A_SENTENCE[chosen_task]})"
    else:
        task, task_reason = _guess_task(goal, fact[target])
    leaks = {
        column.name for column in columns
        if column.name != target and _leaks(fact[column.name], fact[target], column, goal)
    }
    automatic = {column.name: _role(column, fact[column.name], target, {}, leaks)[0] for column in columns}
    chosen = {name: role for name, role in chosen.items() if role != automatic[name]}
    assigned = []
    for column in columns:
        role, reason = _role(column, fact[column.name], target, chosen, leaks)
        assigned.append(replace(column, role=role, reason=reason))
    notes = _warnings(assigned, fact, goal, task, leaks)
    return Schema(
        columns=tuple(assigned),
        target=target,
        task=task,
        task_reason=task_reason,
        warnings=tuple(notes),
        facts=facts,
        chosen=tuple(chosen.items()),
        chosen_task=chosen_task,
    )


def _role(
    column: ColumnInfo, fact: ColumnFacts, target: str, chosen: dict[str, str], leaks: set[str]
) -> tuple[str, str]:
    """The role of one column and why: the user's choice first, then its kind, then leakage."""
    if column.name == target:
        return "target", "the column to predict"
    if column.name in chosen:
        return chosen[column.name], "chosen by you"
    if column.kind in _IGNORED_KINDS:
        return "ignored", fact.kind_reason
    if column.name in leaks:
        return "ignored", _LEAK_REASON
    return "feature", fact.kind_reason if column.kind == "date" else ""


def _leaks(fact: ColumnFacts, goal_fact: ColumnFacts, column: ColumnInfo, goal: ColumnInfo) -> bool:
    """Whether a column is the target in disguise: the same values, or values that map one-to-one onto it.

    Two columns that are unique in every row always map one-to-one, so for those only identical values count.
    """
    if goal.distinct < 2:
        return False
    if fact.values == goal_fact.values:
        return True
    every_row_unique = column.distinct == fact.rows and goal.distinct == goal_fact.rows
    return fact.partition == goal_fact.partition and not every_row_unique


def _guess_task(goal: ColumnInfo, fact: ColumnFacts) -> tuple[str, str]:
    """The task that fits the target's values, with the reason in plain words."""
    distinct = goal.distinct
    if distinct == 0:
        return "binary", "the column to predict has no values: there is nothing to learn"
    if distinct == 1:
        return "binary", f"only one value ({goal.examples[0]}) in every row: there is nothing to predict"
    if goal.kind == "boolean" or distinct == 2:
        return "binary", "2 distinct values: a yes/no question"
    if fact.numeric:
        if not fact.integer or distinct > FEW_INTEGERS or distinct == fact.rows:  # classes need repeated values
            return "regression", f"numbers with {distinct:,} distinct values: predicting a quantity"
        if fact.mode_is_min and fact.nonnegative and distinct >= COUNT_LEVELS:
            return "regression", (f"{distinct} whole numbers from 0 up, the smallest the most common: a count, "
                                  "predicted as a quantity; switch to multiclass if they are codes")
        return (
            "multiclass",
            f"{distinct} distinct whole numbers: treated as classes; switch to regression if they are amounts",
        )
    return "multiclass", f"{distinct:,} distinct values: predicting one of several classes"


def _check_task(task: str, goal: ColumnInfo, fact: ColumnFacts) -> None:
    """Refuse a task the target cannot support, saying what to choose instead."""
    name, distinct = goal.name, goal.distinct
    if distinct < 2:
        what = "no values" if distinct == 0 else "the same value in every row"
        raise TapeError(f"'{name}' has {what}, so there is nothing to predict; choose another column to predict.")
    if task == "regression" and not fact.numeric:
        raise TapeError(
            f"'{name}' holds categories, not numbers, so it cannot be predicted as a quantity; "
            "choose binary or multiclass."
        )
    if task == "binary" and distinct > 2:
        other = "multiclass or regression" if fact.numeric else "multiclass"
        raise TapeError(f"'{name}' has {distinct:,} different values, so it is not a yes/no question; choose {other}.")
    if task == "multiclass" and distinct > MAX_CHOSEN_CLASSES:
        other = "regression" if fact.numeric else "another column to predict"
        raise TapeError(
            f"'{name}' has {distinct:,} different values, too many to treat as classes; choose {other}."
        )


def _warnings(
    columns: list[ColumnInfo], fact: dict[str, ColumnFacts], goal: ColumnInfo, task: str, leaks: set[str]
) -> list[str]:
    """Everything the user should know before training, in plain words."""
    notes = []
    name, distinct = goal.name, goal.distinct
    if distinct == 0:
        notes.append(f"'{name}' has no values, so no model can be trained; choose another column to predict.")
    elif distinct == 1:
        notes.append(
            f"'{name}' has the same value in every row, so no model can be trained; choose another column to predict."
        )
    if goal.missing and distinct:
        notes.append(missing_target_warning(name, goal.missing))
    if goal.kind == "identifier":
        notes.append(
            f"'{name}' looks like an ID (a different value in every row), so there is nothing general to learn; "
            "choose another column to predict."
        )
    if task != "regression" and distinct > MAX_CLASSES:
        notes.append(
            f"'{name}' has {distinct:,} different values, too many classes to learn well; "
            "choose another column to predict."
        )
    elif task != "regression" and distinct >= 2 and fact[name].rows / distinct < 5:
        notes.append(
            f"'{name}' has only about {fact[name].rows / distinct:.1f} rows for each of its {distinct:,} classes; "
            "the model will have little to learn from."
        )
    for column in columns:
        if column.name in leaks:
            same = fact[column.name].values == fact[name].values
            how = "is identical to the target" if same else "matches the target one-to-one"
            if column.reason == _LEAK_REASON:
                notes.append(f"'{column.name}' {how}: it gives the answer away, so it is ignored.")
            elif column.role == "feature":
                notes.append(f"'{column.name}' {how}: it gives the answer away, so scores will look too good.")
        if column.role == "feature" and column.kind == "categorical" and column.distinct > MANY_LEVELS:
            notes.append(many_levels_warning(column.name, column.distinct))
    if not any(column.role == "feature" for column in columns):
        notes.append("No columns are left to learn from; make at least one column a feature.")
    return notes


def missing_target_warning(name: str, missing: int) -> str:
    """The warning about rows without a value to predict (training restates it with the rows it actually drops)."""
    return f"{missing:,} {'row has' if missing == 1 else 'rows have'} no value in '{name}' and will be left out."


def many_levels_warning(name: str, distinct: int) -> str:
    """The warning about a category column with very many values (training restates it for the training rows)."""
    return f"'{name}' has {distinct:,} different values; only the most common ones will be used."


def _unknown_column(name: str, names: list[str]) -> TapeError:
    """The error for a column name that is not in the table, listing a few that are."""
    shown = ", ".join(f"'{item}'" for item in names[:10]) + (", ..." if len(names) > 10 else "")
    return TapeError(f"There is no column named '{name}'; the columns are {shown}.")
