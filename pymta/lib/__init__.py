# -*- coding: utf-8 -*-
"""Test support of pymta 0.5, kept for the suites written then:
``PythonicTestCase`` and ``SuperProxy``. The SMTP core does not use it."""

from __future__ import absolute_import

from .simple_super import SuperProxy
from .testcase import PythonicTestCase


__all__ = ['PythonicTestCase', 'SuperProxy']
