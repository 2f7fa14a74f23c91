# -*- coding: utf-8 -*-
"""``PythonicTestCase``: the test case base class of pymta 0.5 suites."""

from __future__ import absolute_import

import unittest

from ..assertions import AssertionsMixin
from .simple_super import SuperProxy


__all__ = ['PythonicTestCase']


class PythonicTestCase(AssertionsMixin, unittest.TestCase):
    """A ``unittest.TestCase`` with the ``assert_equals(expected, actual,
    msg=None)`` style assertions (``assert_raises`` returns the exception)
    and ``self.super()`` (see ``pymta.lib.simple_super``).

    ``setUp`` and ``tearDown`` take and ignore any arguments, so that a
    subclass's ``setUp(self, policy=None)`` may call ``self.super()``."""

    super = SuperProxy()

    def setUp(self, *args, **kwargs):
        unittest.TestCase.setUp(self)

    def tearDown(self, *args, **kwargs):
        unittest.TestCase.tearDown(self)
