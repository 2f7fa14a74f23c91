# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Issue 11 (hardening) end to end: raw sockets and smtplib against a
PythonMTA in a process of its own, with its DEFAULT configuration (the
permissive IMTAPolicy, so no policy size limit), on both serving paths.

- an 8-bit domain gets a 501 and the connection goes on;
- client input quoted in a reply is escaped on the wire;
- the 20th error gets its reply, then 421 and the server closes; the same
  after the 5th AUTH with bad credentials;
- message data above ``default_max_message_size`` gets the 552 and the
  connection stays usable (a second server with a small limit; the 32 MiB
  default is checked on the attribute).
"""

from __future__ import absolute_import

import base64
import smtplib
import socket
import unittest

from pymta.mta import PythonMTA
from pymta.test_util import BlackholeDeliverer

from .mta_support import (OnForkPath, RawClient, ServerProcess,
                          smtp_client)


#: default_max_message_size of the second server
SMALL_SIZE = 1000


def b64(text):
    return base64.b64encode(text.encode('utf-8'))


class DefaultsTest(unittest.TestCase):
    def test_server_defaults(self):
        server = PythonMTA('127.0.0.1', 0, BlackholeDeliverer)
        self.assertEqual(20, server.max_errors)
        self.assertEqual(5, server.max_auth_failures)
        self.assertEqual(32 * 1024 * 1024, server.default_max_message_size)

    def test_workers_get_the_limits(self):
        server = PythonMTA('127.0.0.1', 0, BlackholeDeliverer, max_errors=3,
                           max_auth_failures=None,
                           default_max_message_size=77)
        worker = server._new_worker(None, server._connection_settings())
        settings = worker.settings
        self.assertEqual((3, None, 77), (settings.max_errors,
                                         settings.max_auth_failures,
                                         settings.default_max_message_size))


class HardeningTests(object):
    """The tests; a subclass sets ``use_multiprocessing``. Two servers per
    class: ``server`` with the default configuration, ``small_server`` with
    ``default_max_message_size=SMALL_SIZE``."""

    use_multiprocessing = None
    server = None
    small_server = None

    @classmethod
    def setUpClass(cls):
        cls.server = ServerProcess(cls.use_multiprocessing, policy='default')
        cls.small_server = ServerProcess(cls.use_multiprocessing,
                                         policy='default',
                                         default_max_message_size=SMALL_SIZE)
        try:
            cls.server.start()
            cls.small_server.start()
        except Exception:
            cls.server.cleanup()
            cls.small_server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            for server in (cls.server, cls.small_server):
                status, output = server.stop()
                assert status == 0, (status, output, server.stderr_text())
        finally:
            cls.server.cleanup()
            cls.small_server.cleanup()

    def setUp(self):
        self.server.forget_messages()
        self.small_server.forget_messages()
        self.host = socket.getfqdn()

    # --- helpers -------------------------------------------------------------
    def raw(self, server=None):
        client = RawClient((server or self.server).port)
        self.addCleanup(client.close)
        self.assertEqual(220, client.read_reply()[0])
        return client

    def ehlo(self, client):
        client.send(b'EHLO client.example.com\r\n')
        code, lines = client.read_reply()
        self.assertEqual(250, code)
        return lines

    def command(self, client, line):
        client.send(line + b'\r\n')
        return client.read_reply()

    def smtp(self, server=None):
        return smtp_client(self, (server or self.server).port)


    def assert_served(self, server=None):
        """The server still serves a new client."""
        server = server or self.server
        connection = self.smtp(server)
        connection.sendmail('next@example.com', ['to@example.com'],
                            'Subject: next\n\nnext client')
        connection.quit()
        self.assertTrue([m for m in server.messages()
                         if m.smtp_from == 'next@example.com'])

    # --- 8-bit domains -------------------------------------------------------
    def test_8bit_domain_gets_501_and_the_connection_goes_on(self):
        client = self.raw()
        self.ehlo(client)
        reply = (501, ['Invalid character "\\xff" in domain "b\\xff.com".'])
        self.assertEqual(reply, self.command(client,
                                             b'MAIL FROM:<a@b\xff.com>'))
        self.assertEqual((250, ['OK']), self.command(
            client, b'MAIL FROM:<from@example.com>'))
        self.assertEqual(reply, self.command(client, b'RCPT TO:<a@b\xff.com>'))
        self.assertEqual((250, ['OK']), self.command(
            client, b'RCPT TO:<to@example.com>'))
        self.assertEqual(354, self.command(client, b'DATA')[0])
        self.assertEqual((250, ['OK']), self.command(client, b'Hi\r\n.'))
        self.assertEqual((221, ['%s closing connection' % self.host]),
                         self.command(client, b'QUIT'))
        messages = self.server.messages()
        self.assertEqual(['to@example.com'], [m.smtp_to[0] for m in messages])

    # --- escaped echoes ------------------------------------------------------
    def test_escape_sequence_is_escaped_on_the_wire(self):
        client = self.raw()
        client.send(b'\x1b[31mRED\x1b[0m\r\n')
        client.send(b'NOOP \x00\xff\r\n')
        client.send(b'QUIT\r\n')
        self.assertEqual(
            b'500 unrecognized command "\\x1b[31mRED\\x1b[0m"\r\n'
            b"501 Syntactically invalid argument(s) '\\x00\\xff'\r\n"
            b'221 ' + self.host.encode('ascii') + b' closing connection\r\n',
            client.read_to_eof())

    def test_escaped_reply_with_smtplib(self):
        connection = self.smtp()
        self.assertEqual((500, b'unrecognized command "\\x07BELL"'),
                         connection.docmd('\x07BELL'))
        self.assertEqual(250, connection.noop()[0])
        connection.quit()

    # --- error limits --------------------------------------------------------
    def test_20th_error_gets_its_reply_then_421(self):
        client = self.raw()
        for number in range(19):
            self.assertEqual((500, ['unrecognized command "FOO%d"' % number]),
                             self.command(client, b'FOO%d' % number))
        self.assertEqual((250, ['OK']), self.command(client, b'NOOP'))
        client.send(b'FOO19\r\n')
        self.assertEqual(
            b'500 unrecognized command "FOO19"\r\n'
            b'421 4.7.0 ' + self.host.encode('ascii') +
            b' Error: too many errors\r\n', client.read_to_eof())
        self.assert_served()

    def test_errors_of_every_kind_count(self):
        client = self.raw()
        self.ehlo(client)
        errors = [b'FOO', b'MAIL x@y', b'DATA', b'AUTH FOO',
                  b'x' * 3000, b'AUTH PLAIN !!!!', b'NOOP x']
        sent = 0
        while sent < 19:
            line = errors[sent % len(errors)]
            self.assertTrue(500 <= self.command(client, line)[0] <= 504)
            sent += 1
        client.send(b'RCPT TO:<a@example.com>\r\n')
        data = client.read_to_eof()
        self.assertTrue(data.startswith(b'503 Command "RCPT TO"'), data)
        self.assertTrue(data.endswith(
            b'\r\n421 4.7.0 ' + self.host.encode('ascii') +
            b' Error: too many errors\r\n'), data)

    def test_5th_bad_auth_plain_gets_421(self):
        client = self.raw()
        self.ehlo(client)
        for number in range(4):
            self.assertEqual((535, ['Bad username or password']),
                             self.command(client, b'AUTH PLAIN ' + b64(
                                 '\0user\0wrong%d' % number)))
        client.send(b'AUTH PLAIN ' + b64('\0user\0wrong') + b'\r\n')
        self.assertEqual(
            b'535 Bad username or password\r\n'
            b'421 4.7.0 ' + self.host.encode('ascii') +
            b' Error: too many authentication failures\r\n',
            client.read_to_eof())
        # a new connection may try again
        connection = self.smtp()
        connection.ehlo()
        self.assertEqual(235, connection.docmd(
            'AUTH PLAIN', b64('\0user\0user').decode('ascii'))[0])
        connection.quit()

    def test_5th_bad_auth_login_gets_421(self):
        client = self.raw()
        self.ehlo(client)
        for number in range(5):
            self.assertEqual(334, self.command(client, b'AUTH LOGIN')[0])
            self.assertEqual(334, self.command(client, b64('user'))[0])
            client.send(b64('wrong') + b'\r\n')
            if number < 4:
                self.assertEqual((535, ['Bad username or password']),
                                 client.read_reply())
        self.assertEqual(
            b'535 Bad username or password\r\n'
            b'421 4.7.0 ' + self.host.encode('ascii') +
            b' Error: too many authentication failures\r\n',
            client.read_to_eof())

    # --- the default size limit ---------------------------------------------
    def test_ehlo_does_not_announce_the_default_limit(self):
        connection = self.smtp(self.small_server)
        connection.ehlo()
        self.assertFalse(connection.has_extn('size'))
        self.assertTrue(connection.has_extn('auth'))
        connection.quit()

    def test_message_just_over_the_default_limit_gets_552(self):
        client = self.raw(self.small_server)
        self.ehlo(client)
        for size, reply in ((SMALL_SIZE + 1, 552), (SMALL_SIZE, 250)):
            self.assertEqual(250, self.command(
                client, b'MAIL FROM:<%d@example.com>' % size)[0])
            self.assertEqual(250, self.command(
                client, b'RCPT TO:<to@example.com>')[0])
            self.assertEqual(354, self.command(client, b'DATA')[0])
            code, lines = self.command(client, b'x' * size + b'\r\n.')
            self.assertEqual(reply, code, lines)
        self.assertEqual(221, self.command(client, b'QUIT')[0])
        messages = self.small_server.messages()
        self.assertEqual(['%d@example.com' % SMALL_SIZE],
                         [m.smtp_from for m in messages])
        self.assertEqual('x' * SMALL_SIZE, messages[0].msg_data)

    def test_too_big_message_with_smtplib(self):
        connection = self.smtp(self.small_server)
        try:
            connection.sendmail('big@example.com', ['to@example.com'],
                                'Subject: big\n\n' + 'y' * 5 * SMALL_SIZE)
        except smtplib.SMTPDataError as e:
            self.assertEqual(552, e.smtp_code)
        else:
            self.fail('no SMTPDataError')
        # the same connection goes on
        connection.sendmail('small@example.com', ['to@example.com'],
                            'Subject: small\n\nHi')
        connection.quit()
        self.assertEqual(['small@example.com'],
                         [m.smtp_from for m in self.small_server.messages()])


class ForkPathTest(OnForkPath, HardeningTests, unittest.TestCase):
    pass


class SerialPathTest(HardeningTests, unittest.TestCase):
    use_multiprocessing = False


if __name__ == '__main__':
    unittest.main()
