"""``python -m mqa`` runs the ``mqa`` command."""

import sys

from mqa.cli import main

sys.exit(main())
