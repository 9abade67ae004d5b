"""Taking turns for the CPU: many users on one server train one after another instead of all crawling at once.

A server with a couple of CPUs trains a couple of runs at full speed; thirty runs at once would each get a
fifteenth of that, all finish at the very end, and hold thirty models in memory meanwhile. So a run joins a line
(first come, first served) and trains when one of the ``seats`` is free. A run that has trained for a long slice
while others wait goes to the back of the line between two epochs, so one long run cannot keep everyone waiting.
Holders and waiters show they are alive by asking (``try_train``); a ticket not heard from for ``stale_after``
seconds (a closed browser tab) loses its place or seat. Nothing here knows about Streamlit.
"""

from __future__ import annotations

import itertools
import os
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from tapeapp.words import duration_text

SLICE_SECONDS = 15.0
STALE_SECONDS = 20.0


def cpu_seats() -> int:
    """How many runs train at once by default: one per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Place:
    """Where a ticket stands: 0 means it is training now; otherwise its place in the line and a time estimate."""

    position: int
    training: int
    estimate_seconds: float | None

    def message(self) -> str:
        """What a waiting user reads, in plain words."""
        if self.position == 0:
            return "Your turn: training now."
        others = f"{self.training} run{'s' if self.training != 1 else ''} training now"
        when = "" if self.estimate_seconds is None else f" Your turn in about {duration_text(self.estimate_seconds)}."
        return (f"You are number {self.position} in line: this server trains a few runs at a time so that each is "
                f"fast ({others}).{when} Your run starts by itself; you can leave this page open.")


class TrainingQueue:
    """First come, first served seats for training, shared by every session of one server process."""

    def __init__(self, seats: int | None = None, slice_seconds: float = SLICE_SECONDS,
                 stale_after: float = STALE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.seats = seats or cpu_seats()
        self.slice_seconds, self.stale_after, self.clock = slice_seconds, stale_after, clock
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # notified when a seat frees or the line moves
        self._numbers = itertools.count(1)
        self._waiting: list[Ticket] = []
        self._holding: list[Ticket] = []
        self._turns: deque[float] = deque(maxlen=20)

    def join(self, name: str = "") -> Ticket:
        """A new ticket at the back of the line."""
        ticket = Ticket(self, next(self._numbers), name)
        with self._lock:
            ticket.seen = self.clock()
            self._waiting.append(ticket)
        return ticket

    def _expire(self, now: float) -> None:
        """Free the seats and places of tickets nobody has asked about for too long (their page is gone)."""
        for group in (self._holding, self._waiting):
            for ticket in [t for t in group if now - t.seen > self.stale_after]:
                group.remove(ticket)
                ticket.state = "gone"

    def _try(self, ticket: Ticket) -> bool:
        now = self.clock()
        with self._lock:
            self._expire(now)
            ticket.seen = now
            if ticket in self._holding:
                if self._waiting and now - ticket.since > self.slice_seconds:  # others waited a whole slice
                    self._holding.remove(ticket)
                    self._turns.append(now - ticket.since)
                    self._waiting.append(ticket)
                    ticket.state = "waiting"
                    self._changed.notify_all()
                    return False
                return True
            if ticket not in self._waiting:  # expired, or joining again after leaving
                self._waiting.append(ticket)
            free = self.seats - len(self._holding)
            if self._waiting.index(ticket) < free:
                self._waiting.remove(ticket)
                self._holding.append(ticket)
                ticket.state, ticket.since = "training", now
                return True
            ticket.state = "waiting"
            return False

    def _leave(self, ticket: Ticket) -> None:
        with self._lock:
            if ticket in self._holding:
                self._holding.remove(ticket)
                self._turns.append(self.clock() - ticket.since)
            elif ticket in self._waiting:
                self._waiting.remove(ticket)
            ticket.state = "left"
            self._changed.notify_all()

    def _wait(self, ticket: Ticket, timeout: float) -> bool:
        """Block until it is this ticket's turn (True) or ``timeout`` seconds pass (False), without spinning."""
        deadline = time.monotonic() + timeout
        while not self._try(ticket):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with self._changed:
                self._changed.wait(min(left, 0.5))  # also wakes now and then: a closed tab's seat expires by time
        return True

    def _place(self, ticket: Ticket) -> Place:
        with self._lock:
            training = len(self._holding)
            if ticket in self._holding:
                return Place(0, training, 0.0)
            ahead = self._waiting.index(ticket) if ticket in self._waiting else len(self._waiting)
            typical = statistics.median(self._turns) if self._turns else None
            estimate = None if typical is None else typical * (ahead // self.seats + 1)
            return Place(ahead + 1, training, estimate)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"training": len(self._holding), "waiting": len(self._waiting), "seats": self.seats}


@dataclass(eq=False)
class Ticket:
    """One run's place in the line; ask ``try_train`` before every epoch, ``leave`` when the run ends."""

    queue: TrainingQueue
    number: int
    name: str = ""
    state: str = "waiting"
    seen: float = 0.0
    since: float = 0.0

    def try_train(self) -> bool:
        """Whether this run may train its next epoch now (taking a seat if it is its turn); also says 'still here'."""
        return self.queue._try(self)

    def wait_turn(self, timeout: float) -> bool:
        """Like ``try_train``, but waits up to ``timeout`` seconds for the turn (woken as soon as a seat frees)."""
        return self.queue._wait(self, timeout)

    def place(self) -> Place:
        return self.queue._place(self)

    def leave(self) -> None:
        self.queue._leave(self)
