"""Section 3, the knobs: one widget per TrainConfig field with help for a non-programmer, the presets, the
learning-rate finder, and the teacher's "Make this a lesson"."""

from __future__ import annotations

from typing import Any

import streamlit as st

import tapeapp
from tapeapp import words
from tapeapp.config import BOUNDS
from ui import lesson, link, plan, rate_finder, session
from ui.link import CUSTOM, MAX_LAYERS
from ui.safe import md
from ui.state import LAYERS, PRESET, knob, state, widget, width

LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
L2_PENALTIES = (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1)
BATCH_SIZES = (8, 16, 32, 64, 128, 256, 512, 1024, 4096)


def section(table: tapeapp.Table | None, schema: tapeapp.Schema | None, busy: bool) -> tapeapp.TrainConfig | None:
    st.header("3. Knobs", divider="orange")
    config = knobs(schema.task if schema else "binary", busy, can_find=schema is not None)
    rate_finder.result_section(table, schema, config, use=link.apply_changes)
    if config is not None and table is not None and lesson.current() is None:
        lesson.section(config, lambda made: session.lesson_link(made, schema, config))
    return config


def _options_with(options: tuple, value: Any) -> list:
    """Fixed choices plus the current value when a link or preset asked for one in between."""
    return sorted({*options, value})


def _top(key: str, usual: float) -> float:
    """A slider's usual maximum, raised for the session when a link asked for more (the config allows it).

    Fixed once per session: a slider whose range changed would be a new widget and lose its value.
    """
    return state.slider_tops.setdefault(key, max(usual, type(usual)(widget(key))))


def _lr_label(value: float) -> str:
    return f"{value:g}"


def knobs(task: str, busy: bool, can_find: bool = False) -> tapeapp.TrainConfig | None:
    """Every knob with help for a non-programmer; returns the config, or None (with an error shown) if invalid."""
    link.load_link()
    config = state.config
    link.seed_widgets(config)
    for problem in state.link_problems:
        st.warning(md(problem))
    presets = [*tapeapp.PRESETS, CUSTOM]
    names = {key: p.name for key, p in tapeapp.PRESETS.items()} | {CUSTOM: "Custom (your own settings)"}
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    left.selectbox("Start from a preset", presets, format_func=names.get, key=PRESET, on_change=link.apply_preset,
                   disabled=busy or any(lesson.locked(n) for n in plan.knob_names()), help=words.KNOB_HELP["preset"])
    chosen = widget(PRESET)
    right.caption(tapeapp.PRESETS[chosen].why if chosen in tapeapp.PRESETS
                  else "Your own combination of knobs. Pick a preset to start again from a known-good setup.")
    network, learning, checking = st.columns(3, gap="large")
    with network:
        _network_knobs(busy)
    with learning:
        _learning_knobs(busy, can_find)
    with checking:
        _checking_knobs(task, busy)
    try:
        config = link.config_from_widgets()
    except tapeapp.TapeError as error:
        st.error(md(error))
        return None
    state.config = config
    return config


def _kw(name: str, busy: bool, off: bool = False) -> dict[str, Any]:
    """A knob widget's change callback and whether it is disabled (busy, locked by a lesson, or not used now)."""
    return dict(on_change=link.knob_changed, disabled=busy or off or lesson.locked(name))


def _network_knobs(busy: bool) -> None:
    st.markdown("**The network**")
    if not lesson.hidden("hidden"):
        layers = st.slider("Hidden layers", int(BOUNDS["layers"].low), MAX_LAYERS, key=LAYERS,
                           help=words.KNOB_HELP["layers"], **_kw("hidden", busy))
        columns = st.columns(min(layers, 3))
        neurons = BOUNDS["width"]
        for i in range(layers):
            columns[i % len(columns)].number_input(
                f"Neurons in layer {i + 1}", int(neurons.low), int(neurons.high), step=8, key=width(i),
                help=words.KNOB_HELP["width"], **_kw("hidden", busy))
    if not lesson.hidden("activation"):
        st.selectbox("Activation", tapeapp.ACTIVATIONS, format_func=words.ACTIVATION_LABELS.get,
                     key=knob("activation"), help=words.KNOB_HELP["activation"], **_kw("activation", busy))
    if not lesson.hidden("dropout"):
        st.slider("Dropout", 0.0, _top(knob("dropout"), 0.9), step=0.05, key=knob("dropout"),
                  help=words.KNOB_HELP["dropout"], **_kw("dropout", busy))
    if not lesson.hidden("l2"):
        st.select_slider("L2 penalty on weights", _options_with(L2_PENALTIES, widget(knob("l2"))),
                         format_func=lambda v: "off" if v == 0 else f"{v:g}", key=knob("l2"),
                         help=words.KNOB_HELP["l2"], **_kw("l2", busy))


def _learning_knobs(busy: bool, can_find: bool) -> None:
    st.markdown("**How it learns**")
    optimizer = widget(knob("optimizer"))
    if not lesson.hidden("optimizer"):
        optimizer = st.selectbox("Optimizer", tapeapp.OPTIMIZERS, format_func=words.OPTIMIZER_CHOICES.get,
                                 key=knob("optimizer"), help=words.KNOB_HELP["optimizer"],
                                 **_kw("optimizer", busy))
    if not lesson.hidden("learning_rate"):
        st.select_slider("Learning rate",
                         _options_with(LEARNING_RATES, widget(knob("learning_rate"))),
                         format_func=_lr_label, key=knob("learning_rate"),
                         help=words.KNOB_HELP["learning_rate"], **_kw("learning_rate", busy))
    if not lesson.locked("learning_rate"):
        rate_finder.find_button(busy, can_find)
    if not lesson.hidden("momentum"):
        st.slider("Momentum (SGD only)", 0.0, _top(knob("momentum"), 0.99), step=0.01,
                  key=knob("momentum"), help=words.KNOB_HELP["momentum"],
                  **_kw("momentum", busy, off=optimizer != "sgd"))
    if not lesson.hidden("batch_size"):
        st.select_slider("Batch size (rows per step)",
                         _options_with(BATCH_SIZES, widget(knob("batch_size"))),
                         key=knob("batch_size"), help=words.KNOB_HELP["batch_size"], **_kw("batch_size", busy))
    if not lesson.hidden("epochs"):
        st.slider("Epochs (full passes over the data)", 1, _top(knob("epochs"), 500), key=knob("epochs"),
                  help=words.KNOB_HELP["epochs"], **_kw("epochs", busy))  # a link may ask for more (BOUNDS)


def _checking_knobs(task: str, busy: bool) -> None:
    st.markdown("**Checking and data handling**")
    if not lesson.hidden("val_fraction"):
        st.slider("Validation share (rows held back)", 0.05, 0.9, step=0.05, key=knob("val_fraction"),
                  format="percent", help=words.KNOB_HELP["val_fraction"], **_kw("val_fraction", busy))
    if not lesson.hidden("patience"):
        st.slider("End early after this many epochs with no progress (0 = off)", 0,
                  _top(knob("patience"), 100), key=knob("patience"), help=words.KNOB_HELP["patience"],
                  **_kw("patience", busy))
    if not lesson.hidden("class_weight"):
        st.selectbox("Class weights", tapeapp.CLASS_WEIGHTS, format_func=words.CLASS_WEIGHT_LABELS.get,
                     key=knob("class_weight"), help=words.KNOB_HELP["class_weight"],
                     **_kw("class_weight", busy, off=task == "regression"))
    if not lesson.hidden("preprocessing"):
        st.selectbox("Preprocessing", tapeapp.PREPROCESSING, format_func=words.PREPROCESSING_LABELS.get,
                     key=knob("preprocessing"), help=words.KNOB_HELP["preprocessing"],
                     **_kw("preprocessing", busy))
    if not lesson.hidden("split"):
        st.selectbox("Which rows are held back", tapeapp.SPLITS, format_func=words.SPLIT_LABELS.get,
                     key=knob("split"), help=words.KNOB_HELP["split"],
                     **_kw("split", busy, off=task == "regression"))
    if not lesson.hidden("seed"):
        st.number_input("Random seed", int(BOUNDS["seed"].low), int(BOUNDS["seed"].high), step=1,
                        key=knob("seed"), help=words.KNOB_HELP["seed"], **_kw("seed", busy))


