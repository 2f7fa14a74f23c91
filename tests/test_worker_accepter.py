# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""pymta.compat.connection_accepter: the serving loops' accept() gives what
the listening socket's own accept() gives (family, type, timeout, address,
a working connection, the same error with nothing pending), on IPv4 and
IPv6 loopback, blocking, non-blocking and with a timeout, with and without
a default timeout."""

from __future__ import absolute_import

import errno
import socket
import unittest

from pymta.compat import connection_accepter


def _ipv6_loopback():
    if not socket.has_ipv6:
        return False
    probe = socket.socket(socket.AF_INET6)
    try:
        probe.bind(('::1', 0))
        return True
    except (IOError, OSError):
        return False
    finally:
        probe.close()


class ConnectionAccepterTest(unittest.TestCase):
    family, host = socket.AF_INET, '127.0.0.1'

    def listener(self, timeout):
        listener = socket.socket(self.family, socket.SOCK_STREAM)
        self.addCleanup(listener.close)
        listener.bind((self.host, 0))
        listener.listen(8)
        listener.settimeout(timeout)
        return listener

    def connect(self, listener):
        client = socket.create_connection(listener.getsockname()[:2], 5)
        self.addCleanup(client.close)
        return client

    def accepted_both_ways(self, timeout):
        """(what accept() gave, what the accepter gave, their clients)"""
        listener = self.listener(timeout)
        accept = connection_accepter(listener)
        client = self.connect(listener)
        theirs = listener.accept()
        self.addCleanup(theirs[0].close)
        other_client = self.connect(listener)
        ours = accept()
        self.addCleanup(ours[0].close)
        return theirs, ours, client, other_client

    def check_same(self, timeout, default_timeout=None):
        old_default = socket.getdefaulttimeout()
        socket.setdefaulttimeout(default_timeout)
        try:
            theirs, ours, client, other_client = \
                self.accepted_both_ways(timeout)
        finally:
            socket.setdefaulttimeout(old_default)
        (their_connection, their_address) = theirs
        (connection, address) = ours
        self.assertEqual(type(their_connection), type(connection))
        self.assertEqual(their_connection.family, connection.family)
        self.assertEqual(their_connection.type, connection.type)
        self.assertEqual(their_connection.proto, connection.proto)
        self.assertEqual(their_connection.gettimeout(),
                         connection.gettimeout())
        self.assertEqual(len(their_address), len(address))
        self.assertEqual(other_client.getsockname(), address)
        self.assertEqual(client.getsockname(), their_address)
        connection.settimeout(5)
        connection.sendall(b'220 hello\r\n')
        self.assertEqual(b'220 hello\r\n', other_client.recv(100))
        other_client.sendall(b'QUIT\r\n')
        self.assertEqual(b'QUIT\r\n', connection.recv(100))

    def test_a_blocking_listener(self):
        self.check_same(None)

    def test_a_non_blocking_listener(self):
        self.check_same(0.0)

    def test_a_listener_with_a_timeout(self):
        self.check_same(5.0)

    def test_a_default_timeout(self):
        self.check_same(0.0, default_timeout=3.0)
        self.check_same(None, default_timeout=3.0)

    def test_nothing_pending_raises_as_accept_does(self):
        listener = self.listener(0.0)
        accept = connection_accepter(listener)
        errors = []
        for call in (listener.accept, accept):
            try:
                call()
            except (IOError, OSError) as e:
                errors.append((type(e), e.errno))
        self.assertEqual(2, len(errors))
        self.assertEqual(errors[0], errors[1])
        self.assertIn(errors[1][1], (errno.EAGAIN, errno.EWOULDBLOCK))

    def test_an_accept_of_its_own_is_kept(self):
        class CountingSocket(socket.socket):
            calls = 0

            def accept(self):
                CountingSocket.calls += 1
                return socket.socket.accept(self)

        class StandIn(object):      # (as the tests' flaky listeners)
            def __init__(self, sock):
                self.sock = sock

            def accept(self):
                return self.sock.accept()

        listener = CountingSocket(self.family, socket.SOCK_STREAM)
        self.addCleanup(listener.close)
        listener.bind((self.host, 0))
        listener.listen(8)
        for kind in (lambda sock: sock, StandIn):
            self.connect(listener)
            connection, _ = connection_accepter(kind(listener))()
            connection.close()
        self.assertEqual(2, CountingSocket.calls)


@unittest.skipUnless(_ipv6_loopback(), 'no IPv6 loopback (::1) here')
class ConnectionAccepterIPv6Test(ConnectionAccepterTest):
    family, host = socket.AF_INET6, '::1'


if __name__ == '__main__':
    unittest.main()
