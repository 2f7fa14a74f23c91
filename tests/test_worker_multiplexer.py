# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""``pymta.multiplexer.Multiplexer`` driven directly (in a thread, on a
real listening socket), for what a whole server cannot show: input that
TLS has decrypted but the loop has not read yet, which the poller never
reports (only a read size smaller than a TLS record makes it)."""

from __future__ import absolute_import

import os
import shutil
import socket
import ssl
import tempfile
import threading
import time
import unittest

from pymta.test_util import BlackholeDeliverer
from pymta.connection_settings import ConnectionSettings
from pymta.multiplexer import Multiplexer
from pymta.stop_signal import StopSignal
from pymta.test_util import self_signed_certificate
from pymta.tls import server_context

from .mta_support import TIMEOUT, RawClient


def certificate_or_skip(test):
    directory = tempfile.mkdtemp(prefix='pymta-test-mux-')
    test.addCleanup(shutil.rmtree, directory, True)
    try:
        return self_signed_certificate(directory)
    except RuntimeError as e:
        if os.environ.get('CI'):    # (.ci/packages installs openssl)
            raise
        raise unittest.SkipTest(str(e))


class _StaleBoardLink(object):
    """A worker's pool link whose board always shows another worker
    that holds no connection (and never takes one: gone, or slow)."""

    idle_seconds = None

    def __init__(self):
        self.board = self
        self.marks = []

    def has_empty_worker(self):
        return True

    def mark(self, state):
        self.marks.append(state)


class MultiplexerTest(unittest.TestCase):

    def serve(self, settings, capacity=2, link=None):
        """A Multiplexer serving in a thread; its port."""
        listen_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(listen_socket.close)
        listen_socket.bind(('127.0.0.1', 0))
        listen_socket.listen(8)
        listen_socket.setblocking(False)    # (as the workers have it)
        stop_read, stop_write = os.pipe()
        self.addCleanup(os.close, stop_read)
        deliverer = BlackholeDeliverer()
        multiplexer = Multiplexer((deliverer, None, None), settings, capacity,
                                  link)
        thread = threading.Thread(target=multiplexer.run,
                                  args=(listen_socket, StopSignal(stop_read)))
        thread.daemon = True
        thread.start()

        def stop():
            os.close(stop_write)     # (end of file: stop)
            thread.join(TIMEOUT)
            self.assertFalse(thread.is_alive())
        self.addCleanup(stop)
        return listen_socket.getsockname()[1]

    def test_input_decrypted_but_not_read_yet_is_served(self):
        settings = ConnectionSettings(
            hostname='mux.example', implicit_tls=True, read_size=7,
            tls_context=server_context(certificate_or_skip(self)))
        port = self.serve(settings)
        client = RawClient(port)
        self.addCleanup(client.close)
        context = ssl.SSLContext(getattr(ssl, 'PROTOCOL_TLS_CLIENT', None) or
                                 ssl.PROTOCOL_SSLv23)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        client.sock = context.wrap_socket(client.sock)
        self.assertEqual(220, client.read_reply()[0])
        # one TLS record of several reads, and nothing more arrives that
        # would wake the poller
        client.send(b'HELO client.example.com\r\nNOOP\r\n')
        self.assertEqual([(250, ['mux.example']), (250, ['OK'])],
                         [client.read_reply() for _ in range(2)])
        client.send(b'QUIT\r\n')
        self.assertEqual(221, client.read_reply()[0])

    def test_a_connection_left_to_an_empty_worker_is_taken_after_all(self):
        # (a worker holding connections leaves a new one to a worker that
        # holds none, for a moment: where that one does not take it, this
        # one does, at once for a burst of them)
        port = self.serve(ConnectionSettings(hostname='mux.example'),
                          capacity=6, link=_StaleBoardLink())
        clients = []
        for _ in range(6):
            clients.append(RawClient(port))
            self.addCleanup(clients[-1].close)
        for client in clients:
            self.assertEqual(220, client.read_reply()[0])
            client.send(b'NOOP\r\n')
            self.assertEqual(250, client.read_reply()[0])

    def test_a_silent_session_times_out_while_others_come_and_go(self):
        # (a busy session's deadlines move later, and hundreds of sessions
        # come and go: the heap of deadlines is built anew several times
        # meanwhile, and the silent session's must survive that)
        port = self.serve(ConnectionSettings(hostname='mux.example',
                                             command_timeout=1.0),
                          capacity=3)
        silent = RawClient(port)
        self.addCleanup(silent.close)
        self.assertEqual(220, silent.read_reply()[0])
        busy = RawClient(port)
        self.addCleanup(busy.close)
        self.assertEqual(220, busy.read_reply()[0])
        for _ in range(300):
            busy.send(b'NOOP\r\n')
            self.assertEqual(250, busy.read_reply()[0])
            brief = RawClient(port)
            try:
                self.assertEqual(220, brief.read_reply()[0])
                brief.send(b'QUIT\r\n')
                self.assertEqual(221, brief.read_reply()[0])
            finally:
                brief.close()
        self.assertEqual(421, silent.read_reply()[0])
        self.assertEqual(b'', silent.read_to_eof())
        busy.send(b'QUIT\r\n')
        self.assertEqual(221, busy.read_reply()[0])

    def test_a_session_that_keeps_talking_outlives_its_first_deadline(self):
        # (the loop wakes at the deadline a session queued first, which its
        # replies have moved later since: that wake-up must end nothing)
        port = self.serve(ConnectionSettings(hostname='mux.example',
                                             command_timeout=1.0))
        client = RawClient(port)
        self.addCleanup(client.close)
        self.assertEqual(220, client.read_reply()[0])
        started = time.time()
        while time.time() - started < 2.5:      # (well past 1 s)
            time.sleep(0.25)                    # (time must pass here)
            client.send(b'NOOP\r\n')
            self.assertEqual(250, client.read_reply()[0])
        client.send(b'QUIT\r\n')
        self.assertEqual(221, client.read_reply()[0])

    def test_a_data_limit_earlier_than_the_command_timeout_applies(self):
        # (entering DATA moves the session's deadline earlier than the one
        # it had queued, and another session's is the earliest queued: the
        # DATA limit must count all the same)
        port = self.serve(ConnectionSettings(hostname='mux.example',
                                             command_timeout=30.0,
                                             max_data_seconds=0.3))
        idle = RawClient(port)
        self.addCleanup(idle.close)
        self.assertEqual(220, idle.read_reply()[0])
        client = RawClient(port)
        self.addCleanup(client.close)
        client.sock.settimeout(10.0)    # (far less than the 30 s)
        self.assertEqual(220, client.read_reply()[0])
        client.send(b'HELO c\r\nMAIL FROM:<a@example.com>\r\n'
                    b'RCPT TO:<b@example.com>\r\nDATA\r\n')
        self.assertEqual([250, 250, 250, 354],
                         [client.read_reply()[0] for _ in range(4)])
        self.assertEqual(421, client.read_reply()[0])
        self.assertEqual(b'', client.read_to_eof())


if __name__ == '__main__':
    unittest.main()
