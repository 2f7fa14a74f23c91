# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""pymta.worker_pool: the parent turns a client away while every worker is
busy (turn_away_connection), and imports the multiplexing loop before it
forks; the pool itself is tested end to end in
tests/test_mta_processes.py and tests/test_mta_hardening_server.py."""

from __future__ import absolute_import

import os
import socket
import subprocess
import sys
import unittest

from pymta.connection_settings import ConnectionSettings
from pymta.fdwait import wait_for
from pymta.worker_pool import turn_away_connection

from .mta_support import skip_unless_fork_path_possible
from .worker_support import read_to_eof

#: a fork-path server in a process of its own: once it listens (before it
#: starts a worker), the pymta modules loaded; then it stops
_LOADED_WHILE_SERVING = r"""
import sys
from pymta.mta import PythonMTA

class Server(PythonMTA):
    def listening_started(self):
        sys.stdout.write(' '.join(sorted(m for m in sys.modules
                                         if m.startswith('pymta.'))))
        sys.stdout.flush()
        self.shutdown_server()

Server('127.0.0.1', 0, None,
       connections_per_worker=int(sys.argv[1])).serve_forever()
"""


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


class ImportsBeforeForkingTest(unittest.TestCase):
    """With connections_per_worker > 1 the parent imports the multiplexing
    loop before it starts workers (which share it rather than each
    importing it while its first clients wait); the default never loads
    it."""

    def setUp(self):
        skip_unless_fork_path_possible()

    def loaded_while_serving(self, connections_per_worker):
        import pymta
        root = os.path.dirname(os.path.dirname(
            os.path.abspath(pymta.__file__)))
        output = subprocess.check_output(
            [sys.executable, '-c', _LOADED_WHILE_SERVING,
             str(connections_per_worker)],
            env=dict(os.environ, PYTHONPATH=root))
        return set(output.decode('ascii').split())

    def test_multiplexing_loads_it_before_the_workers_start(self):
        loaded = self.loaded_while_serving(4)
        self.assertTrue('pymta.worker_pool' in loaded, loaded)
        self.assertTrue('pymta.multiplexer' in loaded, loaded)

    def test_the_default_never_loads_it(self):
        loaded = self.loaded_while_serving(1)
        self.assertTrue('pymta.worker_pool' in loaded, loaded)
        self.assertFalse('pymta.multiplexer' in loaded, loaded)


if __name__ == '__main__':
    unittest.main()
