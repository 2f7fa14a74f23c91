# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""End to end: real clients (smtplib, raw sockets, swaks) against a PythonMTA
running in a process of its own, on both serving paths.

``EndToEndTests`` holds the tests; ``ForkPathTest`` and ``SerialPathTest``
run them against a server started with ``serve_forever()`` and
``serve_forever(use_multiprocessing=False)``. Where multiprocessing cannot be
imported (the tox "serial" environments) the fork path does not exist and
``ForkPathTest`` is skipped; ``test_mta_fork`` checks the fallback there.
"""

from __future__ import absolute_import

import base64
import os
import smtplib
import socket
import subprocess
import time
import unittest

from pymta.compat import native_from_wire, wire_bytes

from .mta_support import (AUTHENTICATOR_FAULT_USER, DELIVERER_FAULT_SENDER,
                          MAX_SIZE, OnForkPath, RawClient,
                          ServerProcessPerClass,
                          smtp_client, swaks_or_skip)


def b64(text):
    return base64.b64encode(text.encode('utf-8')).decode('ascii')


class EndToEndTests(ServerProcessPerClass):
    """The tests; a subclass sets ``use_multiprocessing``. One server per
    class (started in setUpClass); each test starts with an empty spool."""

    # --- helpers -------------------------------------------------------------
    def smtp(self):
        return smtp_client(self, self.server.port)

    def raw(self):
        client = RawClient(self.server.port)
        self.addCleanup(client.close)
        return client

    def messages(self):
        return self.server.messages()

    def assert_one_message(self):
        messages = self.messages()
        self.assertEqual(1, len(messages), messages)
        return messages[0]

    def assert_served(self):
        """The server still serves: a whole message goes through."""
        connection = self.smtp()
        connection.sendmail('next@example.com', ['to@example.com'],
                            'Subject: next\n\nnext client')
        connection.quit()
        self.assertTrue([m for m in self.messages()
                         if m.smtp_from == 'next@example.com'])

    # --- smtplib ------------------------------------------------------------
    def test_greeting_names_the_server_and_the_client(self):
        client = self.raw()
        code, lines = client.read_reply()
        self.assertEqual(220, code)
        self.assertEqual(['%s Hello 127.0.0.1' % socket.getfqdn()], lines)

    def test_helo_and_one_recipient(self):
        connection = self.smtp()
        self.assertEqual(250, connection.helo('client.example')[0])
        refused = connection.sendmail('from@example.com', ['to@example.com'],
                                      'Subject: one\n\nHello')
        self.assertEqual({}, refused)
        self.assertEqual(221, connection.quit()[0])
        msg = self.assert_one_message()
        self.assertEqual('client.example', msg.smtp_helo)
        self.assertEqual('from@example.com', msg.smtp_from)
        self.assertEqual(['to@example.com'], msg.smtp_to)
        self.assertEqual('Subject: one\n\nHello', msg.msg_data)
        self.assertEqual('127.0.0.1', msg.peer.remote_ip)
        self.assertEqual(None, msg.username)

    def test_ehlo_announces_size_auth_and_help(self):
        connection = self.smtp()
        code, text = connection.ehlo('client.example')
        self.assertEqual(250, code)
        lines = text.decode('ascii').split('\n')
        self.assertEqual([socket.getfqdn(), 'SIZE %d' % MAX_SIZE,
                          'AUTH PLAIN LOGIN', 'HELP'], lines)
        connection.sendmail('from@example.com', ['to@example.com'], 'Hi')
        connection.quit()
        self.assertEqual('client.example', self.assert_one_message().smtp_helo)

    def test_several_recipients(self):
        connection = self.smtp()
        recipients = ['a@example.com', 'b@example.com', 'c@example.org']
        connection.sendmail('from@example.com', recipients, 'Subject: x\n\n!')
        connection.quit()
        self.assertEqual(recipients, self.assert_one_message().smtp_to)

    def test_several_messages_per_connection(self):
        connection = self.smtp()
        connection.ehlo('client.example')
        for number in range(3):
            connection.sendmail('from%d@example.com' % number,
                                ['to%d@example.com' % number],
                                'Subject: %d\n\nmessage %d' % (number, number))
        connection.quit()
        messages = self.messages()
        self.assertEqual(['from0@example.com', 'from1@example.com',
                          'from2@example.com'],
                         sorted(m.smtp_from for m in messages))
        for msg in messages:
            number = msg.smtp_from[4]
            self.assertEqual(['to%s@example.com' % number], msg.smtp_to)
            self.assertEqual('Subject: %s\n\nmessage %s' % (number, number),
                             msg.msg_data)
            self.assertEqual('client.example', msg.smtp_helo)

    def test_auth_plain(self):
        connection = self.smtp()
        connection.ehlo('client.example')
        connection.esmtp_features['auth'] = 'PLAIN'
        self.assertEqual(235, connection.login('alice', 'alice')[0])
        connection.sendmail('alice@example.com', ['to@example.com'], 'Hi')
        connection.quit()
        self.assertEqual('alice', self.assert_one_message().username)

    def test_auth_plain_with_bad_credentials(self):
        connection = self.smtp()
        connection.ehlo('client.example')
        connection.esmtp_features['auth'] = 'PLAIN'
        try:
            connection.login('alice', 'wrong')
        except smtplib.SMTPAuthenticationError as e:
            self.assertEqual(535, e.smtp_code)
        else:
            self.fail('login succeeded with a bad password')
        # the client may try again
        self.assertEqual(235, connection.login('bob', 'bob')[0])
        connection.quit()

    def test_auth_login_with_initial_response(self):
        connection = self.smtp()
        connection.ehlo('client.example')
        connection.esmtp_features['auth'] = 'LOGIN'
        self.assertEqual(235, connection.login('carol', 'carol')[0])
        connection.sendmail('carol@example.com', ['to@example.com'], 'Hi')
        connection.quit()
        self.assertEqual('carol', self.assert_one_message().username)

    def test_auth_login_without_initial_response(self):
        connection = self.smtp()
        connection.ehlo('client.example')
        self.assertEqual((334, b'VXNlcm5hbWU6'), connection.docmd('AUTH LOGIN'))
        self.assertEqual((334, b'UGFzc3dvcmQ6'), connection.docmd(b64('dave')))
        self.assertEqual(235, connection.docmd(b64('dave'))[0])
        connection.sendmail('dave@example.com', ['to@example.com'], 'Hi')
        connection.quit()
        self.assertEqual('dave', self.assert_one_message().username)

    def test_size_refused_with_mail_from_then_a_message_goes_through(self):
        connection = self.smtp()
        connection.ehlo('client.example')
        code, text = connection.docmd(
            'MAIL FROM:<big@example.com> SIZE=%d' % (MAX_SIZE + 1))
        self.assertEqual((552, b'message exceeds fixed maximum message size'),
                         (code, text))
        connection.sendmail('small@example.com', ['to@example.com'], 'small')
        connection.quit()
        self.assertEqual('small@example.com',
                         self.assert_one_message().smtp_from)

    def test_oversized_data_then_a_message_goes_through(self):
        connection = self.smtp()
        connection.ehlo('client.example')
        self.assertEqual(250, connection.mail('big@example.com')[0])
        self.assertEqual(250, connection.rcpt('to@example.com')[0])
        body = ('x' * 75 + '\r\n') * (2 * MAX_SIZE // 77)
        code, text = connection.data(body)
        self.assertEqual((552, b'message exceeds fixed maximum message size'),
                         (code, text))
        connection.sendmail('small@example.com', ['to@example.com'], 'small')
        connection.quit()
        self.assertEqual('small@example.com',
                         self.assert_one_message().smtp_from)

    def test_dot_transparency(self):
        text = ('Subject: dots\n\n.\n..\n.leading dot\n...three\n'
                'a . in the middle\n.')
        connection = self.smtp()
        connection.sendmail('from@example.com', ['to@example.com'], text)
        connection.quit()
        self.assertEqual(text, self.assert_one_message().msg_data)

    def test_utf8_message(self):
        octets = u'Subject: gr\u00fc\u00dfe\n\n\u00c4\u00d6\u00dc \u20ac \U0001f600'.encode('utf-8')
        connection = self.smtp()
        connection.sendmail('from@example.com', ['to@example.com'], octets)
        connection.quit()
        msg = self.assert_one_message()
        self.assertEqual(native_from_wire(octets), msg.msg_data)
        self.assertEqual(octets, wire_bytes(msg.msg_data))

    def test_message_with_bytes_that_are_not_utf8(self):
        octets = b'Subject: latin-1\n\nK\xe4se \xff\xfe\x80 \xc3'
        connection = self.smtp()
        connection.sendmail('from@example.com', ['to@example.com'], octets)
        connection.quit()
        msg = self.assert_one_message()
        self.assertEqual(octets, wire_bytes(msg.msg_data))

    # --- policies -------------------------------------------------------------
    def test_policy_refuses_helo(self):
        connection = self.smtp()
        self.assertEqual((550, b'Administrative Prohibition'),
                         connection.helo('reject-helo'))
        self.assertEqual(250, connection.helo('client.example')[0])
        connection.quit()

    def test_policy_refuses_sender(self):
        connection = self.smtp()
        connection.helo('reject-from')
        self.assertEqual((550, b'Administrative Prohibition'),
                         connection.mail('from@example.com'))
        connection.quit()

    def test_policy_refuses_one_recipient(self):
        connection = self.smtp()
        refused = connection.sendmail(
            'from@example.com', ['good@example.com', 'bad@example.com'], 'Hi')
        self.assertEqual({'bad@example.com': (550, b'relay not permitted')},
                         refused)
        connection.quit()
        self.assertEqual(['good@example.com'],
                         self.assert_one_message().smtp_to)

    def test_policy_custom_multiline_reply(self):
        connection = self.smtp()
        connection.helo('custom-reply')
        self.assertEqual((553, b'first line\nsecond line\nthird line'),
                         connection.mail('from@example.com'))
        connection.quit()

    def test_policy_closes_connection_before_the_reply(self):
        client = self.raw()
        client.read_reply()
        client.send(b'HELO close-before\r\n')
        self.assertEqual(250, client.read_reply()[0])
        client.send(b'MAIL FROM:<from@example.com>\r\n')
        self.assertEqual(b'', client.read_to_eof())
        self.assert_served()

    def test_policy_closes_connection_after_the_reply(self):
        client = self.raw()
        client.read_reply()
        client.send(b'HELO close-after\r\n')
        self.assertEqual(250, client.read_reply()[0])
        client.send(b'MAIL FROM:<from@example.com>\r\n')
        self.assertEqual(b'250 OK\r\n', client.read_to_eof())
        self.assert_served()

    def test_raising_policy_gets_451_and_the_connection_stays_usable(self):
        client = self.raw()
        client.read_reply()
        client.send(b'HELO raise\r\n')
        self.assertEqual(250, client.read_reply()[0])
        client.send(b'MAIL FROM:<boom@example.com>\r\n')
        self.assertEqual(
            (451, ['Temporary Local Problem: Please come back later']),
            client.read_reply())
        client.send(b'MAIL FROM:<ok@example.com>\r\nRCPT TO:<to@example.com>'
                    b'\r\nDATA\r\n')
        self.assertEqual(250, client.read_reply()[0])
        self.assertEqual(250, client.read_reply()[0])
        self.assertEqual(354, client.read_reply()[0])
        client.send(b'Subject: after the fault\r\n\r\nstill here\r\n.\r\n'
                    b'QUIT\r\n')
        self.assertEqual((250, ['OK']), client.read_reply())
        self.assertEqual(221, client.read_reply()[0])
        self.assertEqual('Subject: after the fault\n\nstill here',
                         self.assert_one_message().msg_data)

    def test_raising_deliverer_gets_451_and_the_session_goes_on(self):
        client = self.raw()
        client.read_reply()
        client.send(b'HELO client.example\r\nMAIL FROM:<' +
                    wire_bytes(DELIVERER_FAULT_SENDER) +
                    b'>\r\nRCPT TO:<to@example.com>\r\nDATA\r\n')
        self.assertEqual([250, 250, 250, 354],
                         [client.read_reply()[0] for _ in range(4)])
        client.send(b'Subject: lost\r\n\r\nnot delivered\r\n.\r\n')
        self.assertEqual(
            (451, ['Temporary Local Problem: Please come back later']),
            client.read_reply())
        self.server.wait_for_log('a deliverer fault the test asked for')
        # the worker lives on: the next message of this session arrives
        client.send(b'MAIL FROM:<ok@example.com>\r\nRCPT TO:<to@example.com>'
                    b'\r\nDATA\r\nSubject: next\r\n\r\ndelivered\r\n.\r\n'
                    b'QUIT\r\n')
        self.assertEqual([250, 250, 354, 250, 221],
                         [client.read_reply()[0] for _ in range(5)])
        self.assertEqual('Subject: next\n\ndelivered',
                         self.assert_one_message().msg_data)
        self.assert_served()

    def test_raising_authenticator_gets_451_and_auth_may_be_tried_again(self):
        connection = self.smtp()
        connection.ehlo('client.example')
        connection.esmtp_features['auth'] = 'PLAIN'
        try:
            connection.login(AUTHENTICATOR_FAULT_USER, 'secret')
        except smtplib.SMTPAuthenticationError as e:
            self.assertEqual(451, e.smtp_code)
        else:
            self.fail('login succeeded although the authenticator raised')
        self.server.wait_for_log('an authenticator fault the test asked for')
        self.assertEqual(235, connection.login('frank', 'frank')[0])
        connection.sendmail('frank@example.com', ['to@example.com'], 'Hi')
        connection.quit()
        self.assertEqual('frank', self.assert_one_message().username)

    # --- raw sockets ------------------------------------------------------------
    def test_five_pipelined_commands_are_answered_in_order(self):
        client = self.raw()
        client.read_reply()
        client.send(b'EHLO client.example\r\nMAIL FROM:<a@example.com>\r\n'
                    b'RCPT TO:<b@example.com>\r\nRSET\r\nNOOP\r\n')
        replies = [client.read_reply() for _ in range(5)]
        self.assertEqual([250, 250, 250, 250, 250],
                         [code for code, _ in replies])
        self.assertEqual(socket.getfqdn(), replies[0][1][0])
        self.assertEqual(['OK'], replies[1][1])
        self.assertEqual(['OK'], replies[2][1])
        self.assertEqual(['Reset OK'], replies[3][1])
        self.assertEqual(['OK'], replies[4][1])

    def test_data_terminator_in_its_own_packet(self):
        client = self.raw()
        client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.read_reply()
        client.send(b'HELO client.example\r\nMAIL FROM:<a@example.com>\r\n'
                    b'RCPT TO:<b@example.com>\r\nDATA\r\n')
        self.assertEqual([250, 250, 250, 354],
                         [client.read_reply()[0] for _ in range(4)])
        client.send(b'Subject: split\r\n\r\nbody')
        # no reply to wait for: a short pause so the end comes separately
        time.sleep(0.05)
        client.send(b'\r\n.\r\n')
        self.assertEqual((250, ['OK']), client.read_reply())
        client.send(b'MAIL FROM:<c@example.com>\r\nRCPT TO:<d@example.com>\r\n'
                    b'DATA\r\n')
        self.assertEqual([250, 250, 354],
                         [client.read_reply()[0] for _ in range(3)])
        # the terminator itself split over three packets
        for piece in (b'second', b'\r', b'\n.', b'\r\n'):
            client.send(piece)
            time.sleep(0.02)
        self.assertEqual((250, ['OK']), client.read_reply())
        client.send(b'QUIT\r\n')
        self.assertEqual(221, client.read_reply()[0])
        self.assertEqual(['Subject: split\n\nbody', 'second'],
                         [m.msg_data for m in self.messages()])

    def test_client_disconnects_mid_command(self):
        client = self.raw()
        client.read_reply()
        client.send(b'HELO client.example\r\nMAIL FROM:<a@exa')
        self.assertEqual(250, client.read_reply()[0])
        client.close()
        self.assert_served()

    def test_client_disconnects_mid_data(self):
        client = self.raw()
        client.read_reply()
        client.send(b'HELO client.example\r\nMAIL FROM:<a@example.com>\r\n'
                    b'RCPT TO:<b@example.com>\r\nDATA\r\n')
        self.assertEqual([250, 250, 250, 354],
                         [client.read_reply()[0] for _ in range(4)])
        client.send(b'Subject: never ends\r\n\r\nhalf a message')
        client.close()
        self.assert_served()
        self.assertEqual(['next@example.com'],
                         [m.smtp_from for m in self.messages()])

    def test_client_disconnects_while_the_server_writes(self):
        client = self.raw()
        client.read_reply()
        # far more replies than the socket buffers hold, never read
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.send(b'HELO x\r\n' + b'HELP\r\n' * 10000)
        client.close()
        self.assert_served()

    def test_quit_closes_the_connection(self):
        client = self.raw()
        client.read_reply()
        client.send(b'QUIT\r\n')
        self.assertEqual(('221 %s closing connection\r\n' % socket.getfqdn())
                         .encode('ascii'), client.read_to_eof())

    # --- swaks ----------------------------------------------------------------
    def swaks(self, *arguments):
        command = [swaks_or_skip(self), '--server',
                   '127.0.0.1:%d' % self.server.port, '--timeout', '10',
                   '--helo', 'swaks.example', '--from', 'swaks@example.com',
                   '--to', 'to@example.com',
                   '--header', 'Subject: from swaks',
                   '--body', 'sent by swaks'] + list(arguments)
        process = subprocess.Popen(command, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
        output = process.communicate()[0]
        return process.returncode, output.decode('utf-8', 'replace')

    def assert_swaks_message(self, username=None):
        msg = self.assert_one_message()
        self.assertEqual('swaks@example.com', msg.smtp_from)
        self.assertEqual(['to@example.com'], msg.smtp_to)
        self.assertEqual('swaks.example', msg.smtp_helo)
        self.assertEqual(username, msg.username)
        self.assertTrue('Subject: from swaks\n' in msg.msg_data, msg.msg_data)
        # (swaks ends the body with line ends of its own)
        self.assertEqual('sent by swaks', msg.msg_data.split('\n\n', 1)[1]
                         .rstrip('\n'))

    def test_swaks(self):
        status, output = self.swaks()
        self.assertEqual(0, status, output)
        self.assert_swaks_message()

    def test_swaks_pipelining(self):
        status, output = self.swaks('--pipeline')
        self.assertEqual(0, status, output)
        self.assert_swaks_message()

    def test_swaks_auth_plain_and_login(self):
        for mechanism in ('PLAIN', 'LOGIN'):
            self.server.forget_messages()
            status, output = self.swaks('--auth', mechanism, '--auth-user',
                                        'erin', '--auth-password', 'erin')
            self.assertEqual(0, status, output)
            self.assert_swaks_message(username='erin')

    def test_swaks_sees_a_refused_recipient(self):
        status, output = self.swaks('--to', 'bad@example.com')
        self.assertNotEqual(0, status, output)
        self.assertTrue('550 relay not permitted' in output, output)
        self.assertEqual([], self.messages())


class ForkPathTest(OnForkPath, EndToEndTests, unittest.TestCase):
    pass


class SerialPathTest(EndToEndTests, unittest.TestCase):
    use_multiprocessing = False


class SwaksRequirementTest(unittest.TestCase):
    """A swaks test skips where swaks is missing, but fails in CI."""

    def without_swaks(self, ci):
        saved = dict((name, os.environ.get(name)) for name in ('PATH', 'CI'))
        self.addCleanup(self.restore, saved)
        os.environ['PATH'] = os.path.dirname(os.path.abspath(__file__))
        if ci:
            os.environ['CI'] = 'true'
        else:
            os.environ.pop('CI', None)

    def restore(self, saved):
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def test_missing_swaks_fails_in_ci(self):
        self.without_swaks(ci=True)
        self.assertRaises(self.failureException, swaks_or_skip, self)

    def test_missing_swaks_skips_elsewhere(self):
        self.without_swaks(ci=False)
        self.assertRaises(unittest.SkipTest, swaks_or_skip, self)
