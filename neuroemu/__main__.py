"""``python -m neuroemu`` is the ``neuroemu`` command."""

import sys

from neuroemu.cli import main

sys.exit(main())
