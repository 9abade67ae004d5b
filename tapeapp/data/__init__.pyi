# tapeapp.data's public names (read by the lazy loader in __init__.py, and by editors)
from .budget import Allowance, NoRoomYet, allowance, size_text
from .dates import DateFormat, date_parts
from .samples import SAMPLES, Sample, load_sample
from .schema import KINDS, ColumnInfo, Schema, inspect_frame
from .table import Table, TableInfo, read_how, read_table
