"""Taking turns for the CPU: first come first served, a slice for long runs, closed tabs lose their place."""

from __future__ import annotations

import threading

from tapeapp.train.queueing import TrainingQueue


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_first_come_first_served_with_two_seats():
    queue = TrainingQueue(seats=2, clock=Clock())
    a, b, c, d = (queue.join(name) for name in "abcd")
    assert d.try_train() is False, "d came last: a and b are ahead of it even before they ask"
    assert a.try_train() and b.try_train()
    assert not c.try_train() and not d.try_train()
    assert (c.place().position, d.place().position) == (1, 2)
    a.leave()
    assert not d.try_train(), "a seat is free, but it is c's turn"
    assert c.try_train() and c.place().position == 0
    b.leave()
    assert d.try_train()
    assert queue.snapshot() == {"training": 2, "waiting": 0, "seats": 2}


def test_a_long_run_goes_to_the_back_after_its_slice_only_when_others_wait():
    clock = Clock()
    queue = TrainingQueue(seats=1, slice_seconds=15, clock=clock)
    alone = queue.join("alone")
    for clock.now in range(0, 101, 5):  # an epoch every 5 s, nobody else here: a long run keeps its seat
        assert alone.try_train()
    waiting = queue.join("waiting")
    assert not waiting.try_train()
    clock.now = 105
    assert alone.try_train() is False, "a whole slice with someone waiting: back of the line"
    assert waiting.try_train() and alone.place().position == 1


def test_a_closed_tab_loses_its_seat_and_its_place():
    clock = Clock()
    queue = TrainingQueue(seats=1, stale_after=20, clock=clock)
    gone, gone_waiting, patient = queue.join("gone"), queue.join("gone too"), queue.join("patient")
    assert gone.try_train() and not gone_waiting.try_train() and not patient.try_train()
    clock.now = 15
    assert not patient.try_train()
    clock.now = 30  # 'gone' and 'gone too' last asked 30 and 30 s ago; 'patient' 15 s ago
    assert patient.try_train()
    assert gone.state == "gone" and gone_waiting.state == "gone"


def test_the_message_a_waiting_student_reads_names_the_place_and_a_time():
    clock = Clock()
    queue = TrainingQueue(seats=1, clock=clock)
    first = queue.join()
    assert first.try_train()
    clock.now = 12
    first.leave()  # a turn of 12 s: the estimate learns from it
    holder, second, third = queue.join(), queue.join(), queue.join()
    assert holder.try_train() and not second.try_train() and not third.try_train()
    place = third.place()
    assert place.position == 2 and place.training == 1 and place.estimate_seconds == 24
    assert place.message().startswith("You are number 2 in line")
    assert "1 run training now" in place.message() and "about 24 s" in place.message()
    assert holder.place().message() == "Your turn: training now."


def test_threads_never_hold_more_seats_than_there_are():
    queue = TrainingQueue(seats=2)
    most, lock, holding = [0], threading.Lock(), [0]

    def student() -> None:
        ticket = queue.join()
        while not ticket.try_train():
            pass
        with lock:
            holding[0] += 1
            most[0] = max(most[0], holding[0])
        with lock:
            holding[0] -= 1
        ticket.leave()

    threads = [threading.Thread(target=student) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert most[0] <= 2 and queue.snapshot()["waiting"] == 0


def test_a_waiting_run_gets_its_turn_while_it_waits():
    queue = TrainingQueue(seats=1)
    holder, waiter = queue.join("holder"), queue.join("waiter")
    assert holder.try_train()
    assert waiter.wait_turn(0.05) is False, "no seat within the timeout: it says so"
    got = []
    thread = threading.Thread(target=lambda: got.append(waiter.wait_turn(30.0)))
    thread.start()
    holder.leave()
    thread.join(30.0)
    assert got == [True] and waiter.place().position == 0
