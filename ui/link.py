"""The knobs as a whole, and the link that carries the setup: read from the URL once, kept in the page's state,
changed together (a preset, a kept session, a project, an advice's Apply) and written back into the URL.

Widget values are kept under ``cfg_<field>`` keys (``ui.state.knob``); the last valid TrainConfig is kept as well
(``state.config``), because Streamlit forgets a widget's value on any run that does not draw it. Every change of the
knobs as a whole goes through ``_use``.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

import tapeapp
from tapeapp import words
from tapeapp.config import BOUNDS
from tapeapp.errors import clipped
from ui import lesson, plan
from ui.state import LAYERS, PRESET, knob, set_widgets, state, widget, widget_default, width

DEFAULT = tapeapp.TrainConfig()
LINK_EXTRAS = ("sample", "target", "s", *plan.PARAMS)
MAX_LAYERS = int(BOUNDS["layers"].high)
CUSTOM = "custom"


def load_link() -> None:
    """Once per session: read the setup from the URL, keeping every good setting and naming the bad ones."""
    if state.config is not None:
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
    config = tapeapp.TrainConfig.from_dict(good)
    state.config, state.link_extras, state.link_problems = config, extras, problems
    set_widgets({PRESET: matching_preset(config)})


def link_extra(name: str) -> str | None:
    """A non-knob setting from the link (which sample, which target), used once and then forgotten."""
    return state.link_extras.pop(name, None)


def link_extras(names: tuple[str, ...]) -> dict[str, str]:
    """Several of them at once (those the link has)."""
    return {name: value for name in names if (value := link_extra(name)) is not None}


def matching_preset(config: tapeapp.TrainConfig) -> str:
    return next((key for key, p in tapeapp.PRESETS.items() if p.config == config), CUSTOM)


def _widget_values(config: tapeapp.TrainConfig) -> dict[str, Any]:
    values = {knob(name): value for name, value in config.to_dict().items() if name != "hidden"}
    values[LAYERS] = len(config.hidden)
    values.update({width(i): neurons for i, neurons in enumerate(config.hidden)})
    return values


def seed_widgets(config: tapeapp.TrainConfig) -> None:
    """Give widgets Streamlit has forgotten (or never drew) their value from the last good config."""
    for key, value in _widget_values(config).items():
        widget_default(key, value)
    for i in range(len(config.hidden), MAX_LAYERS):
        widget_default(width(i), config.hidden[-1])


def config_from_widgets() -> tapeapp.TrainConfig:
    names = [name for name in DEFAULT.to_dict() if name != "hidden"]
    values = {name: widget(knob(name)) for name in names}
    hidden = tuple(int(widget(width(i))) for i in range(int(widget(LAYERS))))
    return tapeapp.TrainConfig(hidden=hidden, **values)


def _use(config: tapeapp.TrainConfig, preset: str | None = None, widgets: bool = True) -> None:
    """The one place the knobs change as a whole: the config kept, the widgets set (unless they are the source),
    the preset that matches, and the link's complaints cleared (the user has moved on)."""
    state.config = config
    if widgets:
        set_widgets(_widget_values(config))
        for i in range(len(config.hidden), MAX_LAYERS):
            widget_default(width(i), config.hidden[-1])
    set_widgets({PRESET: preset or matching_preset(config)})
    state.link_problems = []


def apply_config(config: tapeapp.TrainConfig) -> None:
    """Set every knob to ``config`` (a kept session, a project, a lesson): before the widgets are drawn."""
    _use(config)


def apply_preset() -> None:
    key = widget(PRESET)
    if key != CUSTOM:
        _use(tapeapp.PRESETS[key].config, preset=key)


def knob_changed() -> None:
    try:
        config = config_from_widgets()
    except tapeapp.TapeError:
        set_widgets({PRESET: CUSTOM})
        return
    _use(config, widgets=False)


def describe_changes(changes: dict[str, Any]) -> str:
    """Knob changes in words: 'learning rate 0.0001, epochs 120'."""
    return words.changes_text(changes)


def apply_changes(changes: dict[str, Any]) -> None:
    """An Apply button's callback: set these knobs on the widgets (the user then presses Train); in a lesson,
    only the knobs the teacher left open."""
    changes = {name: value for name, value in changes.items() if not lesson.locked(name)}
    if changes:
        _use(state.config.replace(**changes))


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
