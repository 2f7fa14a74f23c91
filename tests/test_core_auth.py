# -*- coding: utf-8 -*-
"""SPEC section 4, AUTH PLAIN and AUTH LOGIN: through SMTPCommandParser (wire
text) and through the session (CommandParserHelper)."""
from __future__ import absolute_import, print_function

import unittest

from pymta.api import IMTAPolicy
from pymta.command_parser import SMTPCommandParser
import pymta.test_util as test_util
from .core_support import RecordingAuthenticator, RecordingChannel, \
    RecordingDeliverer, b64


USERNAME_PROMPT = '334 VXNlcm5hbWU6'
PASSWORD_PROMPT = '334 UGFzc3dvcmQ6'
AUTH_OK = '235 Authentication successful'
AUTH_BAD = '535 Bad username or password'
GARBLED = '501 Garbled data sent'


class ParserTestMixin(object):
    def init(self, policy=None, authenticator=None):
        self.channel = RecordingChannel()
        self.deliverer = RecordingDeliverer()
        self.parser = SMTPCommandParser(self.channel, '127.0.0.1', 4567, self.deliverer,
                                        policy=policy, authenticator=authenticator,
                                        primary_hostname='localhost')
        self.seen = 0
        self.assertEqual(['220 localhost Hello 127.0.0.1'], self.lines())
        self.seen = 1

    def lines(self):
        text = ''.join(self.channel.written)
        self.assertTrue(text == '' or text.endswith('\r\n'), repr(text))
        return text.split('\r\n')[:-1]

    def feed(self, data):
        if not isinstance(data, bytes):
            data = data.encode('latin-1')
        self.parser.process_new_data(data)
        lines = self.lines()
        new = lines[self.seen:]
        self.seen = len(lines)
        return new

    def line(self, text):
        return self.feed(text + '\r\n')

    def ehlo(self):
        lines = self.line('EHLO client.example.com')
        self.assertTrue(lines[-1].startswith('250 '), lines)


class AuthPlainTest(ParserTestMixin, unittest.TestCase):
    def setUp(self):
        self.authenticator = RecordingAuthenticator()
        self.init(authenticator=self.authenticator)
        self.ehlo()

    def test_ok(self):
        self.assertEqual([AUTH_OK], self.line('AUTH PLAIN ' + b64('\0foo\0foo')))
        self.assertEqual([('foo', 'foo')], self.authenticator.credentials())

    def test_username_reaches_message(self):
        self.line('AUTH PLAIN ' + b64('\0foo\0foo'))
        self.feed('MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nHi\r\n.\r\n')
        self.assertEqual(1, len(self.deliverer.messages))
        self.assertEqual('foo', self.deliverer.messages[0].username)

    def test_with_authzid(self):
        self.assertEqual([AUTH_OK], self.line('AUTH PLAIN ' + b64('admin\0foo\0foo')))
        self.assertEqual([('foo', 'foo')], self.authenticator.credentials())

    def test_password_with_blanks_not_stripped(self):
        self.assertEqual([AUTH_BAD], self.line('AUTH PLAIN ' + b64('\0foo\0 foo  ')))
        self.assertEqual([('foo', ' foo  ')], self.authenticator.credentials())

    def test_bad_credentials(self):
        self.assertEqual([AUTH_BAD], self.line('AUTH PLAIN ' + b64('\0foo\0bar')))
        self.assertEqual(['250 OK'], self.line('NOOP'))
        # the client may try again
        self.assertEqual([AUTH_OK], self.line('AUTH PLAIN ' + b64('\0foo\0foo')))

    def test_garbled(self):
        for argument in ('a', b64('foo'), b64('\0foo\0foo') + ' ' + b64('x')):
            self.assertEqual([GARBLED], self.line('AUTH PLAIN ' + argument))
        self.assertEqual([], self.authenticator.credentials())
        self.assertEqual([AUTH_OK], self.line('AUTH PLAIN ' + b64('\0foo\0foo')))

    def test_without_argument_is_garbled(self):
        self.assertEqual([GARBLED], self.line('AUTH PLAIN'))
        self.assertTrue(self.parser.is_in_command_mode())
        self.assertEqual(['250 OK'], self.line('NOOP'))

    def test_mechanism_case_insensitive(self):
        self.assertEqual([AUTH_OK], self.line('auth plain ' + b64('\0foo\0foo')))

    def test_second_auth_is_503(self):
        self.line('AUTH PLAIN ' + b64('\0foo\0foo'))
        lines = self.line('AUTH PLAIN ' + b64('\0bar\0bar'))
        self.assertEqual(1, len(lines), lines)
        self.assertTrue(lines[0].startswith('503 Command "AUTH'), lines)
        lines = self.line('AUTH LOGIN')
        self.assertTrue(lines[0].startswith('503 Command "AUTH'), lines)
        self.assertTrue(self.parser.is_in_command_mode())
        self.assertEqual([('foo', 'foo')], self.authenticator.credentials())

    def test_auth_after_mail_from_is_503(self):
        self.line('MAIL FROM:<a@example.com>')
        lines = self.line('AUTH PLAIN ' + b64('\0foo\0foo'))
        self.assertTrue(lines[0].startswith('503 '), lines)

    def test_unknown_mechanism(self):
        self.assertEqual(['504 Unrecognized authentication type'], self.line('AUTH CRAM-MD5'))
        self.assertEqual(['250 OK'], self.line('NOOP'))

    def test_auth_without_mechanism(self):
        lines = self.line('AUTH')
        self.assertEqual(1, len(lines), lines)
        self.assertTrue(lines[0].startswith('501 '), lines)


class AuthStateTest(ParserTestMixin, unittest.TestCase):
    def test_auth_in_helo_session_is_503(self):
        self.init(authenticator=RecordingAuthenticator())
        self.line('HELO client.example.com')
        lines = self.line('AUTH PLAIN ' + b64('\0foo\0foo'))
        self.assertTrue(lines[0].startswith('503 Command "AUTH'), lines)
        lines = self.line('AUTH LOGIN')
        self.assertTrue(lines[0].startswith('503 Command "AUTH'), lines)
        self.assertTrue(self.parser.is_in_command_mode())

    def test_auth_before_helo_is_503(self):
        self.init(authenticator=RecordingAuthenticator())
        lines = self.line('AUTH PLAIN ' + b64('\0foo\0foo'))
        self.assertTrue(lines[0].startswith('503 '), lines)

    def test_no_authenticator(self):
        self.init()
        self.ehlo()
        self.assertEqual(['535 AUTH not available'], self.line('AUTH PLAIN ' + b64('\0foo\0foo')))
        self.assertEqual(['535 AUTH not available'], self.line('AUTH LOGIN'))
        self.assertTrue(self.parser.is_in_command_mode())
        self.assertEqual(['250 OK'], self.line('NOOP'))

    def test_refused_by_policy(self):
        class Policy(IMTAPolicy):
            def auth_methods(self, peer):
                return ()
        authenticator = RecordingAuthenticator()
        self.init(policy=Policy(), authenticator=authenticator)
        self.ehlo()
        self.assertEqual(['550 Administrative Prohibition'],
                         self.line('AUTH PLAIN ' + b64('\0foo\0foo')))
        self.assertEqual(['550 Administrative Prohibition'], self.line('AUTH LOGIN'))
        self.assertEqual(['550 Administrative Prohibition'], self.line('AUTH LOGIN ' + b64('foo')))
        self.assertEqual([], authenticator.credentials())
        self.assertTrue(self.parser.is_in_command_mode())

    def test_plain_refused_login_allowed(self):
        class Policy(IMTAPolicy):
            def auth_methods(self, peer):
                return ('LOGIN',)
        self.init(policy=Policy(), authenticator=RecordingAuthenticator())
        self.ehlo()
        self.assertEqual(['550 Administrative Prohibition'],
                         self.line('AUTH PLAIN ' + b64('\0foo\0foo')))
        self.assertEqual([PASSWORD_PROMPT], self.line('AUTH LOGIN ' + b64('foo')))
        self.assertEqual([AUTH_OK], self.line(b64('foo')))

    def test_accept_auth_login_arguments(self):
        calls = []

        class Policy(IMTAPolicy):
            def accept_auth_login(self, username, message):
                calls.append(username)
                return True
        self.init(policy=Policy(), authenticator=RecordingAuthenticator())
        self.ehlo()
        self.line('AUTH LOGIN')
        self.assertEqual([None], calls[:1])
        self.line(b64('foo'))
        self.line(b64('bar'))
        del calls[:]
        self.line('AUTH LOGIN ' + b64('foo'))
        self.assertEqual(['foo'], calls[:1])

    def test_accept_auth_plain_arguments(self):
        calls = []

        class Policy(IMTAPolicy):
            def accept_auth_plain(self, username, password, message):
                calls.append((username, password, message.peer.remote_ip))
                return True
        self.init(policy=Policy(), authenticator=RecordingAuthenticator())
        self.ehlo()
        self.line('AUTH PLAIN ' + b64('\0foo\0bar'))
        self.assertEqual([('foo', 'bar', '127.0.0.1')], calls)


class AuthLoginTest(ParserTestMixin, unittest.TestCase):
    def setUp(self):
        self.authenticator = RecordingAuthenticator()
        self.init(authenticator=self.authenticator)
        self.ehlo()

    def test_without_initial_response(self):
        self.assertEqual([USERNAME_PROMPT], self.line('AUTH LOGIN'))
        self.assertTrue(self.parser.is_in_auth_login_mode())
        self.assertFalse(self.parser.is_in_command_mode())
        self.assertEqual([PASSWORD_PROMPT], self.line(b64('foo')))
        self.assertTrue(self.parser.is_in_auth_login_mode())
        self.assertEqual([AUTH_OK], self.line(b64('foo')))
        self.assertTrue(self.parser.is_in_command_mode())
        self.assertFalse(self.parser.is_in_auth_login_mode())
        self.assertEqual([('foo', 'foo')], self.authenticator.credentials())

    def test_with_initial_response(self):
        self.assertEqual([PASSWORD_PROMPT], self.line('AUTH LOGIN ' + b64('foo')))
        self.assertTrue(self.parser.is_in_auth_login_mode())
        self.assertEqual([AUTH_OK], self.line(b64('foo')))
        self.assertTrue(self.parser.is_in_command_mode())

    def test_mechanism_case_insensitive(self):
        self.assertEqual([USERNAME_PROMPT], self.line('auth login'))
        self.assertEqual([PASSWORD_PROMPT], self.line(b64('foo')))
        self.assertEqual([AUTH_OK], self.line(b64('foo')))

    def test_password_with_spaces(self):
        self.line('AUTH LOGIN ' + b64('foo'))
        self.assertEqual([AUTH_BAD], self.line(b64(' foo bar ')))
        self.assertEqual([('foo', ' foo bar ')], self.authenticator.credentials())

    def test_over_long_credential_line_ends_the_exchange(self):
        for prompt_line in ('AUTH LOGIN', 'AUTH LOGIN ' + b64('foo')):
            self.line(prompt_line)
            too_long = 'A' * 3000
            self.assertEqual(['500 Line too long'], self.line(too_long))
            # back in command mode: the next line is a command, not a credential
            self.assertTrue(self.parser.is_in_command_mode())
            self.assertEqual(['250 OK'], self.line('NOOP'))
            self.assertEqual([], self.authenticator.credentials())
        # split over chunks (the line is discarded unbuffered)
        self.line('AUTH LOGIN')
        self.assertEqual([], self.feed('A' * 2100))
        self.assertEqual(['500 Line too long'], self.feed('A' * 100 + '\r\nNOOP\r\n')[:1])
        self.assertTrue(self.parser.is_in_command_mode())
        self.assertEqual([PASSWORD_PROMPT], self.line('AUTH LOGIN ' + b64('foo')))
        self.assertEqual([AUTH_OK], self.line(b64('foo')))

    def test_bad_credentials_then_retry(self):
        self.line('AUTH LOGIN')
        self.line(b64('foo'))
        self.assertEqual([AUTH_BAD], self.line(b64('bar')))
        self.assertTrue(self.parser.is_in_command_mode())
        self.assertEqual(['250 OK'], self.line('NOOP'))
        self.assertEqual([PASSWORD_PROMPT], self.line('AUTH LOGIN ' + b64('foo')))
        self.assertEqual([AUTH_OK], self.line(b64('foo')))

    def test_username_reaches_message(self):
        self.line('AUTH LOGIN ' + b64('foo'))
        self.line(b64('foo'))
        self.feed('MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nHi\r\n.\r\n')
        self.assertEqual('foo', self.deliverer.messages[0].username)

    def test_cancel_at_username(self):
        self.line('AUTH LOGIN')
        lines = self.line('*')
        self.assertEqual(1, len(lines), lines)
        self.assertTrue(lines[0].startswith('501'), lines)
        self.assertTrue(self.parser.is_in_command_mode())
        self.assertEqual(['250 OK'], self.line('NOOP'))
        self.assertEqual([], self.authenticator.credentials())

    def test_cancel_at_password(self):
        self.line('AUTH LOGIN ' + b64('foo'))
        lines = self.line('*')
        self.assertTrue(lines[0].startswith('501'), lines)
        self.assertTrue(self.parser.is_in_command_mode())
        self.assertEqual([], self.authenticator.credentials())
        self.assertEqual([USERNAME_PROMPT], self.line('AUTH LOGIN'))

    def test_bad_base64_username_ends_exchange(self):
        self.line('AUTH LOGIN')
        self.assertEqual([GARBLED], self.line('a'))
        self.assertTrue(self.parser.is_in_command_mode())
        self.assertEqual(['250 OK'], self.line('NOOP'))

    def test_bad_base64_password_ends_exchange(self):
        self.line('AUTH LOGIN ' + b64('foo'))
        self.assertEqual([GARBLED], self.line('a'))
        self.assertTrue(self.parser.is_in_command_mode())
        self.assertEqual([], self.authenticator.credentials())
        # the client must start again
        self.assertEqual([USERNAME_PROMPT], self.line('AUTH LOGIN'))
        self.assertEqual([PASSWORD_PROMPT], self.line(b64('foo')))
        self.assertEqual([AUTH_OK], self.line(b64('foo')))

    def test_bad_base64_initial_response(self):
        self.assertEqual([GARBLED], self.line('AUTH LOGIN a'))
        self.assertTrue(self.parser.is_in_command_mode())

    def test_exchange_split_over_chunks(self):
        data = 'AUTH LOGIN\r\n' + b64('foo') + '\r\n' + b64('foo') + '\r\nNOOP\r\n'
        lines = []
        for char in data:
            lines.extend(self.feed(char))
        self.assertEqual([USERNAME_PROMPT, PASSWORD_PROMPT, AUTH_OK, '250 OK'], lines)

    def test_exchange_in_one_chunk(self):
        data = 'AUTH LOGIN\r\n' + b64('foo') + '\r\n' + b64('foo') + '\r\nNOOP\r\n'
        self.assertEqual([USERNAME_PROMPT, PASSWORD_PROMPT, AUTH_OK, '250 OK'], self.feed(data))

    def test_second_auth_after_login_is_503(self):
        self.line('AUTH LOGIN ' + b64('foo'))
        self.line(b64('foo'))
        lines = self.line('AUTH LOGIN')
        self.assertTrue(lines[0].startswith('503 Command "AUTH'), lines)


class SessionAuthCredentialsTest(unittest.TestCase):
    """handle_auth_credentials and CommandParserHelper.send_auth_login."""

    def test_handle_auth_credentials_garbled_without_exchange(self):
        helper = test_util.CommandParserHelper(authenticator=test_util.DummyAuthenticator())
        helper.ehlo()
        helper.session.handle_auth_credentials('a')
        self.assertEqual('501 Garbled data sent', helper.command_parser.messages[-1])
        self.assertEqual('initialized', helper.session.state.state())

    def test_send_auth_login_with_initial_response(self):
        helper = test_util.CommandParserHelper(authenticator=test_util.DummyAuthenticator())
        helper.ehlo()
        code, text = helper.send_auth_login(username_b64=b64('foo'), password_b64=b64('foo'),
                                            reduce_roundtrips=True)
        self.assertEqual((235, 'Authentication successful'), (int(code), text))
        self.assertEqual('authenticated', helper.session.state.state())
        self.assertFalse(USERNAME_PROMPT in helper.command_parser.messages)
        self.assertTrue(PASSWORD_PROMPT in helper.command_parser.messages)

    def test_send_auth_login_without_initial_response(self):
        helper = test_util.CommandParserHelper(authenticator=test_util.DummyAuthenticator())
        helper.ehlo()
        code, text = helper.send_auth_login(username_b64=b64('foo'), password_b64=b64('foo'),
                                            reduce_roundtrips=False)
        self.assertEqual((235, 'Authentication successful'), (int(code), text))
        self.assertTrue(USERNAME_PROMPT in helper.command_parser.messages)
        self.assertTrue(PASSWORD_PROMPT in helper.command_parser.messages)
        self.assertEqual('authenticated', helper.session.state.state())

    def test_send_auth_login_defaults(self):
        # user name and password default to 'foo', the user name goes with
        # the command
        helper = test_util.CommandParserHelper(authenticator=test_util.DummyAuthenticator())
        helper.ehlo()
        self.assertEqual((235, 'Authentication successful'), tuple(helper.send_auth_login()))
        self.assertEqual([PASSWORD_PROMPT, AUTH_OK], helper.command_parser.messages[-2:])
        self.assertEqual('authenticated', helper.session.state.state())

    def test_send_auth_login_expect_username_error(self):
        for reduce_roundtrips in (True, False):
            helper = test_util.CommandParserHelper(authenticator=test_util.DummyAuthenticator())
            helper.ehlo()
            code, text = helper.send_auth_login(username_b64='a', expect_username_error=True,
                                                reduce_roundtrips=reduce_roundtrips)
            self.assertEqual((501, 'Garbled data sent'), (int(code), text))
            self.assertEqual('initialized', helper.session.state.state())
            self.assertEqual('command', helper.command_parser.mode)
            # a valid user name is no error
            self.assertRaises(AssertionError, helper.send_auth_login, username_b64=b64('foo'),
                              expect_username_error=True, reduce_roundtrips=reduce_roundtrips)

    def test_send_auth_login_expect_username_refused_by_policy(self):
        class Policy(IMTAPolicy):
            def accept_auth_login(self, username, message):
                return username != 'evil'
        helper = test_util.CommandParserHelper(policy=Policy(),
                                               authenticator=test_util.DummyAuthenticator())
        helper.ehlo()
        code, text = helper.send_auth_login(username_b64=b64('evil'), expect_username_error=True)
        self.assertEqual((550, 'Administrative Prohibition'), (int(code), text))
        self.assertEqual(1, len([m for m in helper.command_parser.messages if m.startswith('5')]))
        self.assertEqual((235, 'Authentication successful'), tuple(helper.send_auth_login()))

    def test_send_auth_login_bad_password(self):
        helper = test_util.CommandParserHelper(authenticator=test_util.DummyAuthenticator())
        helper.ehlo()
        code, text = helper.send_auth_login(username_b64=b64('foo'), password_b64=b64('bar'))
        self.assertEqual((535, 'Bad username or password'), (int(code), text))
        self.assertEqual('initialized', helper.session.state.state())


if __name__ == '__main__':
    unittest.main()
