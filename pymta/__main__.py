# -*- coding: utf-8 -*-
"""``python -m pymta``: the debugging server (see ``pymta.cli``)."""

from __future__ import absolute_import

import sys

from .cli import main


if __name__ == '__main__':
    sys.exit(main())
