"""Why a run ends, in words, and the two policies that end it early: each a small unit the epoch loop asks.

As in Keras' ``EarlyStopping`` callback and fastai's ``TrackerCallback``, a policy watches one number per epoch and
says when to stop; the loop only reads its answer. Every ending has a code (``STOP_REASONS``) and its message is
written here, beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

STOP_REASONS = {
    "finished": "finished all epochs",
    "stopped": "stopped by you",
    "early_stopping": "stopped early (no more progress on validation rows)",
    "not_finite": "stopped: the loss was no longer a number",
    "failed": "stopped by an error",
    "not_started": "not trained yet",
    "running": "training",
}


WATCHED = {"validation": "validation loss",
           "inner": "loss on the training rows held back to choose the epoch"}


@dataclass(frozen=True)
class Stop:
    """A policy's answer: end the run here, for this reason, with this message."""

    reason: str
    message: str


def finished(epochs: int, kept_from: int | None = None) -> Stop:
    return Stop("finished", f"Finished all {epochs} epochs." + (kept_sentence(kept_from) if kept_from else ""))


def stopped_by_you(done: int, epochs: int) -> str:
    return f"Stopped by you after {done} of {epochs} epochs."


def stopped_choosing(fold_epochs: int) -> str:
    return (f"Stopped by you while cross-validation was choosing the number of epochs (after {fold_epochs} fold "
            "epochs): the model is untrained.")


def chosen_by_folds(epochs: int) -> str:
    return (f"Finished all {epochs} epochs. That many did best when 3-fold cross-validation on the training rows "
            "chose the number; the model trained on all of them for that long and keeps the last epoch.")


def failed(done: int, epochs: int) -> str:
    return f"Training broke off with an error after {done} of {epochs} epochs."


def kept_sentence(epoch: int) -> str:
    return f" The model keeps its best weights, from epoch {epoch}."


def not_finite(epoch: int) -> Stop:
    """The NaN guard's ending: the loss or the weights stopped being numbers; the epoch before is kept."""
    kept = f"the weights from epoch {epoch - 1}." if epoch > 1 else "its starting, untrained weights."
    return Stop("not_finite", f"Training stopped in epoch {epoch}: the loss stopped being a finite number, usually "
                              f"because the learning rate is too high. The model keeps {kept}")


def is_finite(loss: float, weight_norms) -> bool:
    """Whether an epoch left numbers behind: its training loss and every layer's weights."""
    return math.isfinite(loss) and all(math.isfinite(float(norm)) for norm in weight_norms)


@dataclass
class EarlyStopping:
    """Stop once the watched loss has not improved for ``patience`` epochs; remember the best epoch's weights.

    ``patience`` 0 turns it off (it then only watches). The caller hands in the weights of each epoch that improved
    (``improved``) and puts them back when told (``best_weights``), as Keras' ``restore_best_weights`` does.
    """

    patience: int
    watched: str = "validation"  # or "inner": the held-back training rows (``loop.train``'s ``choose_rows``)
    best_loss: float = math.inf
    best_epoch: int = 0
    best_weights: list = field(default_factory=list, repr=False)

    @property
    def watching(self) -> bool:
        return self.patience > 0

    def improved(self, epoch: int, loss: float) -> bool:
        """Whether ``loss`` is the best so far (then the caller records ``best_weights``)."""
        if self.patience <= 0 or not math.isfinite(loss) or loss >= self.best_loss:
            return False
        self.best_loss, self.best_epoch = loss, epoch
        return True

    def should_stop(self, epoch: int) -> Stop | None:
        if self.patience <= 0 or not self.best_epoch or epoch - self.best_epoch < self.patience:
            return None
        return Stop("early_stopping", f"Stopped early: the {WATCHED[self.watched]} has not improved for "
                                      f"{self.patience} epochs." + kept_sentence(self.best_epoch))

    def kept_at_the_end(self, epoch: int) -> int | None:
        """At the last epoch: the earlier epoch whose weights to keep, or None to keep the last one's."""
        return self.best_epoch if self.patience > 0 and self.best_epoch not in (0, epoch) else None
