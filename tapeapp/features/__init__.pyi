# tapeapp.features's public names (read by the lazy loader in __init__.py, and by editors)
from .date_layer import DateFeatures
from .number_layer import SignedLog
from .prepare import Prepared, inputs_estimate, prepare
from .preprocess import Preprocessor, unexpected_columns
