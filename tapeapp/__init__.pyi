# tapeapp's public names, listed once: the lazy loader in __init__.py reads this file, and editors and type checkers
# read it as the package's interface. Each folder (tapeapp.data, tapeapp.train, ...) lists its own public names the
# same way; what is not listed there is the folder's inside.
from . import config, data, errors, explain, features, judge, keep, report, train, words
from .config import BOUNDS, PRESETS, Preset, TrainConfig, preset
from .data.dates import DateFormat, date_parts
from .data.samples import SAMPLES, load_sample
from .data.schema import KINDS, ColumnInfo, Schema, inspect_frame
from .data.table import Table, TableInfo, read_table
from .errors import TapeError
from .explain.contributions import RowExplained, background_rows, column_ranges, explain_row, typical_row
from .explain.insight import decision_map, hidden_map, importance
from .explain.tape_step import StepExplained, explain_step
from .judge.advice import Advice, diagnose
from .judge.baselines import fit_baselines, start_baselines
from .judge.cases import confusion_rows, mistakes, region_rows, slices, weakest_slices
from .judge.comparison import compare_with_baselines, comparison_frame
from .judge.evaluation import Evaluation, evaluate, no_better_than_guessing
from .keep.export import export_files, load_model, predict_with_model, save_run
from .train.loop import EpochUpdate
from .train.lr_find import LearningRateFinding, find_learning_rate
from .train.run import Run, start_run
from .train.scores import Baselines, BaselineScore, row_hash
from .train.stopping import STOP_REASONS
from .words import ACTIVATIONS, CLASS_WEIGHTS, MAIN_METRIC, OPTIMIZERS, PREPROCESSING, SPLITS, TASKS

def warm_up() -> None: ...
