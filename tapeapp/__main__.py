import sys

from tapeapp.cli import main

sys.exit(main())
