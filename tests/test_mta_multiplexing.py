# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Multiplexing (``PythonMTA(connections_per_worker=N)``, N > 1): the
end-to-end, time-limit and lifecycle suites run again against servers
that serve several connections per worker (fork path) or in the serving
thread (serial path), and tests of what only multiplexing does: many
clients in one worker, a client that never reads, the worker counted busy
only when full, a 421 for every open session on shutdown."""

from __future__ import absolute_import

import os
import select
import signal

import socket
import unittest

from pymta.compat import cpu_count
from pymta.fdwait import _now
from pymta.mta import PythonMTA

from .mta_support import SLOW_DELIVERY_LINE, SLOW_DELIVERY_SENDER, \
    TIMEOUT, OnForkPath, RawClient, ServerTestCase, deliver_interleaved, \
    skip_unless_fork_path_possible
from .test_mta_end_to_end import EndToEndTests
from .test_mta_hardening_server import HardeningTestCase, TimeLimitTests
from .test_mta_processes import LifecycleTests, ServerProcessTestCase

#: the servers of the rerun suites: two workers of four connections each
MULTIPLEXING = {'connections_per_worker': 4, 'max_workers': 2}


# --- the existing suites, multiplexed -------------------------------------------
class MultiplexingForkEndToEndTest(OnForkPath, EndToEndTests,
                                   unittest.TestCase):
    server_options = MULTIPLEXING


class MultiplexingSerialEndToEndTest(EndToEndTests, unittest.TestCase):
    use_multiprocessing = False
    server_options = MULTIPLEXING


class MultiplexingForkTimeLimitTest(HardeningTestCase, TimeLimitTests):
    use_multiprocessing = True
    server_defaults = MULTIPLEXING

    def setUp(self):
        skip_unless_fork_path_possible()
        super(MultiplexingForkTimeLimitTest, self).setUp()

    def test_a_session_in_a_slow_deliverer_gets_its_reply_on_shutdown(self):
        # (replaces the suite's version, whose idle session has a worker
        # of its own and stops at once): here the idle session shares the
        # worker, which the slow deliverer blocks; the documented cost of
        # multiplexing: it gets its 421 once the delivery returned
        server = self.start_server(self.use_multiprocessing)
        idle = self.greeted_client(server, b'idle.example')
        client = self.greeted_client(server)
        self.start_data(client, sender=SLOW_DELIVERY_SENDER)
        client.send(b'Subject: slow\r\n\r\nslow\r\n.\r\n')
        server.output.read_until(SLOW_DELIVERY_LINE)
        server.send_signal(signal.SIGUSR1)      # shutdown_server()
        self.assertEqual(250, client.read_reply()[0])
        self.assertEqual(421, client.read_reply()[0])
        self.assertEqual(b'', client.read_to_eof())
        self.assertEqual(421, idle.read_reply()[0])
        self.assertEqual(b'', idle.read_to_eof())
        status, output = server.wait()
        self.assert_clean_exit(server, status, output)
        self.assertEqual([SLOW_DELIVERY_SENDER],
                         [m.smtp_from for m in server.messages()])


class MultiplexingSerialTimeLimitTest(HardeningTestCase, TimeLimitTests):
    use_multiprocessing = False
    server_defaults = MULTIPLEXING


class MultiplexingForkLifecycleTest(ServerProcessTestCase, LifecycleTests):
    use_multiprocessing = True
    server_defaults = MULTIPLEXING

    def setUp(self):
        skip_unless_fork_path_possible()
        super(MultiplexingForkLifecycleTest, self).setUp()


class MultiplexingSerialLifecycleTest(ServerProcessTestCase, LifecycleTests):
    use_multiprocessing = False
    server_defaults = MULTIPLEXING


# --- what only multiplexing does ------------------------------------------------
class MultiplexingTests(object):
    """One worker (fork path) or the serving thread (serial path) with
    room for ``CAPACITY`` connections; the subclass sets
    ``use_multiprocessing``."""

    CAPACITY = 4
    use_multiprocessing = None

    def start(self, **options):
        options.setdefault('connections_per_worker', self.CAPACITY)
        options.setdefault('max_workers', 1)
        options.setdefault('min_spare_workers', 1)
        return self.start_server(self.use_multiprocessing, **options)

    def send_message(self, client, sender):
        client.send(('MAIL FROM:<%s>\r\nRCPT TO:<to@example.com>\r\n'
                     'DATA\r\n' % sender).encode('ascii'))
        self.assertEqual([250, 250, 354],
                         [client.read_reply()[0] for _ in range(3)])
        client.send(b'Subject: multiplexed\r\n\r\nfrom ' +
                    sender.encode('ascii') + b'\r\n.\r\n')
        self.assertEqual(250, client.read_reply()[0])

    def test_clients_interleave_in_one_worker(self):
        server = self.start()
        clients = [self.greeted_client(server, b'pid')
                   for _ in range(self.CAPACITY)]
        # each command of each client in turn: they are all served at once
        for number, client in enumerate(clients):
            client.send(b'MAIL FROM:<c%d@example.com>\r\n' % number)
        for client in clients:
            self.assertEqual(250, client.read_reply()[0])
        for number, client in enumerate(clients):
            client.send(b'RCPT TO:<to@example.com>\r\nDATA\r\n')
        for client in clients:
            self.assertEqual([250, 354],
                             [client.read_reply()[0] for _ in range(2)])
        for number, client in enumerate(clients):
            client.send(b'message %d\r\n.\r\nQUIT\r\n' % number)
        for client in clients:
            self.assertEqual([250, 221],
                             [client.read_reply()[0] for _ in range(2)])
        self.assertEqual(['c%d@example.com' % n for n in range(self.CAPACITY)],
                         sorted(m.smtp_from for m in server.messages()))

    def test_a_client_that_never_reads_does_not_hold_up_the_others(self):
        server = self.start()
        hog = self.raw(server)
        hog.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        # far more replies than the socket buffers hold, never read
        hog.sock.setblocking(False)
        request = b'HELO hog\r\n' + b'HELP\r\n' * 20000
        try:
            while request:
                request = request[hog.sock.send(request):]
        except socket.error:
            pass    # (the server stopped reading: back-pressure)
        for number in range(2 * self.CAPACITY):
            client = self.greeted_client(server)
            self.send_message(client, 'other%d@example.com' % number)
            client.send(b'QUIT\r\n')
            self.assertEqual(221, client.read_reply()[0])
        self.assertEqual(2 * self.CAPACITY, len(server.messages()))

    def test_a_timeout_ends_only_the_silent_session(self):
        server = self.start(session_timeout=0.3)
        silent = self.raw(server)
        self.assertEqual(220, silent.read_reply()[0])
        busy = self.greeted_client(server)
        # the busy client keeps restarting its own timeout
        code = None
        deadline = _now() + TIMEOUT
        while code is None and _now() < deadline:
            busy.send(b'NOOP\r\n')
            self.assertEqual(250, busy.read_reply()[0])
            # (a NOOP every 0.05 s at most, until the 421 arrives)
            if select.select([silent.sock], [], [], 0.05)[0]:
                code, lines = silent.read_reply()
        self.assertEqual(421, code)
        self.assertTrue('Timeout' in lines[0], lines)
        self.assertEqual(b'', silent.read_to_eof())
        self.send_message(busy, 'busy@example.com')

    def test_shutdown_gives_every_open_session_its_421(self):
        server = self.start()
        clients = [self.greeted_client(server)
                   for _ in range(self.CAPACITY - 1)]
        middle = self.greeted_client(server)
        middle.send(b'MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n'
                    b'DATA\r\n')
        self.assertEqual([250, 250, 354],
                         [middle.read_reply()[0] for _ in range(3)])
        middle.send(b'half a message')
        status, output = server.stop(signal.SIGUSR1)
        self.assertEqual(0, status, server.stderr_text())
        for client in clients + [middle]:
            self.assertEqual(421, client.read_reply()[0])
            self.assertEqual(b'', client.read_to_eof())
        self.assertEqual([], server.messages())

    def test_a_client_beyond_the_capacity_gets_421_too_busy(self):
        server = self.start()
        clients = [self.greeted_client(server)
                   for _ in range(self.CAPACITY)]
        extra = self.raw(server)
        code, lines = extra.read_reply()
        self.assertEqual(421, code)
        self.assertTrue('too busy' in lines[0], lines)
        # a place freed is taken again
        clients[0].send(b'QUIT\r\n')
        self.assertEqual(221, clients[0].read_reply()[0])
        self.assertEqual(b'', clients[0].read_to_eof())
        for attempt in range(100):
            client = RawClient(server.port)
            self.addCleanup(client.close)
            code = client.read_reply()[0]
            if code == 220:
                break
            # (the parent may still have been turning clients away)
            self.assertEqual(421, code)
        self.assertEqual(220, code)
        client.send(b'HELO after\r\n')
        self.assertEqual(250, client.read_reply()[0])
        self.send_message(client, 'after@example.com')

    def test_many_simultaneous_connections_each_deliver_once(self):
        count = 300
        # (fork path: two workers share the clients)
        server = self.start(connections_per_worker=count // 2 + 10 if
                            self.use_multiprocessing else count + 10,
                            max_workers=2, min_spare_workers=2)
        clients = []
        for number in range(count):
            clients.append(RawClient(server.port))
            self.addCleanup(clients[-1].close)
        for client in clients:
            self.assertEqual(220, client.read_reply()[0])
        deliver_interleaved(self, clients, 'm%d@example.com', b'many')
        senders = sorted(m.smtp_from for m in server.messages())
        self.assertEqual(sorted('m%d@example.com' % n for n in range(count)),
                         senders)


class MultiplexingForkTest(MultiplexingTests, ServerTestCase):
    use_multiprocessing = True

    def setUp(self):
        skip_unless_fork_path_possible()
        super(MultiplexingForkTest, self).setUp()

    def serving_pid(self, client):
        client.send(b'HELO pid\r\n')
        code, [line] = client.read_reply()
        self.assertEqual(250, code)
        return int(line.split()[1])

    def test_a_new_connection_goes_to_an_empty_worker(self):
        # (so that a few clients' connections run on different CPUs; a
        # worker holding connections leaves the next one to an empty one)
        server = self.start(max_workers=2, min_spare_workers=2)
        first = self.raw(server)
        self.assertEqual(220, first.read_reply()[0])
        first_pid = self.serving_pid(first)
        placed = []
        started = _now()
        while len(placed) < 10:
            # (until the second worker is ready, both go to the first)
            self.assertTrue(_now() - started < TIMEOUT, placed)
            client = self.raw(server)
            self.assertEqual(220, client.read_reply()[0])
            pid = self.serving_pid(client)
            client.send(b'QUIT\r\n')
            # (the worker is empty again before the 221 goes out)
            self.assertEqual(221, client.read_reply()[0])
            client.close()
            if pid != first_pid or placed:
                placed.append(pid)
        self.assertNotIn(first_pid, placed)


class MultiplexingSerialTest(MultiplexingTests, ServerTestCase):
    use_multiprocessing = False


class OptionTest(unittest.TestCase):

    def test_default_is_one_connection_per_worker(self):
        self.assertEqual(1, PythonMTA('127.0.0.1', 0, None)
                         .connections_per_worker)

    def test_one_spare_worker_per_cpu_when_multiplexing(self):
        def spare(**options):
            return PythonMTA('127.0.0.1', 0, None, **options).min_spare_workers
        self.assertEqual(2, spare())
        cpus = cpu_count()
        self.assertEqual(min(cpus, 32), spare(connections_per_worker=8))
        self.assertEqual(1, spare(connections_per_worker=8, max_workers=1))
        self.assertEqual(3, spare(connections_per_worker=8,
                                  min_spare_workers=3))
        self.assertEqual(3, spare(min_spare_workers=3))

    def test_cpu_count(self):
        cpus = cpu_count()
        self.assertTrue(isinstance(cpus, int) and cpus >= 1, cpus)
        if hasattr(os, 'sched_getaffinity'):
            # (the CPUs this process may use, not those of the machine)
            self.assertEqual(len(os.sched_getaffinity(0)), cpus)

    def test_refused_values_and_combinations(self):
        for options in ({'connections_per_worker': 0},
                        {'connections_per_worker': 2, 'threaded': True}):
            self.assertRaises(ValueError, PythonMTA, '127.0.0.1', 0, None,
                              **options)



