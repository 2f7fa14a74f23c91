# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""pymta.connection_loop: serving one connection on socket pairs: spin-then-block
waiting for the client (with a Spinner), replies that do not fit into the
socket buffer, a process-wide default socket timeout, the time limits and
the stop signal."""

from __future__ import absolute_import

import logging
import socket
import threading
import time
import unittest

from pymta import connection_loop
from pymta.connection_settings import ConnectionSettings
from pymta.deliverer import BlackholeDeliverer
from pymta.stop_signal import StopSignal

from .core_support import PymtaLog, make_noop_fail
from .worker_support import SoleThreadSpinner, read_to_eof, socket_pair


def serve(server_end, deliverer=None, stop=None, spinner=None,
          on_session_end=None, **limits):
    """``serve_connection`` with a BlackholeDeliverer (or ``deliverer``),
    the host name ``localhost`` and ``limits`` (``ConnectionSettings``)."""
    limits.setdefault('hostname', 'localhost')
    return connection_loop.serve_connection(
        server_end, ('127.0.0.1', 4567),
        (deliverer or BlackholeDeliverer(), None, None),
        ConnectionSettings(**limits), stop=stop, spinner=spinner,
        on_session_end=on_session_end)


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


class ServeConnectionTest(unittest.TestCase):

    def serve(self, server_end, **kwargs):
        kwargs.setdefault('command_timeout', 5.0)
        return serve(server_end, **kwargs)

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
                                           command_timeout=0.05))
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
        self.serve(server_end, command_timeout=0.05)
        self.assertTrue(read_to_eof(client).endswith(
            b'421 localhost Timeout, closing transmission channel\r\n'))

    def test_the_stop_signal_ends_the_connection_with_a_421(self):
        server_end, client = socket_pair(self)
        stop_read, stop_write = socket_pair(self)
        outcome = []
        thread = threading.Thread(target=lambda: outcome.append(self.serve(
            server_end, stop=StopSignal(stop_read.fileno()))))
        thread.start()
        try:
            client.settimeout(5)
            self.assertTrue(client.recv(4096).startswith(b'220 '))
            stop_write.sendall(b'x')
            replies = read_to_eof(client)
        finally:
            thread.join(5)
        self.assertEqual([True], outcome)
        self.assertEqual(b'421 localhost Service not available, closing '
                         b'transmission channel\r\n', replies)


class FaultTest(unittest.TestCase):
    """A fault in pymta itself (made here on purpose) ends only the
    connection: after the replies written before it and a 421, but never a
    plaintext reply where the client expects a TLS handshake."""

    def serve_faulty(self, data, **settings):
        server_end, client = socket_pair(self)
        thread = threading.Thread(target=serve, args=(server_end,),
                                  kwargs=settings)
        with PymtaLog(logging.CRITICAL):
            thread.start()
            try:
                client.settimeout(5)
                client.sendall(data)
                return read_to_eof(client)
            finally:
                thread.join(5)

    def test_in_the_core_the_replies_before_it_then_a_421(self):
        make_noop_fail(self)
        replies = self.serve_faulty(b'HELO x\r\nNOOP\r\n')
        self.assertTrue(replies.endswith(
            b'\r\n250 localhost\r\n421 localhost Service not available, '
            b'closing transmission channel\r\n'), replies)

    def test_in_a_tls_handshake_no_plaintext_reply(self):
        import ssl

        def start_tls(*args):
            raise RuntimeError('a bug in the handshake, on purpose')
        saved = connection_loop._start_tls
        connection_loop._start_tls = start_tls
        self.addCleanup(setattr, connection_loop, '_start_tls', saved)
        context = ssl.SSLContext(getattr(ssl, 'PROTOCOL_TLS_SERVER', None) or
                                 ssl.PROTOCOL_SSLv23)
        replies = self.serve_faulty(b'EHLO x\r\nSTARTTLS\r\n',
                                    tls_context=context)
        self.assertTrue(replies.endswith(b'\r\n220 Ready to start TLS\r\n'),
                        replies)


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

    def test_the_reply_to_a_delivered_message_precedes_the_421(self):
        # the session limit passes while the deliverer runs: the client
        # still gets its 250 (else it would send the message again)
        server_end, client = socket_pair(self)
        client.sendall(b'HELO x\r\nMAIL FROM:<a@example.com>\r\n'
                       b'RCPT TO:<b@example.com>\r\nDATA\r\nHi\r\n.\r\n')
        deliverer = SlowDeliverer(0.2)
        serve(server_end, deliverer, command_timeout=5.0,
              max_session_seconds=0.1)
        codes = [line[:3] for line in read_to_eof(client).splitlines()]
        self.assertEqual([b'220', b'250', b'250', b'250', b'354', b'250',
                          b'421'], codes)
        self.assertEqual(1, len(deliverer.messages))

    def test_an_unfinished_command_line_does_not_restart_the_timeout(self):
        server_end, client = socket_pair(self)
        thread = threading.Thread(target=serve, args=(server_end,),
                                  kwargs={'command_timeout': 0.2})
        started = time.time()
        thread.start()
        try:
            client.settimeout(0.02)
            received = b''
            while b'421' not in received and time.time() - started < 3.0:
                try:
                    received += client.recv(4096)
                except socket.timeout:
                    try:
                        client.sendall(b'x')
                    except (IOError, OSError):
                        # the server closed its end right after its 421,
                        # which is still there to read
                        client.settimeout(5.0)
                        received += read_to_eof(client)
                        break
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
                                 (b'', {'command_timeout': 0.05})):
            server_end, client = socket_pair(self)
            client.sendall(commands)
            seen = []

            def session_ended():
                # (everything sent so far is the greeting)
                pending = client.recv(4096, socket.MSG_PEEK)
                seen.append(pending.count(b'\r\n'))
            serve(server_end, on_session_end=session_ended, **kwargs)
            replies = read_to_eof(client).splitlines()
            self.assertEqual([1], seen)
            self.assertEqual(2, len(replies), replies)


if __name__ == '__main__':
    unittest.main()
