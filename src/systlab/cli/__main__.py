"""``python -m systlab.cli``: the same as the ``systlab`` command."""

import sys

from systlab.cli import main

sys.exit(main())
