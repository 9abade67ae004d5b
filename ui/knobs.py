"""The knobs section: one widget per TrainConfig field, the presets, and the link (URL) that carries the setup.

Widget values live in ``st.session_state`` under ``cfg_<field>`` keys; the last valid TrainConfig is kept under
``config`` as well, because Streamlit forgets a widget's value on any run that does not draw it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

import tapeapp
from tapeapp.config import BOUNDS
from tapeapp.errors import clipped
from ui import rate_finder
from ui.safe import md

DEFAULT = tapeapp.TrainConfig()
LINK_EXTRAS = ("sample", "target")
LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
L2_PENALTIES = (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 0.1)
BATCH_SIZES = (8, 16, 32, 64, 128, 256, 512, 1024, 4096)
MAX_LAYERS = int(BOUNDS["layers"].high)
CUSTOM = "custom"

ACTIVATION_NAMES = {"leaky_relu": "Leaky ReLU", "relu": "ReLU", "tanh": "tanh", "elu": "ELU", "gelu": "GELU",
                    "selu": "SELU", "sigmoid": "sigmoid", "swish": "swish"}
OPTIMIZER_NAMES = {"rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW", "sgd": "SGD (plain gradient descent)"}
PREPROCESSING_NAMES = {"standard": "Safer (recommended)", "tutorial": "Exactly as in the tutorial"}
SPLIT_NAMES = {"stratified": "Same class shares on both sides (recommended)", "random": "Plain random (as the tutorial)"}
CLASS_WEIGHT_NAMES = {"none": "Every row counts the same", "balanced": "Balance the classes"}

HELP = {
    "preset": "A ready-made set of knobs. Pick one, then change anything you like; the page switches to Custom.",
    "layers": "How many hidden layers the network stacks. More layers can learn more complicated patterns but "
              "train slower and over-fit small tables more easily. One or two is plenty for most tables.",
    "width": "How many neurons this layer has. More neurons remember more detail; too many on a small table "
             "means the model memorises the rows instead of learning the pattern. Too few and it cannot learn it.",
    "activation": "The bend each neuron applies to its sum. Without a bend the whole network would be one straight "
                  "line. Leaky ReLU and ReLU are good defaults; tanh and sigmoid learn slower in deep networks.",
    "dropout": "Share of neurons switched off at random on each training step, so the network cannot rely on any "
               "single one. 0 turns it off. A little (0.1–0.3) fights over-fitting; too much and it cannot learn.",
    "l2": "A penalty on large weights that keeps the model simple. 0 turns it off. Too high and the model stays "
          "too simple to learn anything (both curves stay high).",
    "optimizer": "The rule that turns gradients into weight changes. Adam and RMSprop adapt the step per weight "
                 "and usually just work; SGD is the plain textbook rule and needs a well-chosen learning rate.",
    "learning_rate": "How big a step the weights take after each batch. Too high: the loss jumps around or "
                     "explodes. Too low: the loss creeps down very slowly. Try 0.001 first.",
    "momentum": "Only used by SGD: how much each step keeps going in the direction of the last ones, like a "
                "rolling ball. 0.9 is usual; 0 is plain SGD; close to 1 can overshoot.",
    "batch_size": "How many rows the model looks at before each weight update. Small batches: more, noisier "
                  "updates per epoch. Big batches: fewer, smoother updates and faster epochs.",
    "epochs": "How many times training goes through all training rows. Too few and the model has not finished "
              "learning; too many and it starts memorising (watch the validation curve turn upwards).",
    "val_fraction": "Share of rows held back and never trained on, to check the model on rows it has not seen. "
                    "Too small and the check is noisy; too big and little is left to learn from.",
    "patience": "Early stopping: end the run when the validation loss has not improved for this many epochs, and keep "
                "the best weights. 0 turns it off and always runs every epoch.",
    "class_weight": "For classes of very different sizes: 'Balance the classes' makes mistakes on the rare class "
                    "count more, so the model does not just always guess the common one.",
    "preprocessing": "How columns are turned into numbers the network can use. 'Safer' gives each category its own "
                     "input and fills missing values, all learned from the training rows only. 'Exactly as in the "
                     "tutorial' turns categories into codes and scales by mean and spread, like the TensorFlow "
                     "tutorial, to reproduce it.",
    "split": "How the validation rows are picked. 'Same class shares' keeps each class in the same proportion on "
             "both sides, so a rare class is not left out of the check by bad luck. 'Plain random' is what the "
             "tutorial did. Numbers to predict are always split at random.",
    "seed": "The starting point for everything random (initial weights, the split, the shuffling). The same seed "
            "with the same settings gives the same run; change it to see how much luck is involved.",
}


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
    st.session_state["config"] = tapeapp.TrainConfig.from_dict(good)
    st.session_state["link_extras"] = extras
    st.session_state["link_problems"] = problems
    st.session_state["preset"] = matching_preset(st.session_state["config"])


def link_extra(name: str) -> str | None:
    """A non-knob setting from the link (which sample, which target), used once and then forgotten."""
    return st.session_state.get("link_extras", {}).pop(name, None)


def matching_preset(config: tapeapp.TrainConfig) -> str:
    return next((key for key, p in tapeapp.PRESETS.items() if p.config == config), CUSTOM)


def _widget_values(config: tapeapp.TrainConfig) -> dict[str, Any]:
    values = {f"cfg_{name}": value for name, value in config.to_dict().items() if name != "hidden"}
    values["cfg_layers"] = len(config.hidden)
    values.update({f"cfg_width_{i}": width for i, width in enumerate(config.hidden)})
    return values


def _seed_widgets(config: tapeapp.TrainConfig) -> None:
    """Give widgets Streamlit has forgotten (or never drew) their value from the last good config."""
    for key, value in _widget_values(config).items():
        st.session_state.setdefault(key, value)
    last = config.hidden[-1]
    for i in range(len(config.hidden), MAX_LAYERS):
        st.session_state.setdefault(f"cfg_width_{i}", last)


def _config_from_widgets() -> tapeapp.TrainConfig:
    state = st.session_state
    names = [name for name in DEFAULT.to_dict() if name != "hidden"]
    values = {name: state[f"cfg_{name}"] for name in names}
    hidden = tuple(int(state[f"cfg_width_{i}"]) for i in range(int(state["cfg_layers"])))
    return tapeapp.TrainConfig(hidden=hidden, **values)


def _apply_preset() -> None:
    key = st.session_state["preset"]
    if key == CUSTOM:
        return
    config = tapeapp.PRESETS[key].config
    st.session_state["config"] = config
    st.session_state.update(_widget_values(config))
    st.session_state["link_problems"] = []


def _knob_changed() -> None:
    try:
        config = _config_from_widgets()
    except tapeapp.TapeError:
        st.session_state["preset"] = CUSTOM
        return
    st.session_state["config"] = config
    st.session_state["preset"] = matching_preset(config)
    st.session_state["link_problems"] = []


def _options_with(options: tuple, value: Any) -> list:
    """Fixed choices plus the current value when a link or preset asked for one in between."""
    return sorted({*options, value})


def _top(key: str, usual: float) -> float:
    """A slider's usual maximum, raised for the session when a link asked for more (the config allows it).

    Fixed once per session: a slider whose range changed would be a new widget and lose its value.
    """
    return st.session_state.setdefault(f"{key}_max", max(usual, type(usual)(st.session_state[key])))


def _lr_label(value: float) -> str:
    return f"{value:g}"


def knobs_section(task: str, busy: bool, can_find: bool = False) -> tapeapp.TrainConfig | None:
    """Every knob with help for a non-programmer; returns the config, or None (with an error shown) if invalid."""
    load_link()
    config: tapeapp.TrainConfig = st.session_state["config"]
    _seed_widgets(config)
    for problem in st.session_state.get("link_problems", []):
        st.warning(md(problem))
    presets = [*tapeapp.PRESETS, CUSTOM]
    names = {key: p.name for key, p in tapeapp.PRESETS.items()} | {CUSTOM: "Custom (your own settings)"}
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    left.selectbox("Start from a preset", presets, format_func=names.get, key="preset", on_change=_apply_preset,
                   disabled=busy, help=HELP["preset"])
    chosen = st.session_state["preset"]
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
    st.session_state["config"] = config
    return config


def _network_knobs(busy: bool) -> None:
    st.markdown("**The network**")
    kw = dict(on_change=_knob_changed, disabled=busy)
    layers = st.slider("Hidden layers", int(BOUNDS["layers"].low), MAX_LAYERS, key="cfg_layers",
                       help=HELP["layers"], **kw)
    columns = st.columns(min(layers, 3))
    width = BOUNDS["width"]
    for i in range(layers):
        columns[i % len(columns)].number_input(f"Neurons in layer {i + 1}", int(width.low), int(width.high), step=8,
                                               key=f"cfg_width_{i}", help=HELP["width"], **kw)
    st.selectbox("Activation", tapeapp.ACTIVATIONS, format_func=ACTIVATION_NAMES.get, key="cfg_activation",
                 help=HELP["activation"], **kw)
    st.slider("Dropout", 0.0, _top("cfg_dropout", 0.9), step=0.05, key="cfg_dropout", help=HELP["dropout"],
              **kw)
    st.select_slider("L2 penalty on weights", _options_with(L2_PENALTIES, st.session_state["cfg_l2"]),
                     format_func=lambda v: "off" if v == 0 else f"{v:g}", key="cfg_l2", help=HELP["l2"], **kw)


def _learning_knobs(busy: bool, can_find: bool) -> None:
    st.markdown("**How it learns**")
    kw = dict(on_change=_knob_changed, disabled=busy)
    optimizer = st.selectbox("Optimizer", tapeapp.OPTIMIZERS, format_func=OPTIMIZER_NAMES.get, key="cfg_optimizer",
                             help=HELP["optimizer"], **kw)
    st.select_slider("Learning rate", _options_with(LEARNING_RATES, st.session_state["cfg_learning_rate"]),
                     format_func=_lr_label, key="cfg_learning_rate", help=HELP["learning_rate"], **kw)
    rate_finder.find_button(busy, can_find)
    st.slider("Momentum (SGD only)", 0.0, _top("cfg_momentum", 0.99), step=0.01, key="cfg_momentum",
              help=HELP["momentum"], on_change=_knob_changed, disabled=busy or optimizer != "sgd")
    st.select_slider("Batch size (rows per step)", _options_with(BATCH_SIZES, st.session_state["cfg_batch_size"]),
                     key="cfg_batch_size", help=HELP["batch_size"], **kw)
    st.slider("Epochs (full passes over the data)", 1, _top("cfg_epochs", 500), key="cfg_epochs",
              help=HELP["epochs"], **kw)  # a link may ask for more, up to BOUNDS["epochs"]


def _checking_knobs(task: str, busy: bool) -> None:
    st.markdown("**Checking and data handling**")
    kw = dict(on_change=_knob_changed, disabled=busy)
    st.slider("Validation share (rows held back)", 0.05, 0.9, step=0.05, key="cfg_val_fraction",
              format="percent", help=HELP["val_fraction"], **kw)
    st.slider("End early after this many epochs with no progress (0 = off)", 0, _top("cfg_patience", 100),
              key="cfg_patience", help=HELP["patience"], **kw)
    st.selectbox("Class weights", tapeapp.CLASS_WEIGHTS, format_func=CLASS_WEIGHT_NAMES.get, key="cfg_class_weight",
                 help=HELP["class_weight"], on_change=_knob_changed, disabled=busy or task == "regression")
    st.selectbox("Preprocessing", tapeapp.PREPROCESSING, format_func=PREPROCESSING_NAMES.get,
                 key="cfg_preprocessing", help=HELP["preprocessing"], **kw)
    st.selectbox("Which rows are held back", tapeapp.SPLITS, format_func=SPLIT_NAMES.get, key="cfg_split",
                 help=HELP["split"], on_change=_knob_changed, disabled=busy or task == "regression")
    st.number_input("Random seed", int(BOUNDS["seed"].low), int(BOUNDS["seed"].high), step=1, key="cfg_seed",
                    help=HELP["seed"], **kw)


KNOB_NAMES = {"hidden": "hidden layers", "activation": "activation", "dropout": "dropout", "l2": "L2 penalty",
              "optimizer": "optimizer", "learning_rate": "learning rate", "momentum": "momentum",
              "batch_size": "batch size", "epochs": "epochs", "val_fraction": "validation share",
              "patience": "early stopping after", "class_weight": "class weights", "preprocessing": "preprocessing",
              "split": "split", "seed": "seed"}


def describe_changes(changes: dict[str, Any]) -> str:
    """Knob changes in words: 'learning rate 0.0001, epochs 120'."""
    def shown(value: Any) -> str:
        return "-".join(map(str, value)) if isinstance(value, (list, tuple)) else f"{value:g}" \
            if isinstance(value, float) else str(value)

    return ", ".join(f"{KNOB_NAMES.get(name, name)} {shown(value)}" for name, value in changes.items())


def apply_changes(changes: dict[str, Any]) -> None:
    """An Apply button's callback: set these knobs on the widgets (the user then presses Train)."""
    config = st.session_state["config"].replace(**changes)
    st.session_state["config"] = config
    st.session_state.update(_widget_values(config))
    for i in range(len(config.hidden), MAX_LAYERS):
        st.session_state.setdefault(f"cfg_width_{i}", config.hidden[-1])
    st.session_state["preset"] = matching_preset(config)
    st.session_state["link_problems"] = []


def sync_link(config: tapeapp.TrainConfig, extras: dict[str, str]) -> None:
    """Keep the URL equal to the setup (only what differs from the defaults), so a copied link reproduces it."""
    default = DEFAULT.to_dict()
    wanted = {key: _link_value(value) for key, value in config.to_dict().items() if value != default[key]}
    wanted.update({key: value for key, value in extras.items() if value})
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def _link_value(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else f"{value:g}" if isinstance(value, float) \
        else str(value)
