# tapeapp.judge's public names (read by the lazy loader in __init__.py, and by editors)
from . import cases
from .advice import Advice, diagnose
from .baselines import fit_baselines, start_baselines
from .cases import confusion_rows, mistakes, region_rows, slices, weakest_slices
from .comparison import compare_with_baselines, comparison_frame
from .evaluation import Evaluation, evaluate, no_better_than_guessing
