# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""The server's hardening (issue 11), with real sockets against a PythonMTA
in a process of its own (mta_support.ServerProcess):

* time limits as RFC 5321 §4.5.3.2 means them: a per-command timeout that
  only complete commands (and, during DATA, data) restart, a limit for one
  DATA phase and one for the whole session, so a client trickling bytes
  ("slowloris") cannot hold a worker, or the serial path, for ever;
* while every worker is busy a new client gets ``421 ... too busy`` at once
  instead of silence;
* the pool shrinks back to ``min_spare_workers`` after a burst;
* no worker holds the pipes the parent keeps for its siblings;
* on shutdown a session inside a slow deliverer gets its 250 (then the 421).

Waits are small: the limits are set to fractions of a second.
"""

from __future__ import absolute_import

import errno
import os
import select
import signal
import smtplib
import socket
import time
import unittest

from pymta.mta import PythonMTA

from .mta_support import (SLOW_DELIVERY_LINE, SLOW_DELIVERY_SECONDS,
                          SLOW_DELIVERY_SENDER, TIMEOUT, ServerTestCase,
                          child_pids, is_alive,
                          skip_unless_fork_path_possible)


_now = getattr(time, 'monotonic', time.time)

#: how long a trickling client keeps trying before the test gives up (the
#: code before the time limits never cut it off)
TRICKLE_LIMIT = 3.0
#: seconds between two bytes of a trickling client
TRICKLE_INTERVAL = 0.05


class HardeningTestCase(ServerTestCase):

    def has_input(self, client, timeout):
        """Wait up to ``timeout`` seconds for something from the server."""
        return bool(client.buffer) or bool(
            select.select([client.sock], [], [], timeout)[0])

    def reply_within(self, client, seconds):
        """The next reply, which must arrive within ``seconds``."""
        if not self.has_input(client, seconds):
            self.fail('no reply within %s s' % seconds)
        return client.read_reply()

    def trickle(self, client, limit=TRICKLE_LIMIT, payload=b'x'):
        """Send one octet every TRICKLE_INTERVAL until the server says
        something; the seconds that took (fails after ``limit``)."""
        started = _now()
        while _now() - started < limit:
            if self.has_input(client, TRICKLE_INTERVAL) or \
                    not self.send_unless_reset(client, payload):
                return _now() - started
        self.fail('still connected after %s s of trickling' % limit)

    def send_unless_reset(self, client, data):
        """Send ``data``; False if the server had closed the connection
        (its 421 and the reset for a byte sent after it can arrive between
        a look for input and this send)."""
        try:
            client.send(data)
        except socket.error as e:
            if e.args[0] not in (errno.ECONNRESET, errno.EPIPE):
                raise
            return False
        return True

    def assert_timed_out(self, client):
        code, lines = client.read_reply()
        self.assertEqual(421, code, lines)
        self.assertTrue('Timeout' in lines[0], lines)
        self.assert_closed(client)

    def assert_closed(self, client):
        """Nothing but the end of the connection follows (a reset counts:
        a trickling client may have sent a byte after the server closed)."""
        rest, client.buffer = client.buffer, b''
        while True:
            try:
                chunk = client.sock.recv(65536)
            except socket.error as e:
                if e.args[0] != errno.ECONNRESET:
                    raise
                break
            if not chunk:
                break
            rest += chunk
        self.assertEqual(b'', rest)

    def assert_served(self, server):
        connection = smtplib.SMTP('127.0.0.1', server.port, timeout=TIMEOUT)
        try:
            connection.sendmail('next@example.com', ['to@example.com'],
                                'Subject: next\n\nstill served')
            connection.quit()
        finally:
            connection.close()
        self.assertTrue([m for m in server.messages()
                         if m.smtp_from == 'next@example.com'])

    def assert_clean_exit(self, server, status, output):
        self.assertEqual(0, status, server.stderr_text())
        self.assertEqual(b'STOPPED\n', output)
        self.assertFalse('Traceback' in server.stderr_text(),
                         server.stderr_text())

    def start_data(self, client, sender='from@example.com'):
        client.send(b'MAIL FROM:<' + sender.encode('ascii') + b'>\r\n'
                    b'RCPT TO:<to@example.com>\r\nDATA\r\n')
        self.assertEqual([250, 250, 354],
                         [client.read_reply()[0] for _ in range(3)])


class TimeLimitTests(object):
    """Both paths: the subclass sets ``use_multiprocessing``."""

    use_multiprocessing = None

    def test_bytes_that_complete_no_command_do_not_restart_the_timeout(self):
        # slowloris: before, every byte restarted the timeout
        server = self.start_server(self.use_multiprocessing,
                                   session_timeout=0.3)
        client = self.raw(server)
        self.assertEqual(220, client.read_reply()[0])
        elapsed = self.trickle(client)
        self.assertTrue(0.2 <= elapsed < 2.0, elapsed)
        self.assert_timed_out(client)
        self.assert_served(server)

    def test_complete_commands_restart_the_timeout(self):
        server = self.start_server(self.use_multiprocessing,
                                   session_timeout=0.3)
        client = self.greeted_client(server)
        started = _now()
        while _now() - started < 0.6:     # two timeouts' worth
            self.assertFalse(self.has_input(client, 0.15))
            client.send(b'NOOP\r\n')
            self.assertEqual(250, client.read_reply()[0])
        started = _now()
        self.assertTrue(self.has_input(client, 2.0))
        self.assertTrue(_now() - started >= 0.2, _now() - started)
        self.assert_timed_out(client)

    def test_a_trickle_of_message_data_is_cut_off_by_the_data_limit(self):
        # each chunk of data restarts the command timeout (0.3 s); the
        # DATA phase as a whole may take 0.8 s
        server = self.start_server(self.use_multiprocessing,
                                   session_timeout=0.3, max_data_seconds=0.8)
        client = self.greeted_client(server)
        self.start_data(client)
        elapsed = self.trickle(client)
        self.assertTrue(0.6 <= elapsed < 2.5, elapsed)
        self.assert_timed_out(client)
        self.assertEqual([], server.messages())
        self.assert_served(server)

    def test_the_data_limit_is_for_each_data_phase(self):
        server = self.start_server(self.use_multiprocessing,
                                   max_data_seconds=0.5)
        client = self.greeted_client(server)
        for number in range(2):
            # (0.3 s each: more than the limit for both together)
            self.start_data(client)
            self.assertFalse(self.has_input(client, 0.3))
            client.send(b'message\r\n.\r\n')
            self.assertEqual(250, client.read_reply()[0])
        self.assertEqual(2, len(server.messages()))

    def test_slow_complete_commands_meet_the_session_limit(self):
        server = self.start_server(self.use_multiprocessing,
                                   session_timeout=0.3,
                                   max_session_seconds=0.8)
        client = self.raw(server)
        started = _now()
        self.assertEqual(220, client.read_reply()[0])
        answered = 0
        reply = None
        while reply is None:
            if _now() - started > TRICKLE_LIMIT:
                self.fail('still connected after %s s' % TRICKLE_LIMIT)
            if self.has_input(client, 0.1) or \
                    not self.send_unless_reset(client, b'NOOP\r\n'):
                reply = client.read_reply()     # unasked: the 421
                break
            reply = client.read_reply()
            if reply[0] == 250:
                answered += 1
                reply = None
        code, lines = reply
        elapsed = _now() - started
        self.assertEqual(421, code, lines)
        self.assertTrue('Timeout' in lines[0], lines)
        self.assertTrue(answered >= 3, answered)
        self.assertTrue(0.7 <= elapsed < 2.5, elapsed)
        self.assert_closed(client)

    def test_a_session_in_a_slow_deliverer_gets_its_reply_on_shutdown(self):
        # before, the fork path killed it after a grace of 1 s: its message
        # was delivered, but the client never got the 250 (and sends it
        # again); the default grace is longer now
        server = self.start_server(self.use_multiprocessing)
        idle = None
        if self.use_multiprocessing:
            idle = self.greeted_client(server, b'idle.example')
        client = self.greeted_client(server)
        self.start_data(client, sender=SLOW_DELIVERY_SENDER)
        client.send(b'Subject: slow\r\n\r\nslow\r\n.\r\n')
        server.output.read_until(SLOW_DELIVERY_LINE)
        started = _now()
        server.send_signal(signal.SIGUSR1)      # shutdown_server()
        if idle is not None:
            # an idle session stops at once
            self.assertEqual(421, self.reply_within(idle, 1.0)[0])
            self.assertFalse(client.has_data())
        self.assertEqual(250, client.read_reply()[0])
        elapsed = _now() - started
        self.assertTrue(elapsed > 1.0, elapsed)
        self.assertTrue(elapsed < SLOW_DELIVERY_SECONDS + 1.0, elapsed)
        code, lines = client.read_reply()
        self.assertEqual(421, code, lines)
        self.assertEqual(b'', client.read_to_eof())
        status, output = server.wait()
        self.assert_clean_exit(server, status, output)
        self.assertEqual([SLOW_DELIVERY_SENDER],
                         [m.smtp_from for m in server.messages()])


class SerialTimeLimitTest(HardeningTestCase, TimeLimitTests):
    use_multiprocessing = False


class ForkTimeLimitTest(HardeningTestCase, TimeLimitTests):
    use_multiprocessing = True

    def setUp(self):
        skip_unless_fork_path_possible()


class SerialPathTest(HardeningTestCase):

    def test_a_trickling_client_holds_the_serial_path_only_until_its_timeout(
            self):
        # one connection at a time: the next client waits (in the listen
        # backlog) until the time limits cut the trickling one off
        server = self.start_server(False, session_timeout=0.3)
        trickler = self.raw(server)
        self.assertEqual(220, trickler.read_reply()[0])
        waiting = self.raw(server)
        started = _now()
        cut_off = None
        while not self.has_input(waiting, TRICKLE_INTERVAL):
            if _now() - started > TRICKLE_LIMIT:
                self.fail('the next client was not served within %s s' %
                          TRICKLE_LIMIT)
            if cut_off is None and self.has_input(trickler, 0):
                cut_off = _now() - started
            elif cut_off is None and \
                    not self.send_unless_reset(trickler, b'x'):
                cut_off = _now() - started
        greeted = _now() - started
        self.assertEqual(220, waiting.read_reply()[0])
        self.assert_timed_out(trickler)
        self.assertTrue(greeted < 2.0, greeted)
        waiting.send(b'QUIT\r\n')
        self.assertEqual(221, waiting.read_reply()[0])


class ForkPoolTest(HardeningTestCase):
    """What the fork path's pool does under load."""

    def setUp(self):
        skip_unless_fork_path_possible()

    def helo_pid(self, client):
        self.assertEqual(220, client.read_reply()[0])
        client.send(b'HELO pid\r\n')
        code, lines = client.read_reply()
        self.assertEqual(250, code)
        return int(lines[0].split()[1])

    def test_a_client_gets_421_too_busy_while_every_worker_is_busy(self):
        # before, it waited in the listen backlog without a word for as
        # long as the two sessions lasted
        server = self.start_server(True, max_workers=2)
        holders = [self.greeted_client(server) for _ in range(2)]
        started = _now()
        turned_away = self.raw(server)
        code, lines = self.reply_within(turned_away, 1.0)
        self.assertTrue(_now() - started < 1.0, _now() - started)
        self.assertEqual(421, code, lines)
        self.assertTrue('too busy' in lines[0], lines)
        self.assertEqual(b'', turned_away.read_to_eof())
        # the sessions in progress go on
        holders[1].send(b'NOOP\r\n')
        self.assertEqual(250, holders[1].read_reply()[0])
        # once one ends, the next client is served by its worker
        holders[0].send(b'QUIT\r\n')
        self.assertEqual(221, holders[0].read_reply()[0])
        self.assertEqual(b'', holders[0].read_to_eof())
        self.assertEqual(220, self.reply_within(self.raw(server), 1.0)[0])
        self.assertTrue('Traceback' not in server.stderr_text(),
                        server.stderr_text())
        status, output = server.stop()
        self.assert_clean_exit(server, status, output)

    def test_the_pool_shrinks_back_to_min_spare_workers_after_a_burst(self):
        # before, the workers started for a burst stayed for ever
        server = self.start_server(True, min_spare_workers=1, max_workers=8,
                                   idle_worker_seconds=0.3)
        clients = [self.raw(server) for _ in range(5)]
        pids = set(self.helo_pid(client) for client in clients)
        self.assertEqual(5, len(pids))
        self.assertTrue(len(child_pids(server.pid)) >= 5)
        for client in clients:
            client.send(b'QUIT\r\n')
            self.assertEqual(221, client.read_reply()[0])
        # (no event tells that a process that is not ours ended: look)
        deadline = _now() + TIMEOUT
        counts = []
        while _now() < deadline:
            counts.append(len(child_pids(server.pid)))
            if counts[-1] == 1:
                break
            time.sleep(0.02)
        self.assertEqual(1, counts[-1], counts)
        self.assertTrue(min(counts) >= 1, counts)
        # the last one (min_spare_workers) stays: two more idle periods
        deadline = _now() + 0.7
        while _now() < deadline:
            self.assertEqual(1, len(child_pids(server.pid)))
            time.sleep(0.05)
        # (the one left may be a spare that served no one)
        self.assertTrue(len([pid for pid in pids if not is_alive(pid)]) >=
                        len(pids) - 1)
        self.assert_served(server)
        log = server.stderr_text()
        for text in ('replacing', 'could not start', 'Traceback'):
            self.assertFalse(text in log, log)
        status, output = server.stop()
        self.assert_clean_exit(server, status, output)

    def test_no_worker_holds_the_pipes_of_its_siblings(self):
        # before, each worker inherited what the parent keeps for the
        # workers started before it (multiprocessing's sentinel pipes)
        if not os.path.isdir('/proc/self/fd'):
            raise unittest.SkipTest('no /proc/<pid>/fd here')
        server = self.start_server(True, max_workers=4, min_spare_workers=4)
        clients = [self.raw(server) for _ in range(4)]
        pids = [self.helo_pid(client) for client in clients]
        self.assertEqual(4, len(set(pids)))
        pipes = {}
        counts = {}
        for pid in pids:
            directory = '/proc/%d/fd' % pid
            targets = []
            for name in os.listdir(directory):
                try:
                    targets.append(os.readlink(os.path.join(directory, name)))
                except OSError:
                    pass
            counts[pid] = len(targets)
            pipes[pid] = set(target for target in targets
                             if target.startswith('pipe:'))
        # (each busy worker: the same fds, its own client socket among them)
        self.assertEqual(1, len(set(counts.values())), counts)
        shared = set.intersection(*pipes.values())     # stdout, lifeline
        for pid in pids:
            own = pipes[pid] - shared
            for other in pids:
                if other != pid:
                    self.assertEqual(set(), own & pipes[other],
                                     (pid, other, pipes))
        for client in clients:
            client.send(b'QUIT\r\n')
            self.assertEqual(221, client.read_reply()[0])

    def test_shutdown_server_timeout_caps_the_grace(self):
        server = self.start_server(True, shutdown_timeout=0.2)
        client = self.greeted_client(server)
        self.start_data(client, sender=SLOW_DELIVERY_SENDER)
        client.send(b'slow\r\n.\r\n')
        server.output.read_until(SLOW_DELIVERY_LINE)
        started = _now()
        status, output = server.stop(signal.SIGUSR1)
        self.assertTrue(_now() - started < SLOW_DELIVERY_SECONDS,
                        _now() - started)
        self.assertEqual(0, status, server.stderr_text())
        self.assertEqual(b'STOPPED\n', output)
        # terminated inside the deliverer: no reply
        self.assertEqual(b'', client.read_to_eof())


class DefaultsTest(unittest.TestCase):
    """The documented defaults (README, PythonMTA's docstring)."""

    def test_time_limits_pool_and_grace(self):
        server = PythonMTA('127.0.0.1', 0, object())
        self.assertEqual(300.0, server.session_timeout)
        self.assertEqual(600.0, server.max_data_seconds)
        self.assertEqual(1800.0, server.max_session_seconds)
        self.assertEqual(30.0, server.idle_worker_seconds)
        self.assertEqual(8.0, server.shutdown_grace_seconds)

