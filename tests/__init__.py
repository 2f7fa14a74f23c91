# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""The tests of pymta.

This package __init__ runs before any test module, and so before pymta is
imported, under nose, pytest and ``python -m unittest discover -s tests -t .``.
It reads two environment variables (tox.ini sets them):

PYMTA_TEST_SERIAL
    Non-empty: ``import multiprocessing`` raises ImportError for the whole run,
    as on the old Pythons without it, so pymta takes its serial path.
PYMTA_TEST_WARNINGS_AS_ERRORS
    Non-empty: from here on every warning is an error, in pymta, in the tests and
    (through PYTHONWARNINGS) in any Python the tests start. Not PYTHONWARNINGS=error
    in tox.ini: that also makes pip fail to build pymta (setuptools warns). Only nose
    keeps this filter; pytest and unittest set their own around each test, so there
    use ``python -W error -m pytest tests`` or ``python -W error -m unittest ...``.
"""

import os
import sys
import warnings


if os.environ.get('PYMTA_TEST_SERIAL'):
    # A None entry makes every later `import multiprocessing` (and
    # `from multiprocessing import ...`) fail, even if it was imported before.
    sys.modules['multiprocessing'] = None

if os.environ.get('PYMTA_TEST_WARNINGS_AS_ERRORS'):
    warnings.simplefilter('error')
    os.environ['PYTHONWARNINGS'] = 'error'
