"""Compiled epochs kept for reuse: tracing a run's epoch graph costs more than training a small table for 60 epochs.

A run leases an ``EpochRunner`` (its model, optimizer and traced epoch) while it trains; then it copies its weights
out and the runner goes back to the pool, and the next run with the same shapes and knobs (``loop.graph_key``)
resets it to its own seed and learning rate instead of building and tracing again. The reset gives exactly the
starting state a new model would have, so a reused runner trains the same history as a fresh one. A few idle
runners are kept, the least recently used dropped first: memory stays bounded however many runs a server sees.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from tapeapp.config import TrainConfig
from tapeapp.train.loop import EpochRunner, graph_key
from tapeapp.train.model import build_model

IDLE_RUNNERS = 4


class RunnerPool:
    """Idle runners by graph key, most recently released last; thread-safe (page sessions share one process)."""

    def __init__(self, capacity: int = IDLE_RUNNERS) -> None:
        self.capacity = capacity
        self._idle: OrderedDict[int, tuple[tuple, EpochRunner]] = OrderedDict()
        self._lock = threading.Lock()
        self.reused = 0

    def lease(self, task: str, n_inputs: int, n_outputs: int, config: TrainConfig) -> EpochRunner:
        """A runner for a new run: an idle one with the same graph, reset, or else a newly built one."""
        key = graph_key(task, n_inputs, n_outputs, config)
        with self._lock:
            found = next((i for i, (k, _) in reversed(self._idle.items()) if k == key), None)
            runner = self._idle.pop(found)[1] if found is not None else None
            self.reused += runner is not None
        if runner is None:
            return EpochRunner(build_model(n_inputs, n_outputs, task, config), task, config)
        runner.reset(config)
        return runner

    def release(self, runner: EpochRunner) -> None:
        """Take back a runner whose run has finished training (its weights were copied out first)."""
        key = graph_key(runner.task, int(runner.model.input.shape[-1]), runner.n_outputs, runner.config)
        with self._lock:
            self._idle[id(runner)] = (key, runner)
            while len(self._idle) > self.capacity:
                self._idle.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._idle.clear()

    @property
    def idle(self) -> int:
        return len(self._idle)


POOL = RunnerPool()
