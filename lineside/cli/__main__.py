"""`python -m lineside.cli ...`: the `lineside` command without its entry-point script."""

import sys

from lineside.cli.main import main

sys.exit(main())
