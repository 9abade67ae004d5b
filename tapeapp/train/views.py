"""What observers keep with a run between calls (freed with it), under typed keys each observer declares once."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class ViewKey(Generic[T]):
    """The name of one thing an observer keeps with a run, declared beside the code that makes it: the key says what
    type it holds, and no other module can write under it by spelling the same string."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"ViewKey({self.name!r})"


class Views:
    """A run's cache of views: a run never imports what reads it, so it holds them without knowing their types.

    ``part`` keeps one value per choice under the same key (a decision map per pair of axes).
    """

    def __init__(self) -> None:
        self._held: dict[tuple[ViewKey, Hashable], object] = {}

    def get(self, key: ViewKey[T], part: Hashable = None) -> T | None:
        return self._held.get((key, part))  # type: ignore[return-value]

    def put(self, key: ViewKey[T], value: T, part: Hashable = None) -> T:
        self._held[(key, part)] = value
        return value

    def get_or_make(self, key: ViewKey[T], make: Callable[[], T], part: Hashable = None) -> T:
        """The value kept under ``key`` (and ``part``), made and kept the first time it is asked for."""
        if (key, part) not in self._held:
            return self.put(key, make(), part)
        return self._held[(key, part)]  # type: ignore[return-value]

    def clear(self) -> None:
        self._held.clear()
