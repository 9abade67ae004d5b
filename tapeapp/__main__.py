"""``python -m tapeapp``: the command line."""

from tapeapp.cli import main_exit

main_exit()
