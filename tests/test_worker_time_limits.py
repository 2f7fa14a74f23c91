# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""pymta.time_limits: the deadlines of one connection (TimeLimits), told
apart by the replies the core wrote, as serve_connection sees them; see
tests/test_worker_connection.py for them on socket pairs."""

from __future__ import absolute_import

import unittest

from pymta.fdwait import _now
from pymta.time_limits import TimeLimits


class TimeLimitsTest(unittest.TestCase):

    def test_no_limits(self):
        limits = TimeLimits(None, None, None)
        self.assertEqual(None, limits.deadline)
        self.assertEqual(None, limits.time_left())
        limits.after_input(True, False)
        self.assertEqual(False, limits.expired)

    def test_only_a_reply_restarts_the_command_timeout(self):
        limits = TimeLimits(60.0, None, None)
        first = limits.deadline
        limits.after_input(False, False)     # half a command line
        self.assertEqual(first, limits.deadline)
        limits.after_input(True, False)      # a complete command
        self.assertTrue(limits.deadline >= first)
        self.assertEqual(False, limits.expired)

    def test_a_354_starts_the_data_phase_limit(self):
        limits = TimeLimits(60.0, 10.0, None)
        self.assertEqual(None, limits.data_deadline)
        limits.after_input(True, True)       # DATA answered 354
        self.assertTrue(limits.data_deadline <= _now() + 10.0)
        self.assertEqual(limits.data_deadline, limits.deadline)
        started = limits.data_deadline
        limits.after_input(False, True)      # message data
        self.assertEqual(started, limits.data_deadline)
        limits.after_input(True, False)      # 250: the data ended
        self.assertEqual(None, limits.data_deadline)

    def test_message_data_restarts_the_command_timeout(self):
        # (in the DATA phase a chunk of data restarts it without a reply;
        # whether the core was in it before the chunk, the limits remember
        # from the call before)
        limits = TimeLimits(60.0, None, None)
        limits.after_input(True, True)              # DATA answered 354
        limits.command_deadline = limits.deadline = 0.0
        limits.after_input(False, True)             # message data
        self.assertTrue(limits.command_deadline > 0.0)
        self.assertEqual(limits.command_deadline, limits.deadline)
        self.assertEqual(False, limits.expired)
        limits.after_input(True, False)             # 250: the data ended
        limits.command_deadline = limits.deadline = 0.0
        limits.after_input(False, False)            # half a command line
        self.assertEqual(0.0, limits.command_deadline)
        self.assertEqual(True, limits.expired)

    def test_the_session_limit_bounds_every_deadline(self):
        limits = TimeLimits(60.0, 30.0, 5.0)
        self.assertEqual(limits.session_deadline, limits.deadline)
        limits.after_input(True, False)             # a command
        self.assertEqual(limits.session_deadline, limits.deadline)
        limits.after_input(True, True)              # DATA answered 354
        self.assertEqual(limits.session_deadline, limits.deadline)
        limits = TimeLimits(5.0, None, 60.0)
        limits.after_input(True, False)
        self.assertEqual(limits.command_deadline, limits.deadline)

    def test_an_expired_limit_is_named(self):
        limits = TimeLimits(60.0, None, 0.0)
        limits.after_input(False, False)
        self.assertEqual(True, limits.expired)
        self.assertEqual(0.0, limits.time_left())
        self.assertEqual('session time limit', limits.what_expired())
        self.assertEqual('command timeout',
                         TimeLimits(0.0, None, None).what_expired())


if __name__ == '__main__':
    unittest.main()
