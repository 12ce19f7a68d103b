"""``python -m imnot_proxy.cli``: the same as the ``imnot-proxy`` console script."""

import sys

from . import main

sys.exit(main())
