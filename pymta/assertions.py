# -*- coding: utf-8 -*-
"""The assertion methods legacy pymta test suites call on ``self``."""

from __future__ import absolute_import


__all__ = ['AssertionsMixin']


def _fail(message, default):
    raise AssertionError(message or default)


class AssertionsMixin(object):
    """``assert_equals(expected, actual)`` style assertions for a
    ``unittest.TestCase`` (expected value first)."""

    def assert_equals(self, expected, actual, message=None):
        if not (expected == actual):
            _fail(message, '%r != %r' % (expected, actual))

    def assert_not_equals(self, expected, actual, message=None):
        if expected == actual:
            _fail(message, '%r == %r' % (expected, actual))

    def assert_true(self, actual, message=None):
        self.assert_equals(True, actual, message)

    def assert_false(self, actual, message=None):
        self.assert_equals(False, actual, message)

    def assert_trueish(self, actual, message=None):
        if not actual:
            _fail(message, '%r is not true-ish' % (actual,))

    def assert_falseish(self, actual, message=None):
        if actual:
            _fail(message, '%r is not false-ish' % (actual,))

    def assert_none(self, actual, message=None):
        if actual is not None:
            _fail(message, '%r is not None' % (actual,))

    def assert_not_none(self, actual, message=None):
        if actual is None:
            _fail(message, 'unexpected None')

    def assert_contains(self, expected_value, actual_iterable, message=None):
        if expected_value not in actual_iterable:
            _fail(message, '%r not in %r' % (expected_value, actual_iterable))

    def assert_not_contains(self, expected_value, actual_iterable,
                            message=None):
        if expected_value in actual_iterable:
            _fail(message, '%r in %r' % (expected_value, actual_iterable))

    def assert_length(self, expected_length, actual_iterable, message=None):
        actual_length = len(actual_iterable)
        if actual_length != expected_length:
            _fail(message, 'length %d != %d: %r' % (
                actual_length, expected_length, actual_iterable))

    def assert_raises(self, exception, callable_, *args, **kwargs):
        """Call ``callable_(*args, **kwargs)``; return the exception it
        raised (it must raise ``exception``)."""
        message = kwargs.pop('message', None)
        try:
            callable_(*args, **kwargs)
        except exception as e:
            return e
        _fail(message, '%s not raised' % getattr(exception, '__name__',
                                                  exception))

    def assert_almost_equals(self, expected, actual, max_delta=None,
                             message=None):
        if max_delta is None:
            max_delta = 1e-7
        if abs(expected - actual) > max_delta:
            _fail(message, '%r != %r (+/- %r)' % (expected, actual, max_delta))

    def assert_dict_contains(self, expected_sub_dict, actual_super_dict,
                             message=None):
        for key, value in expected_sub_dict.items():
            self.assert_contains(key, actual_super_dict, message)
            if value != actual_super_dict[key]:
                _fail(message, '%r: %r != %r' % (key, value,
                                                 actual_super_dict[key]))

    def assert_isinstance(self, value, klass, message=None):
        if not isinstance(value, klass):
            _fail(message, '%r is not an instance of %r' % (value, klass))

    def assert_callable(self, value, message=None):
        if not callable(value):
            _fail(message, '%r is not callable' % (value,))

    def assert_is_empty(self, actual, message=None):
        if len(actual) != 0:
            _fail(message, '%r is not empty' % (actual,))

    def assert_is_not_empty(self, actual, message=None):
        if len(actual) == 0:
            _fail(message, '%r is empty' % (actual,))
