"""``python -m vbfem.cli``: the same as the ``vbfem`` command."""

import sys

from . import main

sys.exit(main())
