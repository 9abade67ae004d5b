# tapeapp.train's public names (read by the lazy loader in __init__.py, and by editors)
from .loop import EpochUpdate, FoldUpdate
from .lr_find import LearningRateFinding, find_learning_rate
from .metrics import MAIN_METRIC
from .queueing import Place, Ticket, TrainingQueue
from .run import Run, history_frame, start_run
from .scores import Baselines, BaselineScore, row_hash
from .stopping import STOP_REASONS, stopped_by_you
from .views import ViewKey, Views
