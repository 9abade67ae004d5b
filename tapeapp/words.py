"""The words tapeapp uses, in one place: metric names and what they mean, knob names and help, optimizer, baseline
and task names, and how numbers and durations are written. The page, the charts, the command line and the messages
of the core read them here, so one idea has one name wherever it appears.
"""

from __future__ import annotations

import math

# --- scores ---------------------------------------------------------------------------------------------------------
MAIN_METRIC = {"binary": "accuracy", "multiclass": "accuracy", "regression": "rmse"}  # the score a run is judged by
SHARES = frozenset({"accuracy", "auc", "f1"})  # scores that are shares of rows: written as percentages
LOWER_IS_BETTER = frozenset({"loss", "mae", "rmse"})
METRICS: dict[str, tuple[str, str]] = {  # the short name (axes) and a sentence for someone who has not met it
    "loss": ("Loss", "How wrong the model is, in the units the optimizer lowers."),
    "accuracy": ("Accuracy", "Share of validation rows put in the right class."),
    "auc": ("AUC", "How well the model ranks rows: 100% is perfect, 50% is guessing."),
    "f1": ("F1 score", "Balance of precision and recall, averaged over the classes by size."),
    "mae": ("Average error (MAE)", "How far off a prediction is on average, in the target's units."),
    "rmse": ("Typical error (RMSE)", "Like the average error, but large misses count more."),
    "r2": ("R²", "1 is perfect; 0 is no better than always predicting the average."),
}
AXIS_NAMES = {"loss": "Loss", "accuracy": "Accuracy", "auc": "AUC", "f1": "F1", "mae": "MAE", "rmse": "RMSE",
              "r2": "R²"}

# --- simpler models ------------------------------------------------------------------------------------------------
BASELINE_TITLES = {"majority": "always answering the most common class", "mean": "always answering the average",
                   "linear": "a linear model", "boosted_trees": "boosted trees"}
BASELINE_SHORT = {"majority": "always the most common class", "mean": "always the average",
                  "linear": "linear model", "boosted_trees": "boosted trees"}  # labels beside lines on a chart
BASELINE_MODELS = {"majority": "DummyClassifier", "mean": "DummyRegressor", "linear": "LogisticRegression / Ridge",
                   "boosted_trees": "HistGradientBoostingClassifier / Regressor"}
BASELINE_WHY = {  # the reason given when one of them beats the network
    "boosted_trees": "for tables like this, trees are often the better tool.",
    "linear": "the pattern is simple enough for a straight-line model, which the network has not yet matched.",
    "majority": "the network has not learned anything useful yet.",
    "mean": "the network has not learned anything useful yet."}

# --- tasks and knobs: each vocabulary's names and how the page says them, defined once ---------------------------
TASK_LABELS = {"binary": "Two classes (yes/no)", "multiclass": "Several classes", "regression": "A number (regression)"}
TASKS = tuple(TASK_LABELS)
TASK_CHOICES = {"auto": "Let the app decide", **TASK_LABELS}  # what the page and the CLI offer: a task, or the guess
TASKS_IN_A_SENTENCE = {"binary": "a yes/no question", "multiclass": "predicting one of several classes",
                       "regression": "predicting a quantity"}
ACTIVATION_LABELS = {"leaky_relu": "Leaky ReLU", "relu": "ReLU", "tanh": "tanh", "elu": "ELU", "gelu": "GELU",
                     "selu": "SELU", "sigmoid": "sigmoid", "swish": "swish"}
ACTIVATIONS = tuple(ACTIVATION_LABELS)
OPTIMIZER_LABELS = {"rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW", "sgd": "SGD"}
OPTIMIZERS = tuple(OPTIMIZER_LABELS)
OPTIMIZER_CHOICES = {**OPTIMIZER_LABELS, "sgd": "SGD (plain gradient descent)"}  # the menu says what SGD is
PREPROCESSING_LABELS = {"standard": "Safer (recommended)", "tutorial": "Exactly as in the tutorial"}
PREPROCESSING = tuple(PREPROCESSING_LABELS)
SPLIT_LABELS = {"stratified": "Same class shares on both sides (recommended)",
                "random": "Plain random (as the tutorial)"}
SPLITS = tuple(SPLIT_LABELS)
CLASS_WEIGHT_LABELS = {"none": "Every row counts the same", "balanced": "Balance the classes"}
CLASS_WEIGHTS = tuple(CLASS_WEIGHT_LABELS)
LOSSES = {"binary": "binary cross-entropy", "multiclass": "cross-entropy",
          "regression": "mean squared error, on the standardised target"}
KNOBS = {"hidden": "hidden layers", "activation": "activation", "dropout": "dropout", "l2": "L2 penalty",
         "optimizer": "optimizer", "learning_rate": "learning rate", "momentum": "momentum",
         "batch_size": "batch size", "epochs": "epochs", "val_fraction": "validation share",
         "patience": "early stopping after", "class_weight": "class weights", "preprocessing": "preprocessing",
         "split": "split", "seed": "seed"}
KNOB_HELP = {
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
    "patience": "Early stopping: end the run when the loss on 20% of the training rows, held back to choose the "
                "epoch, has not improved for this many epochs, and keep the best epoch's weights (on a table of "
                "fewer than 1,000 training rows, 3-fold cross-validation chooses the number of epochs instead). "
                "The validation rows only score the result. 0 turns it off: every epoch runs and the last is kept.",
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


# --- how numbers are written ----------------------------------------------------------------------------------------
def score_text(metric: str, value: float | None) -> str:
    """A score as the page shows it: shares as percentages, R² with three decimals, errors with four digits."""
    if value is None or not math.isfinite(value):
        return "–"
    if metric in SHARES:
        return f"{value:.1%}"
    if metric == "r2":
        return f"{value:.3f}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:#.4g}"


def duration_text(seconds: float) -> str:
    """A wait in words, rounded up to the second: '8 s', '2 min 05 s'."""
    seconds = max(1, math.ceil(seconds))
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def setting_text(value: object) -> str:
    """A knob's value in a sentence: '64-64', '0.0003', 'adam'."""
    if isinstance(value, (list, tuple)):
        return "-".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def changes_text(changes: dict) -> str:
    """Knob changes in words: 'learning rate 0.0001, epochs 120'."""
    return ", ".join(f"{KNOBS.get(name, name)} {setting_text(value)}" for name, value in changes.items())
