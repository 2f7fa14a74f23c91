# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""pymta.worker's connection loop on socket pairs: the serial path's
spin-then-block waiting (Spinner), replies that do not fit into the socket
buffer, and a process-wide default socket timeout."""

from __future__ import absolute_import

import errno
import socket
import threading
import time
import unittest

from pymta import worker
from pymta.deliverer import BlackholeDeliverer
from pymta.mta import PythonMTA

from .worker_support import SoleThreadSpinner, socket_pair


def read_to_eof(sock):
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b''.join(chunks)
        chunks.append(chunk)


class RecordingSpinner(SoleThreadSpinner):
    """A SoleThreadSpinner that records what it did."""

    def __init__(self, seconds):
        super(RecordingSpinner, self).__init__(seconds)
        self.results = []
        self.blocked_waits = []

    def attempt(self, call, *args):
        result = super(RecordingSpinner, self).attempt(call, *args)
        self.results.append(result)
        return result

    def blocked(self, seconds):
        self.blocked_waits.append(seconds)
        super(RecordingSpinner, self).blocked(seconds)


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
        self.assertEqual(None, worker.Spinner(5.0).attempt(call))
        self.assertEqual(0, call.count)

    def test_a_long_blocking_wait_stops_spinning_a_short_one_resumes_it(self):
        spinner = SoleThreadSpinner(0.001)
        spinner.blocked(0.5)
        call = Calls(failures=0)
        self.assertEqual(None, spinner.attempt(call))
        self.assertEqual(0, call.count)
        spinner.blocked(0.0005)
        self.assertEqual('done', spinner.attempt(call))


class ServeConnectionTest(unittest.TestCase):

    def serve(self, server_end, **kwargs):
        kwargs.setdefault('idle_timeout', 5.0)
        return worker.serve_connection(
            server_end, ('127.0.0.1', 4567), BlackholeDeliverer(),
            primary_hostname='localhost', **kwargs)

    def test_a_spinner_receives_commands_that_are_there(self):
        server_end, client = socket_pair(self)
        client.sendall(b'EHLO client.example\r\nQUIT\r\n')
        spinner = RecordingSpinner(5.0)
        self.assertEqual(False, self.serve(server_end, spinner=spinner))
        replies = read_to_eof(client)
        self.assertTrue(replies.startswith(b'220 '), replies)
        self.assertTrue(replies.endswith(b'221 localhost closing '
                                         b'connection\r\n'), replies)
        # the commands came through the spin, no wait blocked
        self.assertEqual(b'EHLO client.example\r\nQUIT\r\n', spinner.results[0])
        self.assertEqual([], spinner.blocked_waits)

    def test_a_silent_client_stops_the_spinning(self):
        server_end, client = socket_pair(self)
        spinner = RecordingSpinner(0.001)
        self.assertEqual(False, self.serve(server_end, spinner=spinner,
                                           idle_timeout=0.05))
        replies = read_to_eof(client)
        self.assertTrue(replies.endswith(b'421 localhost Timeout, closing '
                                         b'transmission channel\r\n'),
                        replies)
        self.assertEqual([None], spinner.results)
        self.assertEqual(1, len(spinner.blocked_waits))
        self.assertTrue(spinner.blocked_waits[0] >= 0.04)
        self.assertEqual(False, spinner.active)

    def test_replies_larger_than_the_socket_buffers_all_arrive(self):
        # the client sends thousands of commands before it reads a reply:
        # the server's sends fill the buffers and must wait, not fail
        server_end, client = socket_pair(self)
        for sock in (server_end, client):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        count = 5000
        commands = b'EHLO client.example\r\n' + b'NOOP\r\n' * count + \
            b'QUIT\r\n'
        writer = threading.Thread(target=client.sendall, args=(commands,))
        server = threading.Thread(target=self.serve, args=(server_end,))
        server.start()
        writer.start()
        try:
            replies = read_to_eof(client)
        finally:
            writer.join(10)
            server.join(10)
        self.assertEqual(count, replies.count(b'250 OK\r\n'))
        self.assertTrue(replies.endswith(b'221 localhost closing '
                                         b'connection\r\n'))

    def test_a_default_socket_timeout_does_not_make_waits_block(self):
        # socket.setdefaulttimeout() gives every new socket a timeout; the
        # loop must still wait only where it means to (here: the idle
        # timeout of 0.05 s, not the default timeout of 30 s)
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(30.0)
        try:
            server_end, client = socket_pair(self)
        finally:
            socket.setdefaulttimeout(previous)
        self.assertEqual(30.0, server_end.gettimeout())
        self.serve(server_end, idle_timeout=0.05)
        self.assertTrue(read_to_eof(client).endswith(
            b'421 localhost Timeout, closing transmission channel\r\n'))


class SlowDeliverer(object):
    def __init__(self, seconds):
        self.seconds = seconds
        self.messages = []

    def new_message_accepted(self, msg):
        time.sleep(self.seconds)
        self.messages.append(msg)


class TimeLimitsTest(unittest.TestCase):
    """serve_connection's time limits (RFC 5321 §4.5.3.2) on socket pairs;
    see tests/test_mta_hardening_server.py for them on a real server."""

    def serve(self, server_end, deliverer=None, **kwargs):
        return worker.serve_connection(
            server_end, ('127.0.0.1', 4567), deliverer or BlackholeDeliverer(),
            primary_hostname='localhost', **kwargs)

    def test_the_reply_to_a_delivered_message_precedes_the_421(self):
        # the session limit passes while the deliverer runs: the client
        # still gets its 250 (else it would send the message again)
        server_end, client = socket_pair(self)
        client.sendall(b'HELO x\r\nMAIL FROM:<a@example.com>\r\n'
                       b'RCPT TO:<b@example.com>\r\nDATA\r\nHi\r\n.\r\n')
        deliverer = SlowDeliverer(0.2)
        self.serve(server_end, deliverer, idle_timeout=5.0,
                   max_session_seconds=0.1)
        codes = [line[:3] for line in read_to_eof(client).splitlines()]
        self.assertEqual([b'220', b'250', b'250', b'250', b'354', b'250',
                          b'421'], codes)
        self.assertEqual(1, len(deliverer.messages))

    def test_an_unfinished_command_line_does_not_restart_the_timeout(self):
        server_end, client = socket_pair(self)
        thread = threading.Thread(target=self.serve, args=(server_end,),
                                  kwargs={'idle_timeout': 0.2})
        started = time.time()
        thread.start()
        try:
            client.settimeout(0.02)
            received = b''
            while b'421' not in received and time.time() - started < 3.0:
                try:
                    received += client.recv(4096)
                except socket.timeout:
                    client.sendall(b'x')
        finally:
            thread.join(5)
        self.assertTrue(received.endswith(
            b'421 localhost Timeout, closing transmission channel\r\n'),
            received)
        self.assertTrue(time.time() - started < 2.0)

    def test_on_session_end_runs_before_the_client_can_see_the_end(self):
        # a worker marks itself idle there: a client that reconnects at
        # once must not find every worker busy
        for commands, kwargs in ((b'QUIT\r\n', {}),
                                 (b'', {'idle_timeout': 0.05})):
            server_end, client = socket_pair(self)
            client.sendall(commands)
            seen = []

            def session_ended():
                # (everything sent so far is the greeting)
                pending = client.recv(4096, socket.MSG_PEEK)
                seen.append(pending.count(b'\r\n'))
            self.serve(server_end, on_session_end=session_ended, **kwargs)
            replies = read_to_eof(client).splitlines()
            self.assertEqual([1], seen)
            self.assertEqual(2, len(replies), replies)


class SerialSpinSettingTest(unittest.TestCase):
    """PythonMTA(serial_spin_seconds=...) reaches the serial path's worker
    (default 0.0002 s); the fork path's workers never spin."""

    def spin_seconds_of_the_worker(self, use_multiprocessing=False, **kwargs):
        from pymta import mta as mta_module
        seen = []
        original = mta_module.WorkerProcess

        class RecordingWorkerProcess(original):
            def accept_loop(self, *args, **kw):
                seen.append(self.spin_seconds)
                server.shutdown_server()
                return original.accept_loop(self, *args, **kw)
        mta_module.WorkerProcess = RecordingWorkerProcess
        self.addCleanup(setattr, mta_module, 'WorkerProcess', original)
        server = PythonMTA('127.0.0.1', 0, BlackholeDeliverer, **kwargs)
        thread = threading.Thread(target=server.serve_forever,
                                  args=(use_multiprocessing,))
        thread.start()
        thread.join(10)
        self.assertFalse(thread.is_alive())
        return seen

    def test_the_serial_path_spins_by_default(self):
        self.assertEqual([0.0002], self.spin_seconds_of_the_worker())

    def test_the_serial_path_can_be_told_not_to_spin(self):
        self.assertEqual([0], self.spin_seconds_of_the_worker(
            serial_spin_seconds=0))
        self.assertEqual([0.01], self.spin_seconds_of_the_worker(
            serial_spin_seconds=0.01))


if __name__ == '__main__':
    unittest.main()


class PrepareCoreTest(unittest.TestCase):
    """prepare_core: the fork path's parent runs the core once before it
    forks (no socket, none of the user's classes)."""

    def test_every_round_of_the_canned_dialogue_is_a_message_accepted(self):
        # a core that refused the dialogue would warm up only its error paths
        self.assertEqual(3, worker.prepare_core(rounds=3))

    def test_the_dialogue_is_answered_as_a_client_would_expect(self):
        from pymta.command_parser import SMTPCommandParser
        replies = []

        class Channel(object):
            def write(self, text):
                replies.append(text.split(' ')[0].split('-')[0])

            def close(self):
                replies.append('closed')
        deliverer = worker._Discard()
        parser = SMTPCommandParser(Channel(), '127.0.0.1', 0, deliverer,
                                   primary_hostname='localhost')
        for chunk in worker._WARM_UP_DIALOGUE:
            parser.process_new_data(chunk)
        self.assertEqual(['220', '250', '250', '250', '250', '354', '250',
                          '221', 'closed'], replies)
        self.assertEqual(1, deliverer.messages)
