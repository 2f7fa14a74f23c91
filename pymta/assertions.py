# -*- coding: utf-8 -*-
"""The assertion methods legacy pymta test suites call on ``self``."""

from __future__ import absolute_import


__all__ = ['AssertionsMixin']


def _fail(msg, default):
    raise AssertionError(msg or default)


class AssertionsMixin(object):
    """``assert_equals(expected, actual)`` style assertions for a
    ``unittest.TestCase`` (expected value first)."""

    def assert_equals(self, expected, actual, msg=None):
        if not (expected == actual):
            _fail(msg, '%r != %r' % (expected, actual))

    def assert_not_equals(self, expected, actual, msg=None):
        if expected == actual:
            _fail(msg, '%r == %r' % (expected, actual))

    def assert_true(self, actual, msg=None):
        self.assert_equals(True, actual, msg)

    def assert_false(self, actual, msg=None):
        self.assert_equals(False, actual, msg)

    def assert_trueish(self, actual, msg=None):
        if not actual:
            _fail(msg, '%r is not true-ish' % (actual,))

    def assert_falseish(self, actual, msg=None):
        if actual:
            _fail(msg, '%r is not false-ish' % (actual,))

    def assert_none(self, actual, msg=None):
        if actual is not None:
            _fail(msg, '%r is not None' % (actual,))

    def assert_not_none(self, actual, msg=None):
        if actual is None:
            _fail(msg, 'unexpected None')

    def assert_contains(self, expected_value, actual_iterable, msg=None):
        if expected_value not in actual_iterable:
            _fail(msg, '%r not in %r' % (expected_value, actual_iterable))

    def assert_not_contains(self, expected_value, actual_iterable,
                            msg=None):
        if expected_value in actual_iterable:
            _fail(msg, '%r in %r' % (expected_value, actual_iterable))

    def assert_length(self, expected_length, actual_iterable, msg=None):
        actual_length = len(actual_iterable)
        if actual_length != expected_length:
            _fail(msg, 'length %d != %d: %r' % (
                actual_length, expected_length, actual_iterable))

    def assert_raises(self, exception, callable_, *args, **kwargs):
        """Call ``callable_(*args, **kwargs)`` once; return the exception it
        raised (it must raise ``exception``). Every keyword argument goes to
        ``callable_``."""
        try:
            callable_(*args, **kwargs)
        except exception as e:
            return e
        _fail(None, '%s not raised' % getattr(exception, '__name__',
                                               exception))

    def assert_almost_equals(self, expected, actual, max_delta=None,
                             msg=None):
        if max_delta is None:
            max_delta = 1e-7
        if abs(expected - actual) > max_delta:
            _fail(msg, '%r != %r (+/- %r)' % (expected, actual, max_delta))

    def assert_dict_contains(self, expected_sub_dict, actual_super_dict,
                             msg=None):
        for key, value in expected_sub_dict.items():
            self.assert_contains(key, actual_super_dict, msg)
            if value != actual_super_dict[key]:
                _fail(msg, '%r: %r != %r' % (key, value,
                                                 actual_super_dict[key]))

    def assert_isinstance(self, value, klass, msg=None):
        if not isinstance(value, klass):
            _fail(msg, '%r is not an instance of %r' % (value, klass))

    def assert_callable(self, value, msg=None):
        if not callable(value):
            _fail(msg, '%r is not callable' % (value,))

    def assert_is_empty(self, actual, msg=None):
        if len(actual) != 0:
            _fail(msg, '%r is not empty' % (actual,))

    def assert_is_not_empty(self, actual, msg=None):
        if len(actual) == 0:
            _fail(msg, '%r is empty' % (actual,))
