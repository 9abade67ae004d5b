"""The knobs section: one widget per TrainConfig field, the presets, and the link (URL) that carries the setup.

Widget values live in ``st.session_state`` under ``cfg_<field>`` keys; the last valid TrainConfig is kept under
``config`` as well, because Streamlit forgets a widget's value on any run that does not draw it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

import tapeapp
from tapeapp import words
from tapeapp.config import BOUNDS
from tapeapp.errors import clipped
from ui import keys, lesson, rate_finder
from ui.safe import md

DEFAULT = tapeapp.TrainConfig()
LINK_EXTRAS = ("sample", "target", "s", *lesson.PARAMS)
LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
L2_PENALTIES = (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1)
BATCH_SIZES = (8, 16, 32, 64, 128, 256, 512, 1024, 4096)
MAX_LAYERS = int(BOUNDS["layers"].high)
CUSTOM = "custom"

def load_link() -> None:
    """Once per session: read the setup from the URL, keeping every good setting and naming the bad ones."""
    if "config" in st.session_state:
        return
    params = st.query_params.to_dict()
    extras = {key: params.pop(key) for key in LINK_EXTRAS if key in params}
    good: dict[str, Any] = {}
    problems = []
    for key, value in params.items():
        try:
            if tapeapp.TrainConfig.from_dict({key: value}).epochs < 1:
                raise tapeapp.TapeError("the page trains for at least one epoch.")
            good[key] = value
        except tapeapp.TapeError as error:
            problems.append(f"Ignored {clipped(key)}={clipped(value)} from the link: {error}")
    st.session_state[keys.CONFIG] = tapeapp.TrainConfig.from_dict(good)
    st.session_state[keys.LINK_EXTRAS] = extras
    st.session_state[keys.LINK_PROBLEMS] = problems
    st.session_state[keys.PRESET] = matching_preset(st.session_state[keys.CONFIG])


def link_extra(name: str) -> str | None:
    """A non-knob setting from the link (which sample, which target), used once and then forgotten."""
    return st.session_state.get(keys.LINK_EXTRAS, {}).pop(name, None)


def link_extras(names: tuple[str, ...]) -> dict[str, str]:
    """Several of them at once (those the link has)."""
    return {name: value for name in names if (value := link_extra(name)) is not None}


def matching_preset(config: tapeapp.TrainConfig) -> str:
    return next((key for key, p in tapeapp.PRESETS.items() if p.config == config), CUSTOM)


def _widget_values(config: tapeapp.TrainConfig) -> dict[str, Any]:
    values = {keys.knob(name): value for name, value in config.to_dict().items() if name != "hidden"}
    values[keys.LAYERS] = len(config.hidden)
    values.update({keys.width(i): width for i, width in enumerate(config.hidden)})
    return values


def _seed_widgets(config: tapeapp.TrainConfig) -> None:
    """Give widgets Streamlit has forgotten (or never drew) their value from the last good config."""
    for key, value in _widget_values(config).items():
        st.session_state.setdefault(key, value)
    last = config.hidden[-1]
    for i in range(len(config.hidden), MAX_LAYERS):
        st.session_state.setdefault(keys.width(i), last)


def _config_from_widgets() -> tapeapp.TrainConfig:
    state = st.session_state
    names = [name for name in DEFAULT.to_dict() if name != "hidden"]
    values = {name: state[keys.knob(name)] for name in names}
    hidden = tuple(int(state[keys.width(i)]) for i in range(int(state[keys.LAYERS])))
    return tapeapp.TrainConfig(hidden=hidden, **values)


def apply_config(config: tapeapp.TrainConfig) -> None:
    """Set every knob to ``config`` (a kept session, a project, a lesson): before the widgets are drawn."""
    st.session_state[keys.CONFIG] = config
    st.session_state.update(_widget_values(config))
    st.session_state[keys.PRESET] = matching_preset(config)
    st.session_state[keys.LINK_PROBLEMS] = []


def _apply_preset() -> None:
    key = st.session_state[keys.PRESET]
    if key == CUSTOM:
        return
    config = tapeapp.PRESETS[key].config
    st.session_state[keys.CONFIG] = config
    st.session_state.update(_widget_values(config))
    st.session_state[keys.LINK_PROBLEMS] = []


def _knob_changed() -> None:
    try:
        config = _config_from_widgets()
    except tapeapp.TapeError:
        st.session_state[keys.PRESET] = CUSTOM
        return
    st.session_state[keys.CONFIG] = config
    st.session_state[keys.PRESET] = matching_preset(config)
    st.session_state[keys.LINK_PROBLEMS] = []


def _options_with(options: tuple, value: Any) -> list:
    """Fixed choices plus the current value when a link or preset asked for one in between."""
    return sorted({*options, value})


def _top(key: str, usual: float) -> float:
    """A slider's usual maximum, raised for the session when a link asked for more (the config allows it).

    Fixed once per session: a slider whose range changed would be a new widget and lose its value.
    """
    return st.session_state.setdefault(keys.slider_top(key), max(usual, type(usual)(st.session_state[key])))


def _lr_label(value: float) -> str:
    return f"{value:g}"


def knobs_section(task: str, busy: bool, can_find: bool = False) -> tapeapp.TrainConfig | None:
    """Every knob with help for a non-programmer; returns the config, or None (with an error shown) if invalid."""
    load_link()
    config: tapeapp.TrainConfig = st.session_state[keys.CONFIG]
    _seed_widgets(config)
    for problem in st.session_state.get(keys.LINK_PROBLEMS, []):
        st.warning(md(problem))
    presets = [*tapeapp.PRESETS, CUSTOM]
    names = {key: p.name for key, p in tapeapp.PRESETS.items()} | {CUSTOM: "Custom (your own settings)"}
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    left.selectbox("Start from a preset", presets, format_func=names.get, key=keys.PRESET, on_change=_apply_preset,
                   disabled=busy or any(lesson.locked(n) for n in lesson.knob_names()), help=words.KNOB_HELP["preset"])
    chosen = st.session_state[keys.PRESET]
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
        config = _config_from_widgets()
    except tapeapp.TapeError as error:
        st.error(md(error))
        return None
    st.session_state[keys.CONFIG] = config
    return config


def _kw(name: str, busy: bool, off: bool = False) -> dict[str, Any]:
    """A knob widget's change callback and whether it is disabled (busy, locked by a lesson, or not used now)."""
    return dict(on_change=_knob_changed, disabled=busy or off or lesson.locked(name))


def _network_knobs(busy: bool) -> None:
    st.markdown("**The network**")
    if not lesson.hidden("hidden"):
        layers = st.slider("Hidden layers", int(BOUNDS["layers"].low), MAX_LAYERS, key=keys.LAYERS,
                           help=words.KNOB_HELP["layers"], **_kw("hidden", busy))
        columns = st.columns(min(layers, 3))
        width = BOUNDS["width"]
        for i in range(layers):
            columns[i % len(columns)].number_input(
                f"Neurons in layer {i + 1}", int(width.low), int(width.high), step=8, key=keys.width(i),
                help=words.KNOB_HELP["width"], **_kw("hidden", busy))
    if not lesson.hidden("activation"):
        st.selectbox("Activation", tapeapp.ACTIVATIONS, format_func=words.ACTIVATION_LABELS.get,
                     key=keys.knob("activation"), help=words.KNOB_HELP["activation"], **_kw("activation", busy))
    if not lesson.hidden("dropout"):
        st.slider("Dropout", 0.0, _top(keys.knob("dropout"), 0.9), step=0.05, key=keys.knob("dropout"),
                  help=words.KNOB_HELP["dropout"], **_kw("dropout", busy))
    if not lesson.hidden("l2"):
        st.select_slider("L2 penalty on weights", _options_with(L2_PENALTIES, st.session_state[keys.knob("l2")]),
                         format_func=lambda v: "off" if v == 0 else f"{v:g}", key=keys.knob("l2"),
                         help=words.KNOB_HELP["l2"], **_kw("l2", busy))


def _learning_knobs(busy: bool, can_find: bool) -> None:
    st.markdown("**How it learns**")
    optimizer = st.session_state[keys.knob("optimizer")]
    if not lesson.hidden("optimizer"):
        optimizer = st.selectbox("Optimizer", tapeapp.OPTIMIZERS, format_func=words.OPTIMIZER_CHOICES.get,
                                 key=keys.knob("optimizer"), help=words.KNOB_HELP["optimizer"],
                                 **_kw("optimizer", busy))
    if not lesson.hidden("learning_rate"):
        st.select_slider("Learning rate",
                         _options_with(LEARNING_RATES, st.session_state[keys.knob("learning_rate")]),
                         format_func=_lr_label, key=keys.knob("learning_rate"),
                         help=words.KNOB_HELP["learning_rate"], **_kw("learning_rate", busy))
    if not lesson.locked("learning_rate"):
        rate_finder.find_button(busy, can_find)
    if not lesson.hidden("momentum"):
        st.slider("Momentum (SGD only)", 0.0, _top(keys.knob("momentum"), 0.99), step=0.01,
                  key=keys.knob("momentum"), help=words.KNOB_HELP["momentum"],
                  **_kw("momentum", busy, off=optimizer != "sgd"))
    if not lesson.hidden("batch_size"):
        st.select_slider("Batch size (rows per step)",
                         _options_with(BATCH_SIZES, st.session_state[keys.knob("batch_size")]),
                         key=keys.knob("batch_size"), help=words.KNOB_HELP["batch_size"], **_kw("batch_size", busy))
    if not lesson.hidden("epochs"):
        st.slider("Epochs (full passes over the data)", 1, _top(keys.knob("epochs"), 500), key=keys.knob("epochs"),
                  help=words.KNOB_HELP["epochs"], **_kw("epochs", busy))  # a link may ask for more (BOUNDS)


def _checking_knobs(task: str, busy: bool) -> None:
    st.markdown("**Checking and data handling**")
    if not lesson.hidden("val_fraction"):
        st.slider("Validation share (rows held back)", 0.05, 0.9, step=0.05, key=keys.knob("val_fraction"),
                  format="percent", help=words.KNOB_HELP["val_fraction"], **_kw("val_fraction", busy))
    if not lesson.hidden("patience"):
        st.slider("End early after this many epochs with no progress (0 = off)", 0,
                  _top(keys.knob("patience"), 100), key=keys.knob("patience"), help=words.KNOB_HELP["patience"],
                  **_kw("patience", busy))
    if not lesson.hidden("class_weight"):
        st.selectbox("Class weights", tapeapp.CLASS_WEIGHTS, format_func=words.CLASS_WEIGHT_LABELS.get,
                     key=keys.knob("class_weight"), help=words.KNOB_HELP["class_weight"],
                     **_kw("class_weight", busy, off=task == "regression"))
    if not lesson.hidden("preprocessing"):
        st.selectbox("Preprocessing", tapeapp.PREPROCESSING, format_func=words.PREPROCESSING_LABELS.get,
                     key=keys.knob("preprocessing"), help=words.KNOB_HELP["preprocessing"],
                     **_kw("preprocessing", busy))
    if not lesson.hidden("split"):
        st.selectbox("Which rows are held back", tapeapp.SPLITS, format_func=words.SPLIT_LABELS.get,
                     key=keys.knob("split"), help=words.KNOB_HELP["split"],
                     **_kw("split", busy, off=task == "regression"))
    if not lesson.hidden("seed"):
        st.number_input("Random seed", int(BOUNDS["seed"].low), int(BOUNDS["seed"].high), step=1,
                        key=keys.knob("seed"), help=words.KNOB_HELP["seed"], **_kw("seed", busy))


def describe_changes(changes: dict[str, Any]) -> str:
    """Knob changes in words: 'learning rate 0.0001, epochs 120'."""
    return words.changes_text(changes)


def apply_changes(changes: dict[str, Any]) -> None:
    """An Apply button's callback: set these knobs on the widgets (the user then presses Train); in a lesson,
    only the knobs the teacher left open."""
    changes = {name: value for name, value in changes.items() if not lesson.locked(name)}
    if not changes:
        return
    config = st.session_state[keys.CONFIG].replace(**changes)
    st.session_state[keys.CONFIG] = config
    st.session_state.update(_widget_values(config))
    for i in range(len(config.hidden), MAX_LAYERS):
        st.session_state.setdefault(keys.width(i), config.hidden[-1])
    st.session_state[keys.PRESET] = matching_preset(config)
    st.session_state[keys.LINK_PROBLEMS] = []


def link_params(config: tapeapp.TrainConfig) -> dict[str, str]:
    """The knobs as a link carries them: only those that differ from the defaults."""
    default = DEFAULT.to_dict()
    return {key: _link_value(value) for key, value in config.to_dict().items() if value != default[key]}


def sync_link(config: tapeapp.TrainConfig, extras: dict[str, str]) -> None:
    """Keep the URL equal to the setup (only what differs from the defaults), so a copied link reproduces it."""
    wanted = link_params(config)
    wanted.update({key: value for key, value in extras.items() if value})
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def _link_value(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else f"{value:g}" if isinstance(value, float) \
        else str(value)
