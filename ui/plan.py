"""A lesson's plan as data: the task, the knobs students may change, whether the others are hidden; read from a link
or the store with every value checked."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import tapeapp
from tapeapp import words

MAX_TEXT = 2_000  # characters of a task: a few sentences, not a document
NO_KNOBS = "none"  # ``lesson_knobs=none``: every knob locked
PARAMS = ("lesson", "lesson_text", "lesson_knobs", "lesson_hide")


def knob_names() -> tuple[str, ...]:
    """The knobs a lesson can leave open: every TrainConfig field the page has a widget for, in its order."""
    return tuple(name for name in tapeapp.TrainConfig().to_dict() if name in words.KNOBS)


@dataclass(frozen=True)
class Plan:
    """What a student's page shows of a lesson: the task, the knobs left open, and whether the others are hidden."""

    text: str = ""
    allowed: tuple[str, ...] = ()
    hide: bool = False
    lesson_id: str = ""  # a stored lesson (an uploaded table); "" when the link carries everything

    def to_dict(self) -> dict:
        return {**asdict(self), "allowed": list(self.allowed)}

    @classmethod
    def from_dict(cls, data: dict) -> Plan:
        """A plan from a link or the store, every value checked (anything else is left out)."""
        text = data.get("text") if isinstance(data.get("text"), str) else ""
        allowed = data.get("allowed") if isinstance(data.get("allowed"), list | tuple) else []
        lesson_id = data.get("lesson_id") if isinstance(data.get("lesson_id"), str) else ""
        return cls(text=text[:MAX_TEXT], allowed=tuple(n for n in knob_names() if n in allowed),
                   hide=data.get("hide") is True, lesson_id=lesson_id)

    @classmethod
    def from_link(cls, extras: dict[str, str]) -> Plan | None:
        """The plan a sample lesson's link carries, or None when the link is not a lesson."""
        if "lesson_text" not in extras and "lesson_knobs" not in extras:
            return None
        allowed = [] if extras.get("lesson_knobs", NO_KNOBS) == NO_KNOBS else extras["lesson_knobs"].split(",")
        return cls.from_dict({"text": extras.get("lesson_text", ""), "allowed": allowed,
                              "hide": extras.get("lesson_hide") == "1"})

    def link_params(self) -> dict[str, str]:
        if self.lesson_id:
            return {"lesson": self.lesson_id}
        return {"lesson_text": self.text, "lesson_knobs": ",".join(self.allowed) or NO_KNOBS,
                **({"lesson_hide": "1"} if self.hide else {})}
