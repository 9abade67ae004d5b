# tapeapp.explain's public names (read by the lazy loader in __init__.py, and by editors)
from . import contributions, insight
from .contributions import RowExplained, background_rows, column_ranges, explain_row, typical_row
from .insight import decision_map, hidden_map, importance
from .tape_step import StepExplained, explain_step
