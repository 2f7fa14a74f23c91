# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""pymta.spinner: the serial path's spin-then-block waiting (Spinner)."""

from __future__ import absolute_import

import errno
import socket
import threading
import unittest

from pymta import spinner as spinner_module

from .worker_support import SoleThreadSpinner


class Calls(object):
    """A non-blocking call that says "try again" ``failures`` times."""

    def __init__(self, failures, result='done', error=errno.EAGAIN):
        self.failures = failures
        self.result = result
        self.error = error
        self.count = 0

    def __call__(self, *args):
        self.count += 1
        if self.count <= self.failures:
            raise socket.error(self.error, 'not yet')
        return self.result


def with_another_thread(test):
    """Start a thread that stays alive until the test ends."""
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()

    def stop():
        release.set()
        thread.join()
    test.addCleanup(stop)


class SpinnerTest(unittest.TestCase):

    def test_retries_until_the_call_succeeds(self):
        call = Calls(failures=3)
        self.assertEqual('done', SoleThreadSpinner(5.0).attempt(call, 1))
        self.assertEqual(4, call.count)

    def test_gives_up_when_its_time_is_up(self):
        call = Calls(failures=10 ** 9)
        self.assertEqual(None, SoleThreadSpinner(0.002).attempt(call))
        self.assertTrue(call.count >= 1)

    def test_other_errors_are_raised(self):
        call = Calls(failures=1, error=errno.ECONNRESET)
        try:
            SoleThreadSpinner(5.0).attempt(call)
        except socket.error as e:
            self.assertEqual(errno.ECONNRESET, e.args[0])
        else:
            self.fail('no error')

    def test_does_not_spin_while_another_thread_runs(self):
        # (spinning would hold the GIL that thread may need)
        with_another_thread(self)
        call = Calls(failures=0)
        self.assertEqual(None, spinner_module.Spinner(5.0).attempt(call))
        self.assertEqual(0, call.count)

    def test_a_long_blocking_wait_stops_spinning_a_short_one_resumes_it(self):
        spinner = SoleThreadSpinner(0.001)
        spinner.blocked(0.5)
        call = Calls(failures=0)
        self.assertEqual(None, spinner.attempt(call))
        self.assertEqual(0, call.count)
        spinner.blocked(0.0005)
        self.assertEqual('done', spinner.attempt(call))


if __name__ == '__main__':
    unittest.main()
