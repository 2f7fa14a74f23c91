# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""pymta.fdwait.PipeEvent, the Event of Python 2 (its timed waits sleep in
the kernel instead of polling), tested on every Python."""

from __future__ import absolute_import

import os
import threading
import unittest

from pymta import compat
from pymta.fdwait import PipeEvent


def open_fds():
    return len(os.listdir('/proc/self/fd'))


class PipeEventTest(unittest.TestCase):

    def test_starts_cleared_and_a_timed_wait_then_times_out(self):
        event = PipeEvent()
        self.assertFalse(event.is_set())
        self.assertFalse(event.isSet())
        self.assertFalse(event.wait(0.01))

    def test_a_set_event_does_not_wait(self):
        event = PipeEvent()
        event.set()
        self.assertTrue(event.is_set())
        self.assertTrue(event.wait(0))
        self.assertTrue(event.wait())

    def test_clear(self):
        event = PipeEvent()
        event.set()
        event.clear()
        self.assertFalse(event.is_set())
        self.assertFalse(event.wait(0.01))

    def test_set_wakes_every_waiter(self):
        event = PipeEvent()
        results = []
        started = threading.Semaphore(0)

        def wait():
            started.release()
            results.append(event.wait(30))
        threads = [threading.Thread(target=wait) for _ in range(3)]
        for thread in threads:
            thread.start()
        for _ in threads:
            started.acquire()
        event.set()
        for thread in threads:
            thread.join(30)
        self.assertEqual([True, True, True], results)

    def test_an_untimed_wait_ends_when_set(self):
        event = PipeEvent()
        results = []
        thread = threading.Thread(target=lambda: results.append(event.wait()))
        thread.start()
        event.set()
        thread.join(30)
        self.assertEqual([True], results)

    @unittest.skipUnless(os.path.isdir('/proc/self/fd'), 'needs /proc')
    def test_waits_leave_no_file_descriptor_behind(self):
        before = open_fds()
        event = PipeEvent()
        for _ in range(20):
            event.wait(0.001)
        event.set()
        event.wait(1)
        self.assertEqual(before, open_fds())

    def test_new_event_is_a_pipe_event_on_python_2_only(self):
        expected = PipeEvent if compat.PY2 else type(threading.Event())
        self.assertTrue(type(compat.new_event()) is expected)


if __name__ == '__main__':
    unittest.main()
