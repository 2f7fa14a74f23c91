# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""pymta.worker_pool: the parent turns a client away while every worker is
busy (turn_away_connection); the pool itself is tested end to end in
tests/test_mta_processes.py and tests/test_mta_hardening_server.py."""

from __future__ import absolute_import

import socket
import unittest

from pymta.connection_settings import ConnectionSettings
from pymta.fdwait import wait_for
from pymta.worker_pool import turn_away_connection

from .worker_support import read_to_eof


class TurnAwayTest(unittest.TestCase):

    def setUp(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(self.listener.close)
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(8)
        self.listener.setblocking(False)

    def test_a_waiting_client_gets_the_421_and_is_disconnected(self):
        client = socket.create_connection(self.listener.getsockname(), 5)
        self.addCleanup(client.close)
        wait_for([self.listener.fileno()], (), 5)
        address = turn_away_connection(
            self.listener, ConnectionSettings(hostname='mx.example'))
        self.assertEqual(client.getsockname()[:2], address[:2])
        client.settimeout(5)
        self.assertEqual(b'421 mx.example Service too busy, try again later; '
                         b'closing transmission channel\r\n',
                         read_to_eof(client))

    def test_with_its_enhanced_code_or_silently(self):
        for options, expected in (
                ({'extensions': ('ENHANCEDSTATUSCODES',)},
                 b'421 4.3.2 mx.example Service too busy, try again later; '
                 b'closing transmission channel\r\n'),
                # (implicit TLS: the client expects a handshake, not text)
                ({'tls_context': object(), 'implicit_tls': True}, b'')):
            client = socket.create_connection(self.listener.getsockname(), 5)
            self.addCleanup(client.close)
            wait_for([self.listener.fileno()], (), 5)
            self.assertTrue(turn_away_connection(
                self.listener,
                ConnectionSettings(hostname='mx.example', **options)))
            client.settimeout(5)
            try:
                data = read_to_eof(client)
            except (IOError, OSError):      # (a reset is closed too)
                data = b''
            self.assertEqual(expected, data)

    def test_no_client_waiting(self):
        self.assertEqual(None, turn_away_connection(
            self.listener, ConnectionSettings(hostname='x')))


if __name__ == '__main__':
    unittest.main()
