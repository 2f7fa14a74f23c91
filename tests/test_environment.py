# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Checks that the test environment is the one tox.ini asked for: the serial
environments really have no multiprocessing, and tox tests the installed pymta,
not the checkout, and warnings are errors where tox.ini says so."""

from __future__ import absolute_import

import os
import subprocess
import sys
import unittest
import warnings


def _is_set(name):
    return bool(os.environ.get(name))


def _real_dir(path):
    return os.path.normcase(os.path.realpath(path))


class EnvironmentTest(unittest.TestCase):

    def test_multiprocessing_is_unimportable_exactly_in_serial_environments(self):
        if _is_set('PYMTA_TEST_SERIAL'):
            def import_multiprocessing():
                import multiprocessing  # noqa: F401
            def import_from_multiprocessing():
                from multiprocessing import Process  # noqa: F401
            self.assertRaises(ImportError, import_multiprocessing)
            self.assertRaises(ImportError, import_from_multiprocessing)
        else:
            import multiprocessing
            self.assertTrue(hasattr(multiprocessing, 'Process'))

    def test_pymta_imports_with_or_without_multiprocessing(self):
        import pymta
        self.assertEqual('pymta', pymta.__name__)

    def test_tox_tests_the_installed_pymta_not_the_checkout(self):
        site_packages = os.environ.get('PYMTA_TEST_SITE_PACKAGES')
        if not site_packages:
            raise unittest.SkipTest('PYMTA_TEST_SITE_PACKAGES is not set (not run by tox)')
        import pymta
        package_dir = _real_dir(os.path.dirname(pymta.__file__))
        self.assertEqual(_real_dir(os.path.join(site_packages, 'pymta')), package_dir)
        checkout = _real_dir(os.path.join(os.path.dirname(__file__), os.pardir))
        self.assertNotEqual(os.path.join(checkout, 'pymta'), package_dir)

    def test_warnings_are_errors_when_asked(self):
        # tox.ini asks for it on 3.13; tests/__init__.py installs the filter,
        # which only nose keeps (pytest and unittest set their own per test)
        if not _is_set('PYMTA_TEST_WARNINGS_AS_ERRORS'):
            raise unittest.SkipTest('PYMTA_TEST_WARNINGS_AS_ERRORS is not set')
        if 'nose' not in sys.modules or '_pytest' in sys.modules:
            raise unittest.SkipTest('not run by nose, which alone keeps the filter')
        self.assertEqual('error', os.environ.get('PYTHONWARNINGS'))
        def warn():
            warnings.warn('a test warning', DeprecationWarning)
        self.assertRaises(DeprecationWarning, warn)
        # and so is every warning in a Python that a test starts
        code = 'import warnings; warnings.warn("child", DeprecationWarning)'
        with open(os.devnull, 'w') as devnull:
            status = subprocess.call([sys.executable, '-c', code], stderr=devnull)
        self.assertNotEqual(0, status)
