# tapeapp.report's public names (read by the lazy loader in __init__.py, and by editors)
from . import charts
from .build import report_html
