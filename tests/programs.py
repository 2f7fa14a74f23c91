# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Finding the programs some tests run (swaks, openssl): no pymta import,
so that the packaging test, whose environments have no pymta of their
own, can use it too (not a test module)."""

from __future__ import absolute_import

import os


def find_executable(name):
    """The path of the program ``name`` on PATH, or None."""
    for directory in os.environ.get('PATH', '').split(os.pathsep):
        path = os.path.join(directory, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None
