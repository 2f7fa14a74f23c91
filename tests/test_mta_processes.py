# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""The server as a process: starting, stopping and signals on both paths,
and what only the fork path does (concurrency, replacing dead workers,
workers that follow their parent). Each test runs its own PythonMTA in a
process of its own (mta_support.ServerProcess)."""

from __future__ import absolute_import

import itertools
import os
import signal
import smtplib
import socket
import threading
import time
import unittest

from .mta_support import (SLOW_SECONDS, TIMEOUT, ServerTestCase,
                          child_pids, is_alive, living,
                          multiprocessing_is_importable,
                          skip_unless_fork_path_possible)


_now = getattr(time, 'monotonic', time.time)


class ServerProcessTestCase(ServerTestCase):

    def helo_pid(self, client):
        """Greeting and ``HELO pid``: the pid of the process serving
        ``client``."""
        self.assertEqual(220, client.read_reply()[0])
        client.send(b'HELO pid\r\n')
        code, lines = client.read_reply()
        self.assertEqual(250, code)
        return int(lines[0].split()[1])

    def send_message(self, server, sender='from@example.com'):
        connection = smtplib.SMTP('127.0.0.1', server.port, timeout=TIMEOUT)
        try:
            connection.sendmail(sender, ['to@example.com'], 'Subject: x\n\nHi')
            connection.quit()
        finally:
            connection.close()

    def assert_port_can_be_bound(self, port):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(('127.0.0.1', port))
            sock.listen(1)
        finally:
            sock.close()

    def assert_clean_exit(self, server, status, output):
        self.assertEqual(0, status, server.stderr_text())
        self.assertEqual(b'STOPPED\n', output)
        self.assertFalse('Traceback' in server.stderr_text(),
                         server.stderr_text())


class LifecycleTests(object):
    """Both paths: the subclass sets ``use_multiprocessing``."""

    use_multiprocessing = None

    def test_shutdown_server_stops_promptly_and_frees_the_port(self):
        server = self.start_server(self.use_multiprocessing)
        self.send_message(server)
        started = _now()
        status, output = server.stop(signal.SIGUSR1)
        self.assertTrue(_now() - started < 1.0, _now() - started)
        self.assert_clean_exit(server, status, output)
        self.assert_port_can_be_bound(server.port)
        self.assertEqual(1, len(server.messages()))

    def test_sigint_to_the_server_process_stops_it_cleanly(self):
        server = self.start_server(self.use_multiprocessing)
        self.send_message(server)
        status, output = server.stop(signal.SIGINT)
        self.assert_clean_exit(server, status, output)
        self.assert_port_can_be_bound(server.port)

    def test_an_idle_client_does_not_hold_up_the_shutdown(self):
        server = self.start_server(self.use_multiprocessing)
        client = self.greeted_client(server, b'idle.example')
        started = _now()
        status, output = server.stop(signal.SIGUSR1)
        self.assertTrue(_now() - started < 1.0, _now() - started)
        self.assert_clean_exit(server, status, output)
        self.assertEqual(421, client.read_reply()[0])
        self.assertEqual(b'', client.read_to_eof())

    def test_a_busy_client_does_not_hold_up_the_shutdown(self):
        # a client that sends its next command as soon as it has a reply:
        # on the serial path, spinning (here up to 0.5 s) then always finds
        # the next command, and the server never sleeps in poll, where it
        # would see the stop
        server = self.start_server(self.use_multiprocessing,
                                   serial_spin_seconds=0.5)
        client = self.greeted_client(server, b'busy.example')
        outcome = []
        under_way = threading.Event()

        def keep_sending():
            deadline = _now() + TIMEOUT
            try:
                for count in itertools.count():
                    if _now() > deadline:
                        outcome.append('still served after %s s' % TIMEOUT)
                        return
                    if count == 100:
                        under_way.set()
                    client.send(b'NOOP\r\n')
                    code = client.read_reply()[0]
                    if code != 250:
                        outcome.append(code)
                        return
            except (AssertionError, socket.error) as e:
                outcome.append(e)     # closed without a 421
            finally:
                under_way.set()
        sender = threading.Thread(target=keep_sending)
        sender.start()
        try:
            under_way.wait(TIMEOUT)
            status, output = server.stop(signal.SIGUSR1)
        finally:
            sender.join(TIMEOUT * 2)
        self.assert_clean_exit(server, status, output)
        self.assertEqual([421], outcome)

    def test_a_silent_client_is_disconnected_after_the_session_timeout(self):
        server = self.start_server(self.use_multiprocessing,
                                   session_timeout=0.3)
        client = self.raw(server)
        self.assertEqual(220, client.read_reply()[0])
        code, lines = client.read_reply()
        self.assertEqual(421, code)
        self.assertTrue('Timeout' in lines[0], lines)
        self.assertEqual(b'', client.read_to_eof())
        self.send_message(server)

    def test_ctrl_c_in_a_terminal_stops_everything_cleanly(self):
        # Ctrl-C sends SIGINT to the whole foreground process group
        server = self.start_server(self.use_multiprocessing,
                                   new_process_group=True)
        client = self.greeted_client(server, b'busy.example')
        workers = child_pids(server.pid)
        server.send_signal_to_group(signal.SIGINT)
        status, output = server.wait()
        self.assert_clean_exit(server, status, output)
        self.assertEqual([], living(workers))
        self.assertEqual(421, client.read_reply()[0])
        self.assertEqual(b'', client.read_to_eof())
        self.assert_port_can_be_bound(server.port)

    def test_start_stop_cycles_leave_no_fd_thread_or_process_behind(self):
        cycles = 21
        server = self.start_server(self.use_multiprocessing, cycles=cycles)
        counts = []
        for cycle in range(cycles):
            if cycle:
                server.read_listening_line()
            self.send_message(server)
            server.send_signal(signal.SIGUSR1)
            if cycle == cycles - 1:
                break
            words = server.output.read_until(b'\n').split()
            self.assertEqual(b'CYCLE', words[0], words)
            counts.append(tuple(int(word) for word in words[1:]))
        status, output = server.wait()
        self.assert_clean_exit(server, status, output)
        self.assertEqual(cycles, len(server.messages()))
        # (open file descriptors, threads, child processes) after each run
        # but the last, as the server process saw them
        self.assertEqual([counts[0]] * (cycles - 1), counts)
        self.assertEqual((1, 0), counts[0][1:])

    def test_a_signal_handler_that_lands_in_another_thread_stops_it(self):
        # The serving thread sleeps in poll(); the signal interrupts another
        # thread; Python runs the handler (shutdown_server) in the main
        # thread only once that wakes up: the signal wake-up fd does that.
        # (The same as a signal arriving just before the serving thread
        # blocks, which made one shutdown in some hundred hang.)
        if not hasattr(signal, 'pthread_sigmask'):
            raise unittest.SkipTest('no pthread_sigmask before Python 3.3')
        server = self.start_server(self.use_multiprocessing,
                                   signals_in_other_thread=True)
        self.send_message(server)
        started = _now()
        status, output = server.stop(signal.SIGUSR1)
        self.assertTrue(_now() - started < 1.0, _now() - started)
        self.assert_clean_exit(server, status, output)

    def test_a_signal_whose_handler_does_not_stop_it_changes_nothing(self):
        server = self.start_server(self.use_multiprocessing)
        client = self.greeted_client(server, b'client.example')
        for _ in range(3):
            server.send_signal(signal.SIGUSR2)
        client.send(b'MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>'
                    b'\r\nDATA\r\nHi\r\n.\r\nQUIT\r\n')
        self.assertEqual([250, 250, 354, 250, 221],
                         [client.read_reply()[0] for _ in range(5)])
        server.send_signal(signal.SIGUSR2)
        self.send_message(server)
        self.assertEqual(2, len(server.messages()))
        status, output = server.stop()
        self.assert_clean_exit(server, status, output)

    def test_an_address_in_use_raises_an_error_naming_it(self):
        blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(blocker.close)
        blocker.bind(('127.0.0.1', 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        from pymta.mta import PythonMTA
        mta = PythonMTA('127.0.0.1', port, object())
        try:
            mta.serve_forever(use_multiprocessing=self.use_multiprocessing)
        except socket.error as e:
            self.assertTrue('127.0.0.1:%d' % port in str(e), str(e))
        else:
            self.fail('serve_forever() bound a port that is in use')
        self.assertFalse(mta.listening.is_set())


class SerialLifecycleTest(ServerProcessTestCase, LifecycleTests):
    use_multiprocessing = False


class ForkLifecycleTest(ServerProcessTestCase, LifecycleTests):
    use_multiprocessing = True

    def setUp(self):
        skip_unless_fork_path_possible()


class ForkPathOnlyTest(ServerProcessTestCase):
    """What only worker processes can do."""

    def setUp(self):
        skip_unless_fork_path_possible()

    def test_sixteen_clients_connected_at_once_are_all_greeted(self):
        server = self.start_server(True)
        clients = [self.raw(server) for _ in range(16)]
        for client in clients:
            code, lines = client.read_reply()
            self.assertEqual(220, code)
        # all 16 sessions are alive at the same time, each in its own worker
        pids = set()
        for client in clients:
            client.send(b'HELO pid\r\n')
        for client in clients:
            pids.add(int(client.read_reply()[1][0].split()[1]))
        self.assertEqual(16, len(pids))
        for client in clients:
            client.send(b'QUIT\r\n')
            self.assertEqual(221, client.read_reply()[0])

    def test_workers_are_started_as_load_needs_them(self):
        server = self.start_server(True, min_spare_workers=2, max_workers=32)
        self.send_message(server)
        self.assertTrue(len(child_pids(server.pid)) <= 3,
                        child_pids(server.pid))
        clients = [self.raw(server) for _ in range(6)]
        for client in clients:
            self.assertEqual(220, client.read_reply()[0])
        self.assertTrue(len(child_pids(server.pid)) >= 6)

    def test_workers_share_the_state_table_the_parent_built(self):
        # built once before forking, not by every worker for its first client
        server = self.start_server(True)
        client = self.raw(server)
        self.assertEqual(220, client.read_reply()[0])
        client.send(b'HELO tables\r\n')
        self.assertEqual((250, ['tables inherited']), client.read_reply())

    def test_a_blocking_policy_does_not_stall_other_sessions(self):
        server = self.start_server(True)
        slow = self.raw(server)
        self.assertEqual(220, slow.read_reply()[0])
        slow.send(b'HELO slow\r\n')     # the policy sleeps SLOW_SECONDS
        started = _now()
        self.send_message(server, sender='fast@example.com')
        elapsed = _now() - started
        self.assertFalse(slow.has_data(), 'the slow HELO was answered early')
        self.assertTrue(elapsed < SLOW_SECONDS / 2, elapsed)
        self.assertEqual(['fast@example.com'],
                         [m.smtp_from for m in server.messages()])
        self.assertEqual(250, slow.read_reply()[0])

    def test_a_killed_worker_is_replaced(self):
        server = self.start_server(True, max_workers=1, min_spare_workers=1)
        client = self.raw(server)
        first_pid = self.helo_pid(client)
        self.assertEqual([first_pid], child_pids(server.pid))
        os.kill(first_pid, signal.SIGKILL)
        self.assertEqual(b'', client.read_to_eof())
        # the only worker is gone; a connection is served all the same
        second = self.raw(server)
        second_pid = self.helo_pid(second)
        self.assertNotEqual(first_pid, second_pid)
        self.assertFalse(is_alive(first_pid))
        second.send(b'QUIT\r\n')
        self.assertEqual(221, second.read_reply()[0])
        self.send_message(server)
        status, output = server.stop()
        self.assert_clean_exit(server, status, output)

    def test_no_worker_remains_after_shutdown_server(self):
        server = self.start_server(True)
        clients = [self.raw(server) for _ in range(4)]
        pids = [self.helo_pid(client) for client in clients]
        self.assertTrue(set(pids) <= set(child_pids(server.pid)))
        workers = child_pids(server.pid)
        status, output = server.stop(signal.SIGUSR1)
        self.assert_clean_exit(server, status, output)
        self.assertEqual([], living(workers))
        self.assert_port_can_be_bound(server.port)

    def assert_serves_in_workers_with_default_start_method(self, method):
        import multiprocessing
        if not hasattr(multiprocessing, 'set_start_method'):
            raise unittest.SkipTest('no start methods before Python 3.4 '
                                    '(Python 2 always forks)')
        if method not in multiprocessing.get_all_start_methods():
            raise unittest.SkipTest('no %r start method here' % method)
        # the server's deliverer is a closure: a spawned worker could not
        # even be built, only a forked one serves
        server = self.start_server(True, start_method=method)
        client = self.raw(server)
        worker = self.helo_pid(client)
        self.assertTrue(worker in child_pids(server.pid))
        client.send(b'QUIT\r\n')
        self.assertEqual(221, client.read_reply()[0])
        self.send_message(server)
        self.assertEqual(1, len(server.messages()))
        status, output = server.stop()
        self.assert_clean_exit(server, status, output)

    def test_the_fork_path_forks_where_the_default_is_spawn(self):
        # macOS and Windows since 3.8
        self.assert_serves_in_workers_with_default_start_method('spawn')

    def test_the_fork_path_forks_where_the_default_is_forkserver(self):
        # POSIX since 3.14
        self.assert_serves_in_workers_with_default_start_method('forkserver')

    def test_a_deliverer_instance_serves_in_every_worker(self):
        server = self.start_server(True, deliverer_instance=True)
        clients = [self.raw(server) for _ in range(3)]
        pids = set(self.helo_pid(client) for client in clients)
        self.assertEqual(3, len(pids))
        self.assertFalse(server.pid in pids)
        for number, client in enumerate(clients):
            client.send(b'MAIL FROM:<from%d@example.com>\r\n'
                        b'RCPT TO:<to@example.com>\r\nDATA\r\nHi\r\n.\r\n'
                        b'QUIT\r\n' % number)
            self.assertEqual([250, 250, 354, 250, 221],
                             [client.read_reply()[0] for _ in range(5)])
        self.assertEqual(['from0@example.com', 'from1@example.com',
                          'from2@example.com'],
                         sorted(m.smtp_from for m in server.messages()))
        status, output = server.stop()
        self.assert_clean_exit(server, status, output)

    def test_workers_that_cannot_start_are_retried_with_a_pause(self):
        server = self.start_server(True, policy='broken')
        # nothing can serve; the server keeps trying, slower and slower
        client = self.raw(server)
        server.wait_for_log('could not start')
        self.assertFalse(client.has_data())
        self.assertTrue(len(child_pids(server.pid)) <= 2)
        started = _now()
        status, output = server.stop(signal.SIGUSR1)
        self.assertTrue(_now() - started < 1.0, _now() - started)
        self.assertEqual(0, status)
        self.assertEqual(b'STOPPED\n', output)

    def assert_workers_follow_their_parent(self, signum):
        server = self.start_server(True)
        idle = self.raw(server)         # one worker in a session
        self.helo_pid(idle)
        # and (soon) an idle one, started to replace the busy one
        deadline = _now() + TIMEOUT
        while len(child_pids(server.pid)) < 2 and _now() < deadline:
            time.sleep(0.01)
        workers = child_pids(server.pid)
        self.assertTrue(len(workers) >= 2, workers)
        started = _now()
        server.send_signal(signum)
        # the workers share the server's stdout: its end means all are gone
        server.output.read_to_eof(timeout=1.5)
        self.assertTrue(_now() - started < 1.0, _now() - started)
        server.process.wait()
        self.assertEqual([], living(workers))
        # the worker said goodbye (421) before it exited
        self.assertEqual(421, idle.read_reply()[0])
        self.assertEqual(b'', idle.read_to_eof())

    def test_workers_exit_when_the_server_is_killed(self):
        self.assert_workers_follow_their_parent(signal.SIGKILL)

    def test_workers_exit_when_the_server_is_terminated(self):
        self.assert_workers_follow_their_parent(signal.SIGTERM)


class SerialFallbackTest(ServerProcessTestCase):
    """Where ``import multiprocessing`` fails, serve_forever() serves one
    connection at a time in the calling process."""

    def setUp(self):
        if multiprocessing_is_importable():
            raise unittest.SkipTest('multiprocessing can be imported here: '
                                    'the fallback is checked in the serial '
                                    'environments (PYMTA_TEST_SERIAL)')

    def test_multiprocessing_really_cannot_be_imported(self):
        def import_it():
            import multiprocessing  # noqa: F401
        self.assertRaises(ImportError, import_it)

    def test_serve_forever_falls_back_to_the_serial_path(self):
        server = self.start_server(True)    # asks for the fork path
        client = self.raw(server)
        self.assertEqual(server.pid, self.helo_pid(client))
        self.assertEqual([], child_pids(server.pid))
        client.send(b'QUIT\r\n')
        self.assertEqual(221, client.read_reply()[0])
        self.send_message(server)
        status, output = server.stop()
        self.assert_clean_exit(server, status, output)
