# -*- coding: utf-8 -*-
"""SPEC sections 2 and 4 through the legacy face of the dialogue,
pymta.session.SMTPSession, driven as legacy suites drive it
(pymta.test_util.CommandParserHelper / MockCommandParser): the state
table, the reply table, the 501 texts, every policy return form,
PolicyDecision close flags, the 451 for exceptions, and what the session
tells its parser. (The same dialogue on the wire: test_core_connection.py.)
Each matrix is a mixin with one test class per case: a failing test's class
names the state or the policy hook."""
from __future__ import absolute_import, print_function

import logging
import unittest

from six.moves import queue

from pymta.api import IMTAPolicy, PolicyDecision
from pymta.dialogue import Dialogue
from pymta.session import SMTPSession
import pymta.test_util as test_util
from .core_support import RecordingAuthenticator, RecordingDeliverer, b64


HOST = 'localhost'
GREETING = '220 localhost Hello 127.0.0.1'
MSG_354 = '354 Enter message, ending with "." on a line by itself'
HELP_LINES = ['214-Commands supported', '214 AUTH DATA EHLO HELO HELP MAIL NOOP QUIT RCPT RSET']
TEMP_ERROR = '451 Temporary Local Problem: Please come back later'
ADMIN_PROHIBITION = '550 Administrative Prohibition'
TOO_BIG = '552 message exceeds fixed maximum message size'


AUTH_PLAIN_FOO = b64('\0foo\0foo')


class LogCapture(logging.Handler):
    """Collects the records logged to logging.getLogger('pymta') (and its
    children) while active; keeps them from reaching the root logger."""
    def __init__(self):
        logging.Handler.__init__(self, logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def __enter__(self):
        self.logger = logging.getLogger('pymta')
        self.saved = (self.logger.level, self.logger.propagate, self.logger.disabled)
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False
        self.logger.disabled = False
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc_info):
        self.logger.removeHandler(self)
        self.logger.level, self.logger.propagate, self.logger.disabled = self.saved
        return False


def drain(q):
    items = []
    while True:
        try:
            items.append(q.get_nowait())
        except queue.Empty:
            return items


class SessionTestMixin(object):
    """Drives an SMTPSession through CommandParserHelper; replies are read as
    wire lines (MockCommandParser.messages)."""

    def init(self, policy=None, authenticator=None):
        self.helper = test_util.CommandParserHelper(policy=policy, authenticator=authenticator)
        self.parser = self.helper.command_parser
        self.session = self.helper.session
        self.seen = len(self.parser.messages)

    def new_lines(self):
        lines = list(self.parser.messages[self.seen:])
        self.seen = len(self.parser.messages)
        return lines

    def send(self, command, data=None):
        self.new_lines()
        self.session.handle_input(command, data)
        return self.new_lines()

    def send_ok(self, command, data=None, first_digit='2'):
        lines = self.send(command, data)
        self.assertTrue(len(lines) >= 1, (command, data, lines))
        self.assertTrue(lines[-1].startswith(first_digit), (command, data, lines))
        return lines

    def state(self):
        return self.session.state.state()

    def received(self):
        return drain(self.helper.deliverer.received_messages)

    def go_to(self, target, esmtp=True, auth=False):
        if target == 'greeted':
            return
        self.send_ok('EHLO' if esmtp else 'HELO', 'client.example.com')
        if auth:
            self.send_ok('AUTH PLAIN', AUTH_PLAIN_FOO)
        if target in ('initialized', 'authenticated'):
            return
        self.send_ok('MAIL FROM', '<sender@example.com>')
        if target == 'sender_known':
            return
        self.send_ok('RCPT TO', '<rcpt@example.com>')
        if target == 'recipient_known':
            return
        self.send_ok('DATA', first_digit='3')
        assert target == 'receiving_message', target

    def assert_503(self, command, data=None, as_sent=None):
        state = self.state()
        lines = self.send(command, data)
        self.assertEqual(1, len(lines), lines)
        prefix = '503 Command "%s" is not allowed here' % (as_sent or command)
        self.assertTrue(lines[0].startswith(prefix), lines)
        self.assertEqual(state, self.state())
        return lines[0]

    def assert_501(self, command, data, expected_text=None):
        state = self.state()
        lines = self.send(command, data)
        self.assertEqual(1, len(lines), lines)
        self.assertTrue(lines[0].startswith('501 '), lines)
        if expected_text is not None:
            self.assertEqual('501 ' + expected_text, lines[0])
        self.assertEqual(state, self.state())


class SessionTestCase(SessionTestMixin, unittest.TestCase):
    pass


# ----------------------------------------------------------------------------
# state table

class StateTableTest(SessionTestCase):
    def setUp(self):
        self.init(authenticator=test_util.DummyAuthenticator())

    def test_new_greet_greeted(self):
        parser = test_util.MockCommandParser()
        session = SMTPSession(parser, RecordingDeliverer())
        self.assertEqual('new', session.state.state())
        session.new_connection('127.0.0.1', 4567)
        self.assertEqual('greeted', session.state.state())
        self.assertEqual([GREETING], list(parser.messages))

    def test_helper_greets(self):
        self.assertEqual([GREETING], list(self.parser.messages))
        self.assertEqual('greeted', self.state())

    def test_greeted_helo_initialized(self):
        self.assertEqual(['250 localhost'], self.send('HELO', 'client.example.com'))
        self.assertEqual('initialized', self.state())
        self.assertFalse(self.session.uses_esmtp())

    def test_greeted_ehlo_initialized_esmtp(self):
        self.assertFalse(self.session.uses_esmtp())
        self.send_ok('EHLO', 'client.example.com')
        self.assertEqual('initialized', self.state())
        self.assertTrue(self.session.uses_esmtp())

    def test_esmtp_stays_after_transaction_and_rset(self):
        self.go_to('recipient_known')
        self.send_ok('RSET')
        self.assertTrue(self.session.uses_esmtp())

    def test_initialized_mail_from_sender_known(self):
        self.go_to('initialized')
        self.assertEqual(['250 OK'], self.send('MAIL FROM', '<sender@example.com>'))
        self.assertEqual('sender_known', self.state())

    def test_initialized_mail_from_in_plain_smtp(self):
        self.go_to('initialized', esmtp=False)
        self.assertEqual(['250 OK'], self.send('MAIL FROM', '<sender@example.com>'))
        self.assertEqual('sender_known', self.state())

    def test_initialized_auth_plain_authenticated(self):
        self.go_to('initialized')
        self.assertEqual(['235 Authentication successful'], self.send('AUTH PLAIN', AUTH_PLAIN_FOO))
        self.assertEqual('authenticated', self.state())

    def test_initialized_auth_login_authenticated(self):
        self.go_to('initialized')
        self.assertEqual(['334 VXNlcm5hbWU6'], self.send('AUTH LOGIN'))
        self.assertEqual('initialized', self.state())
        self.session.handle_auth_credentials(b64('foo'))
        self.assertEqual(['334 UGFzc3dvcmQ6'], self.new_lines())
        self.assertEqual('initialized', self.state())
        self.session.handle_auth_credentials(b64('foo'))
        self.assertEqual(['235 Authentication successful'], self.new_lines())
        self.assertEqual('authenticated', self.state())

    def test_auth_not_allowed_in_plain_smtp(self):
        self.go_to('initialized', esmtp=False)
        self.assert_503('AUTH PLAIN', AUTH_PLAIN_FOO)
        self.assert_503('AUTH LOGIN', b64('foo'))
        self.assertEqual('initialized', self.state())

    def test_failed_auth_leaves_state(self):
        self.go_to('initialized')
        self.assertEqual(['535 Bad username or password'],
                         self.send('AUTH PLAIN', b64('\0foo\0bar')))
        self.assertEqual('initialized', self.state())
        self.assertEqual(['235 Authentication successful'], self.send('AUTH PLAIN', AUTH_PLAIN_FOO))

    def test_authenticated_mail_from_sender_known(self):
        self.go_to('authenticated', auth=True)
        self.assertEqual(['250 OK'], self.send('MAIL FROM', '<sender@example.com>'))
        self.assertEqual('sender_known', self.state())

    def test_second_auth_is_503(self):
        self.go_to('authenticated', auth=True)
        self.assertEqual('authenticated', self.state())
        self.assert_503('AUTH PLAIN', AUTH_PLAIN_FOO)
        self.assert_503('AUTH LOGIN', b64('foo'))
        self.assertEqual('authenticated', self.state())

    def test_sender_known_rcpt_to_recipient_known(self):
        self.go_to('sender_known')
        self.assertEqual(['250 OK'], self.send('RCPT TO', '<rcpt@example.com>'))
        self.assertEqual('recipient_known', self.state())

    def test_recipient_known_rcpt_to_recipient_known(self):
        self.go_to('recipient_known')
        self.assertEqual(['250 OK'], self.send('RCPT TO', '<other@example.com>'))
        self.assertEqual('recipient_known', self.state())

    def test_recipient_known_data_receiving_message(self):
        self.go_to('recipient_known')
        self.assertEqual([MSG_354], self.send('DATA'))
        self.assertEqual('receiving_message', self.state())

    def test_receiving_message_msgdata_initialized(self):
        self.go_to('receiving_message')
        self.assertEqual(['250 OK'], self.send('MSGDATA', 'Subject: T\n\nHi'))
        self.assertEqual('initialized', self.state())

    def test_receiving_message_msgdata_authenticated(self):
        self.go_to('receiving_message', auth=True)
        self.assertEqual(['250 OK'], self.send('MSGDATA', 'Subject: T\n\nHi'))
        self.assertEqual('authenticated', self.state())

    def test_not_allowed_before_helo(self):
        self.assert_503('MAIL FROM', '<sender@example.com>')
        self.assert_503('RCPT TO', '<rcpt@example.com>')
        self.assert_503('DATA')
        self.assert_503('AUTH PLAIN', AUTH_PLAIN_FOO)
        self.assertEqual('greeted', self.state())

    def test_503_lists_allowed_commands(self):
        line = self.assert_503('DATA')
        for name in ('EHLO', 'HELO', 'HELP', 'NOOP', 'QUIT', 'RSET'):
            self.assertTrue(name in line, (name, line))
        self.assertFalse('MAIL' in line, line)

    def test_second_helo_is_503(self):
        self.go_to('initialized', esmtp=False)
        self.assert_503('HELO', 'client.example.com')
        self.assert_503('EHLO', 'client.example.com')
        self.assertFalse(self.session.uses_esmtp())

    def test_second_ehlo_is_503(self):
        self.go_to('initialized')
        self.assert_503('EHLO', 'client.example.com')
        self.assert_503('HELO', 'client.example.com')

    def test_rcpt_before_mail_is_503(self):
        self.go_to('initialized')
        self.assert_503('RCPT TO', '<rcpt@example.com>')

    def test_data_before_rcpt_is_503(self):
        self.go_to('sender_known')
        self.assert_503('DATA')

    def test_second_mail_from_is_503(self):
        self.go_to('sender_known')
        self.assert_503('MAIL FROM', '<other@example.com>')
        self.send_ok('RCPT TO', '<rcpt@example.com>')
        self.assert_503('MAIL FROM', '<other@example.com>')

    def test_msgdata_outside_data_is_503(self):
        self.go_to('recipient_known')
        self.assert_503('MSGDATA', 'Hi')

    def test_unknown_command_is_500(self):
        self.go_to('initialized')
        self.assertEqual(['500 unrecognized command "FNORD"'], self.send('FNORD'))
        self.assertEqual('initialized', self.state())

    def assert_smtp_verbs(self, verbs):
        # The SPEC does not say whether the SMTP names are the verbs ('MAIL') or
        # the commands with their keyword ('MAIL FROM'): compare the verbs.
        commands = list(self.session.get_all_allowed_smtp_commands())
        self.assertEqual(set(verbs), set(c.split()[0].upper() for c in commands), commands)
        self.assertFalse(set(['GREET', 'MSGDATA']) & set(commands), commands)

    def test_allowed_commands(self):
        self.assertEqual(set(['HELO', 'EHLO', 'NOOP', 'HELP', 'QUIT', 'RSET']),
                         set(self.session.get_all_allowed_internal_commands()))
        self.assert_smtp_verbs(['HELO', 'EHLO', 'NOOP', 'HELP', 'QUIT', 'RSET'])
        self.go_to('initialized')
        self.assertEqual(set(['MAIL FROM', 'AUTH PLAIN', 'AUTH LOGIN', 'NOOP', 'HELP',
                              'QUIT', 'RSET']),
                         set(self.session.get_all_allowed_internal_commands()))
        self.assert_smtp_verbs(['MAIL', 'AUTH', 'NOOP', 'HELP', 'QUIT', 'RSET'])

    def test_allowed_commands_plain_smtp(self):
        self.go_to('initialized', esmtp=False)
        self.assertEqual(set(['MAIL FROM', 'NOOP', 'HELP', 'QUIT', 'RSET']),
                         set(self.session.get_all_allowed_internal_commands()))
        self.assert_smtp_verbs(['MAIL', 'NOOP', 'HELP', 'QUIT', 'RSET'])

    def test_allowed_commands_recipient_known(self):
        self.go_to('recipient_known')
        self.assertEqual(set(['RCPT TO', 'DATA', 'NOOP', 'HELP', 'QUIT', 'RSET']),
                         set(self.session.get_all_allowed_internal_commands()))
        self.assert_smtp_verbs(['RCPT', 'DATA', 'NOOP', 'HELP', 'QUIT', 'RSET'])


class EveryStateCommandsMixin(SessionTestMixin):
    """NOOP, HELP, QUIT, RSET in every state but new and finished."""
    esmtp = True
    auth = False
    target = None
    rset_state = None

    def setUp(self):
        self.init(authenticator=test_util.DummyAuthenticator())
        self.go_to(self.target, esmtp=self.esmtp, auth=self.auth)
        self.assertEqual(self.target, self.state())

    def test_noop(self):
        self.assertEqual(['250 OK'], self.send('NOOP'))
        self.assertEqual(self.target, self.state())

    def test_help(self):
        self.assertEqual(HELP_LINES, self.send('HELP'))
        self.assertEqual(self.target, self.state())

    def test_help_with_argument(self):
        # the SPEC leaves the text of "HELP <topic>" open: only a 214 is required
        lines = self.send('HELP', 'MAIL')
        self.assertTrue(lines, lines)
        for line in lines:
            self.assertTrue(line.startswith('214'), lines)
        self.assertEqual(self.target, self.state())

    def test_quit(self):
        self.assertEqual(['221 localhost closing connection'], self.send('QUIT'))
        self.assertEqual('finished', self.state())
        self.assertFalse(self.parser.open)

    def test_rset(self):
        self.assertEqual(['250 Reset OK'], self.send('RSET'))
        self.assertEqual(self.rset_state, self.state())
        self.assertTrue(self.parser.open)

    def test_rset_leaves_the_parser_in_command_mode(self):
        # also in receiving_message (a session driven without a parser)
        self.send('RSET')
        self.assertEqual('command', self.parser.mode)
        self.assertEqual(['250 OK'], self.send('NOOP'))

    def test_commands_with_argument_are_501(self):
        for command in ('NOOP', 'RSET', 'QUIT'):
            self.assert_501(command, 'fnord', "Syntactically invalid argument(s) 'fnord'")
        self.assertEqual(self.target, self.state())
        self.assertTrue(self.parser.open)


class GreetedCommandsTest(EveryStateCommandsMixin, unittest.TestCase):
    target = 'greeted'
    rset_state = 'greeted'


class InitializedCommandsTest(EveryStateCommandsMixin, unittest.TestCase):
    target = 'initialized'
    rset_state = 'initialized'


class InitializedPlainSMTPCommandsTest(EveryStateCommandsMixin, unittest.TestCase):
    target = 'initialized'
    rset_state = 'initialized'
    esmtp = False


class AuthenticatedCommandsTest(EveryStateCommandsMixin, unittest.TestCase):
    target = 'authenticated'
    rset_state = 'authenticated'
    auth = True


class SenderKnownCommandsTest(EveryStateCommandsMixin, unittest.TestCase):
    target = 'sender_known'
    rset_state = 'initialized'


class SenderKnownAuthenticatedCommandsTest(EveryStateCommandsMixin, unittest.TestCase):
    target = 'sender_known'
    rset_state = 'authenticated'
    auth = True


class RecipientKnownCommandsTest(EveryStateCommandsMixin, unittest.TestCase):
    target = 'recipient_known'
    rset_state = 'initialized'


class RecipientKnownAuthenticatedCommandsTest(EveryStateCommandsMixin, unittest.TestCase):
    target = 'recipient_known'
    rset_state = 'authenticated'
    auth = True


class ReceivingMessageCommandsTest(EveryStateCommandsMixin, unittest.TestCase):
    target = 'receiving_message'
    rset_state = 'initialized'


class ReceivingMessageAuthenticatedCommandsTest(EveryStateCommandsMixin, unittest.TestCase):
    target = 'receiving_message'
    rset_state = 'authenticated'
    auth = True


class FinishedStateTest(SessionTestCase):
    def test_nothing_allowed_after_quit(self):
        self.init()
        self.send_ok('HELO', 'client.example.com')
        self.send('QUIT')
        self.assertEqual('finished', self.state())
        self.assertEqual(set(), set(self.session.get_all_allowed_internal_commands()))


# ----------------------------------------------------------------------------
# replies

class RepliesTest(SessionTestCase):
    def test_helo(self):
        self.init()
        self.assertEqual(['250 localhost'], self.send('HELO', 'client.example.com'))

    def test_helo_ip_literal(self):
        self.init()
        self.assertEqual(['250 localhost'], self.send('HELO', '[127.0.0.1]'))

    def test_ehlo_without_policy_and_authenticator(self):
        self.init()
        self.assertEqual(['250-localhost', '250 HELP'], self.send('EHLO', 'fnord'))

    def test_ehlo_with_authenticator_without_policy(self):
        self.init(authenticator=test_util.DummyAuthenticator())
        self.assertEqual(['250-localhost', '250-AUTH PLAIN', '250 HELP'],
                         self.send('EHLO', 'fnord'))
        self.assertTrue('AUTH PLAIN' in list(self.session.get_ehlo_lines()))

    def test_ehlo_with_default_policy(self):
        self.init(policy=IMTAPolicy(), authenticator=test_util.DummyAuthenticator())
        self.assertEqual(['250-localhost', '250-AUTH PLAIN LOGIN', '250 HELP'],
                         self.send('EHLO', 'fnord'))

    def test_ehlo_with_max_message_size(self):
        class Policy(IMTAPolicy):
            def max_message_size(self, peer):
                return 1000
        self.init(policy=Policy(), authenticator=test_util.DummyAuthenticator())
        self.assertEqual(['250-localhost', '250-SIZE 1000', '250-AUTH PLAIN LOGIN', '250 HELP'],
                         self.send('EHLO', 'fnord'))

    def test_ehlo_without_auth_methods(self):
        class Policy(IMTAPolicy):
            def max_message_size(self, peer):
                return 1000

            def auth_methods(self, peer):
                return ()
        self.init(policy=Policy(), authenticator=test_util.DummyAuthenticator())
        self.assertEqual(['250-localhost', '250-SIZE 1000', '250 HELP'],
                         self.send('EHLO', 'fnord'))

    def test_ehlo_with_custom_ehlo_lines(self):
        peers = []

        class Policy(IMTAPolicy):
            def ehlo_lines(self, peer):
                peers.append(peer)
                return ('8BITMIME', 'PIPELINING')
        self.init(policy=Policy())
        self.assertEqual(['250-localhost', '250-8BITMIME', '250-PIPELINING', '250 HELP'],
                         self.send('EHLO', 'fnord'))
        self.assertTrue(len(peers) >= 1)
        self.assertEqual('127.0.0.1', peers[-1].remote_ip)
        self.assertEqual(4567, peers[-1].remote_port)

    def test_noop_rset_help_quit(self):
        self.init()
        self.assertEqual(['250 OK'], self.send('NOOP'))
        self.assertEqual(['250 Reset OK'], self.send('RSET'))
        self.assertEqual(HELP_LINES, self.send('HELP'))
        self.assertTrue(self.parser.open)
        self.assertEqual(['221 localhost closing connection'], self.send('QUIT'))
        self.assertFalse(self.parser.open)

    def test_help_multiline_reply_structure(self):
        self.init()
        self.send('HELP')
        code, lines = self.parser.replies[-1]
        self.assertEqual(214, int(code))
        self.assertEqual(['Commands supported', 'AUTH DATA EHLO HELO HELP MAIL NOOP QUIT RCPT RSET'],
                         list(lines))

    def test_transaction_replies(self):
        self.init()
        self.assertEqual(['250 localhost'], self.send('HELO', 'client.example.com'))
        self.assertEqual(['250 OK'], self.send('MAIL FROM', '<sender@example.com>'))
        self.assertEqual(['250 OK'], self.send('RCPT TO', '<rcpt@example.com>'))
        self.assertEqual([MSG_354], self.send('DATA'))
        self.assertEqual(['250 OK'], self.send('MSGDATA', 'Subject: T\n\nHi'))
        self.assertEqual(1, len(self.received()))

    def test_auth_without_authenticator(self):
        self.init()
        self.send_ok('EHLO', 'fnord')
        self.assertEqual(['535 AUTH not available'], self.send('AUTH PLAIN', AUTH_PLAIN_FOO))
        self.assertEqual('initialized', self.state())
        self.assertEqual(['535 AUTH not available'], self.send('AUTH LOGIN', b64('foo')))
        self.assertEqual('initialized', self.state())

    def test_auth_without_authenticator_with_default_policy(self):
        self.init(policy=IMTAPolicy())
        self.send_ok('EHLO', 'fnord')
        self.assertEqual(['535 AUTH not available'], self.send('AUTH PLAIN', AUTH_PLAIN_FOO))
        self.assertEqual('initialized', self.state())

    def test_auth_ok_and_bad_credentials(self):
        self.init(authenticator=test_util.DummyAuthenticator())
        self.send_ok('EHLO', 'fnord')
        self.assertEqual(['535 Bad username or password'], self.send('AUTH PLAIN', b64('\0foo\0bar')))
        self.assertEqual(['235 Authentication successful'], self.send('AUTH PLAIN', AUTH_PLAIN_FOO))

    def test_size_above_limit_is_552(self):
        class Policy(IMTAPolicy):
            def max_message_size(self, peer):
                return 100
        self.init(policy=Policy())
        self.send_ok('EHLO', 'fnord')
        self.assertEqual([TOO_BIG], self.send('MAIL FROM', '<sender@example.com> SIZE=101'))
        self.assertEqual('initialized', self.state())
        self.assertEqual(['250 OK'], self.send('MAIL FROM', '<sender@example.com> SIZE=100'))
        self.assertEqual('sender_known', self.state())

    def test_size_without_limit(self):
        self.init()
        self.send_ok('EHLO', 'fnord')
        self.assertEqual(['250 OK'], self.send('MAIL FROM', '<sender@example.com> SIZE=999999999'))

    def test_input_exceeds_limits_ends_transaction(self):
        class Policy(IMTAPolicy):
            def max_message_size(self, peer):
                return 100
        self.init(policy=Policy())
        self.go_to('receiving_message')
        self.session.input_exceeds_limits()
        self.assertEqual([TOO_BIG], self.new_lines())
        self.assertEqual('initialized', self.state())
        self.assertEqual([], self.received())
        self.assert_503('RCPT TO', '<rcpt@example.com>')
        self.send_ok('MAIL FROM', '<sender@example.com>')

    def test_session_tells_parser_the_maximum_message_size(self):
        sizes = []

        class Parser(test_util.MockCommandParser):
            def set_maximum_message_size(self, max_size):
                sizes.append(max_size)
                return test_util.MockCommandParser.set_maximum_message_size(self, max_size)

        class Policy(IMTAPolicy):
            def max_message_size(self, peer):
                return 100
        parser = Parser()
        session = SMTPSession(parser, RecordingDeliverer(), policy=Policy())
        session.new_connection('127.0.0.1', 4567)
        for command, data in (('EHLO', 'fnord'), ('MAIL FROM', '<a@example.com>'),
                              ('RCPT TO', '<b@example.com>'), ('DATA', None)):
            session.handle_input(command, data)
        self.assertTrue(len(sizes) >= 1)
        self.assertEqual(100, sizes[-1])

    def test_session_switches_parser_modes(self):
        modes = []

        class Parser(test_util.MockCommandParser):
            def switch_to_command_mode(self):
                modes.append('command')
                return test_util.MockCommandParser.switch_to_command_mode(self)

            def switch_to_data_mode(self):
                modes.append('data')
                return test_util.MockCommandParser.switch_to_data_mode(self)

            def switch_to_auth_login_mode(self):
                modes.append('auth_login')
                return test_util.MockCommandParser.switch_to_auth_login_mode(self)
        parser = Parser()
        session = SMTPSession(parser, RecordingDeliverer(),
                              authenticator=test_util.DummyAuthenticator())
        session.new_connection('127.0.0.1', 4567)
        session.handle_input('EHLO', 'fnord')
        session.handle_input('AUTH LOGIN', None)
        self.assertEqual('auth_login', modes[-1])
        session.handle_auth_credentials(b64('foo'))
        session.handle_auth_credentials(b64('foo'))
        self.assertEqual('command', modes[-1])
        session.handle_input('MAIL FROM', '<a@example.com>')
        session.handle_input('RCPT TO', '<b@example.com>')
        session.handle_input('DATA', None)
        self.assertEqual('data', modes[-1])
        session.handle_input('MSGDATA', 'Hi')
        self.assertEqual('command', modes[-1])
        self.assertEqual('250 OK', parser.messages[-1])


class ConnectionTest(SessionTestCase):
    def test_connection_refused_by_policy(self):
        peers = []

        class Policy(IMTAPolicy):
            def accept_new_connection(self, peer):
                peers.append(peer)
                return False
        self.init(policy=Policy())
        self.assertEqual(['554 SMTP service not available'], list(self.parser.messages))
        self.assertFalse(self.parser.open)
        self.assertEqual(1, len(peers))
        self.assertEqual('127.0.0.1', peers[0].remote_ip)
        self.assertEqual(4567, peers[0].remote_port)

    def test_connection_refused_with_custom_reply(self):
        class Policy(IMTAPolicy):
            def accept_new_connection(self, peer):
                return (False, (421, 'too busy'))
        self.init(policy=Policy())
        self.assertEqual(['421 too busy'], list(self.parser.messages))
        self.assertFalse(self.parser.open)

    def test_connection_refused_by_policy_decision(self):
        class Policy(IMTAPolicy):
            def accept_new_connection(self, peer):
                return PolicyDecision(False)
        self.init(policy=Policy())
        self.assertEqual(['554 SMTP service not available'], list(self.parser.messages))
        self.assertFalse(self.parser.open)

    def test_connection_accepted_with_custom_greeting(self):
        class Policy(IMTAPolicy):
            def accept_new_connection(self, peer):
                return (True, (220, ['welcome', 'to pymta']))
        self.init(policy=Policy())
        self.assertEqual(['220-welcome', '220 to pymta'], list(self.parser.messages))
        self.assertTrue(self.parser.open)
        self.assertEqual('greeted', self.state())
        self.assertEqual(['250 localhost'], self.send('HELO', 'foo'))

    def test_connection_accepted_by_none(self):
        class Policy(IMTAPolicy):
            def accept_new_connection(self, peer):
                return None
        self.init(policy=Policy())
        self.assertEqual([GREETING], list(self.parser.messages))
        self.assertTrue(self.parser.open)

    def test_connection_policy_exception_gives_451_and_close(self):
        class Policy(IMTAPolicy):
            def accept_new_connection(self, peer):
                raise ValueError('connection policy exploded')
        with LogCapture() as log:
            self.init(policy=Policy())
        self.assertEqual([TEMP_ERROR], list(self.parser.messages))
        self.assertFalse(self.parser.open)
        assert_exception_logged(self, log, 'connection policy exploded')

    def test_close_before_response_on_connect(self):
        class Policy(IMTAPolicy):
            def accept_new_connection(self, peer):
                decision = PolicyDecision(True)
                decision._close_connection_before_response = True
                return decision
        self.init(policy=Policy())
        self.assertEqual([], list(self.parser.messages))
        self.assertFalse(self.parser.open)

    def test_close_after_response_on_connect(self):
        class Policy(IMTAPolicy):
            def accept_new_connection(self, peer):
                decision = PolicyDecision(True)
                decision._close_connection_after_response = True
                return decision
        self.init(policy=Policy())
        self.assertEqual([GREETING], list(self.parser.messages))
        self.assertFalse(self.parser.open)


def assert_exception_logged(testcase, log, text):
    matching = []
    for record in log.records:
        exc = record.exc_info[1] if record.exc_info else None
        if (exc is not None and text in str(exc)) or text in record.getMessage():
            matching.append(record)
    testcase.assertTrue(matching, 'no log record about %r in %r' % (
        text, [r.getMessage() for r in log.records]))
    testcase.assertTrue(max(r.levelno for r in matching) >= logging.ERROR,
                        [r.levelname for r in matching])


# ----------------------------------------------------------------------------
# 501 texts

class ArgumentSyntaxTest(SessionTestCase):
    def setUp(self):
        self.init(authenticator=test_util.DummyAuthenticator())

    def test_helo_without_argument(self):
        self.assert_501('HELO', None)
        self.assert_501('HELO', '')
        self.assertEqual('greeted', self.state())

    def test_helo_two_tokens(self):
        self.assert_501('HELO', 'foo bar')
        self.assert_501('EHLO', 'foo bar')
        self.assert_501('EHLO', None)
        self.assertEqual('greeted', self.state())
        self.assertFalse(self.session.uses_esmtp())
        self.assertEqual(['250 localhost'], self.send('HELO', 'foo'))

    def test_no_argument_commands(self):
        self.assert_501('NOOP', 'foo', "Syntactically invalid argument(s) 'foo'")
        self.assert_501('RSET', 'foo bar', "Syntactically invalid argument(s) 'foo bar'")
        self.assert_501('QUIT', 'foo', "Syntactically invalid argument(s) 'foo'")
        self.assertTrue(self.parser.open)
        self.go_to('recipient_known')
        self.assert_501('DATA', 'foo', "Syntactically invalid argument(s) 'foo'")
        self.assertEqual('recipient_known', self.state())

    def test_help_takes_any_argument(self):
        self.assertEqual(HELP_LINES, self.send('HELP', 'foo bar baz'))

    def test_mail_from_unbalanced_brackets(self):
        self.go_to('initialized')
        text = 'Invalid email address format - use balanced angle brackets.'
        self.assert_501('MAIL FROM', '<foo@example.com', text)
        self.assert_501('MAIL FROM', 'foo@example.com>', text)

    def test_mail_from_invalid_addresses(self):
        self.go_to('initialized')
        self.assert_501('MAIL FROM', 'foo@@example.com')
        self.assert_501('MAIL FROM', '<foo@example..com>')
        self.assert_501('MAIL FROM', None)
        self.assert_501('MAIL FROM', '')

    def test_mail_from_extensions_in_plain_smtp(self):
        self.go_to('initialized', esmtp=False)
        self.assert_501('MAIL FROM', '<foo@example.com> SIZE=100',
                        'No SMTP extensions allowed for plain SMTP.')

    def test_mail_from_invalid_extension(self):
        self.go_to('initialized')
        self.assert_501('MAIL FROM', '<foo@example.com> FNORD=INVALID',
                        'Invalid extension: "FNORD=INVALID"')
        self.assert_501('MAIL FROM', '<foo@example.com> SIZE=100 FNORD=INVALID',
                        'Invalid extension: "SIZE=100 FNORD=INVALID"')

    def test_mail_from_invalid_arguments(self):
        self.go_to('initialized')
        self.assert_501('MAIL FROM', '<foo@example.com> fnord', 'Invalid arguments: "fnord"')
        self.assert_501('MAIL FROM', '<foo@example.com> SIZE=10 foo bar',
                        'Invalid arguments: "SIZE=10 foo bar"')

    def test_mail_from_invalid_size(self):
        self.go_to('initialized')
        self.assert_501('MAIL FROM', '<foo@example.com> SIZE=0',
                        'Invalid size: Must be 1 or greater.')
        self.assert_501('MAIL FROM', '<foo@example.com> SIZE=fnord')
        self.assert_501('MAIL FROM', '<foo@example.com> SIZE=',
                        'Invalid size: Please enter a number.')

    def test_mail_from_extension_keys_case_insensitive(self):
        self.go_to('initialized')
        self.assertEqual(['250 OK'], self.send('MAIL FROM', '<foo@example.com> size=100'))

    def test_mail_from_bare_address(self):
        self.go_to('initialized')
        self.assertEqual(['250 OK'], self.send('MAIL FROM', 'foo@example.com'))

    def test_rcpt_to(self):
        self.go_to('sender_known')
        self.assert_501('RCPT TO', 'foo@example.com bar@example.com')
        self.assert_501('RCPT TO', 'foo@@example.com')
        self.assert_501('RCPT TO', '<foo@example.com')
        self.assert_501('RCPT TO', None)
        self.assert_501('RCPT TO', '<foo>')
        self.assertEqual(['250 OK'], self.send('RCPT TO', 'bar@example.com'))

    def test_rcpt_to_postmaster(self):
        self.go_to('sender_known')
        self.assertEqual(['250 OK'], self.send('RCPT TO', '<postmaster>'))
        self.assertEqual(['250 OK'], self.send('RCPT TO', '<PostMaster>'))
        self.send_ok('DATA', first_digit='3')
        self.send_ok('MSGDATA', 'Hi')
        msg, = self.received()
        self.assertEqual(['postmaster', 'postmaster'], [a.lower() for a in msg.smtp_to])

    def test_auth_plain_garbled(self):
        self.go_to('initialized')
        for data in (b64('foo'), 'a', b64('\0foo\0foo') + ' ' + b64('x'), None):
            self.assert_501('AUTH PLAIN', data, 'Garbled data sent')
        self.assertEqual('initialized', self.state())

    def test_auth_login_garbled_initial_response(self):
        self.go_to('initialized')
        self.assert_501('AUTH LOGIN', 'a', 'Garbled data sent')
        self.assertEqual('initialized', self.state())


# ----------------------------------------------------------------------------
# messages

class MessageContentsTest(SessionTestCase):
    def transaction(self, sender, recipients, data):
        self.send_ok('MAIL FROM', sender)
        for recipient in recipients:
            self.send_ok('RCPT TO', recipient)
        self.send_ok('DATA', first_digit='3')
        self.assertEqual(['250 OK'], self.send('MSGDATA', data))

    def test_message_contents(self):
        self.init()
        self.send_ok('EHLO', 'client.example.com')
        self.transaction('<sender@example.com>', ['<a@example.com>', 'b@example.com'],
                         'Subject: T\n\nHi')
        msg, = self.received()
        self.assertEqual('127.0.0.1', msg.peer.remote_ip)
        self.assertEqual(4567, msg.peer.remote_port)
        self.assertEqual('client.example.com', msg.smtp_helo)
        self.assertEqual('sender@example.com', msg.smtp_from)
        self.assertEqual(['a@example.com', 'b@example.com'], msg.smtp_to)
        self.assertEqual('Subject: T\n\nHi', msg.msg_data)
        self.assertEqual(None, msg.username)

    def test_null_sender(self):
        self.init()
        self.send_ok('HELO', 'client.example.com')
        self.transaction('<>', ['<a@example.com>'], 'Hi')
        msg, = self.received()
        self.assertEqual('', msg.smtp_from)

    def test_fresh_message_per_transaction(self):
        self.init(authenticator=test_util.DummyAuthenticator())
        self.send_ok('EHLO', 'client.example.com')
        self.send_ok('AUTH PLAIN', AUTH_PLAIN_FOO)
        self.transaction('<first@example.com>', ['<a@example.com>', '<b@example.com>'], 'first')
        self.transaction('<second@example.com>', ['<c@example.com>'], 'second')
        first, second = self.received()
        self.assertFalse(first is second)
        self.assertEqual('first@example.com', first.smtp_from)
        self.assertEqual(['a@example.com', 'b@example.com'], first.smtp_to)
        self.assertEqual('first', first.msg_data)
        self.assertEqual('second@example.com', second.smtp_from)
        self.assertEqual(['c@example.com'], second.smtp_to)
        self.assertEqual('second', second.msg_data)
        for msg in (first, second):
            self.assertEqual('client.example.com', msg.smtp_helo)
            self.assertEqual('foo', msg.username)
            self.assertEqual('127.0.0.1', msg.peer.remote_ip)
            self.assertEqual(4567, msg.peer.remote_port)

    def test_rset_keeps_helo_and_username_drops_envelope(self):
        self.init(authenticator=test_util.DummyAuthenticator())
        self.send_ok('EHLO', 'client.example.com')
        self.send_ok('AUTH PLAIN', AUTH_PLAIN_FOO)
        self.send_ok('MAIL FROM', '<dropped@example.com>')
        self.send_ok('RCPT TO', '<dropped@example.com>')
        self.assertEqual(['250 Reset OK'], self.send('RSET'))
        self.assertEqual('authenticated', self.state())
        self.transaction('<kept@example.com>', ['<a@example.com>'], 'Hi')
        msg, = self.received()
        self.assertEqual('client.example.com', msg.smtp_helo)
        self.assertEqual('foo', msg.username)
        self.assertEqual('kept@example.com', msg.smtp_from)
        self.assertEqual(['a@example.com'], msg.smtp_to)

    def test_rset_without_auth(self):
        self.init()
        self.send_ok('HELO', 'client.example.com')
        self.send_ok('MAIL FROM', '<dropped@example.com>')
        self.send_ok('RSET')
        self.assertEqual('initialized', self.state())
        self.transaction('<kept@example.com>', ['<a@example.com>'], 'Hi')
        msg, = self.received()
        self.assertEqual('client.example.com', msg.smtp_helo)
        self.assertEqual('kept@example.com', msg.smtp_from)
        self.assertEqual(None, msg.username)

    def test_auth_plain_with_authzid_uses_authcid(self):
        authenticator = RecordingAuthenticator()
        self.init(authenticator=authenticator)
        self.send_ok('EHLO', 'client.example.com')
        self.assertEqual(['235 Authentication successful'],
                         self.send('AUTH PLAIN', b64('admin\0foo\0foo')))
        self.assertEqual(1, len(authenticator.calls))
        username, password, peer = authenticator.calls[0]
        self.assertEqual(('foo', 'foo'), (username, password))
        self.assertEqual('127.0.0.1', peer.remote_ip)
        self.assertEqual(4567, peer.remote_port)
        self.transaction('<a@example.com>', ['<b@example.com>'], 'Hi')
        self.assertEqual('foo', self.received()[0].username)

    def test_delivery_happens_before_250(self):
        parser = test_util.MockCommandParser()
        seen_at_delivery = []
        deliverer = RecordingDeliverer(
            on_delivery=lambda msg: seen_at_delivery.append(list(parser.messages)))
        session = SMTPSession(parser, deliverer)
        session.new_connection('127.0.0.1', 4567)
        for command, data in (('HELO', 'client'), ('MAIL FROM', '<a@example.com>'),
                              ('RCPT TO', '<b@example.com>'), ('DATA', None)):
            session.handle_input(command, data)
        before = list(parser.messages)
        session.handle_input('MSGDATA', 'Hi')
        self.assertEqual([before], seen_at_delivery)
        self.assertEqual(before + ['250 OK'], list(parser.messages))
        self.assertEqual(1, len(deliverer.messages))

    def test_policy_hook_arguments_and_order(self):
        calls = []

        class Policy(IMTAPolicy):
            def accept_helo(self, helo_string, message):
                calls.append(('helo', helo_string))
                return True

            def accept_from(self, sender, message):
                calls.append(('from', sender, message.smtp_helo))
                return True

            def accept_rcpt_to(self, new_recipient, message):
                calls.append(('rcpt', new_recipient, message.smtp_from))
                return True

            def accept_data(self, message):
                calls.append(('data', list(message.smtp_to)))
                return True

            def accept_msgdata(self, msgdata, message):
                calls.append(('msgdata', msgdata))
                return True
        parser = test_util.MockCommandParser()
        deliverer = RecordingDeliverer(on_delivery=lambda msg: calls.append(('deliver',)))
        session = SMTPSession(parser, deliverer, policy=Policy())
        session.new_connection('127.0.0.1', 4567)
        for command, data in (('HELO', 'client'), ('MAIL FROM', '<a@example.com>'),
                              ('RCPT TO', '<b@example.com>'), ('RCPT TO', 'c@example.com'),
                              ('DATA', None), ('MSGDATA', 'Subject: T\n\nHi')):
            session.handle_input(command, data)
        self.assertEqual([('helo', 'client'), ('from', 'a@example.com', 'client'),
                          ('rcpt', 'b@example.com', 'a@example.com'),
                          ('rcpt', 'c@example.com', 'a@example.com'),
                          ('data', ['b@example.com', 'c@example.com']),
                          ('msgdata', 'Subject: T\n\nHi'), ('deliver',)], calls)

    def test_accept_ehlo_receives_argument(self):
        calls = []

        class Policy(IMTAPolicy):
            def accept_ehlo(self, ehlo_string, message):
                calls.append((ehlo_string, message.peer.remote_ip))
                return True
        self.init(policy=Policy())
        self.send_ok('EHLO', 'client.example.com')
        self.assertEqual([('client.example.com', '127.0.0.1')], calls)


# ----------------------------------------------------------------------------
# exceptions -> 451

class FaultTest(SessionTestCase):
    def test_deliverer_exception(self):
        parser = test_util.MockCommandParser()
        deliverer = RecordingDeliverer(exception=RuntimeError('deliverer exploded'))
        session = SMTPSession(parser, deliverer)
        session.new_connection('127.0.0.1', 4567)
        for command, data in (('HELO', 'client'), ('MAIL FROM', '<a@example.com>'),
                              ('RCPT TO', '<b@example.com>'), ('DATA', None)):
            session.handle_input(command, data)
        with LogCapture() as log:
            session.handle_input('MSGDATA', 'Hi')
        self.assertEqual(TEMP_ERROR, parser.messages[-1])
        assert_exception_logged(self, log, 'deliverer exploded')
        self.assertTrue(parser.open)
        self.assertEqual('initialized', session.state.state())
        # the transaction is over: a new one can start
        deliverer.exception = None
        n = len(parser.messages)
        for command, data in (('MAIL FROM', '<a@example.com>'), ('RCPT TO', '<b@example.com>'),
                              ('DATA', None), ('MSGDATA', 'Hi again')):
            session.handle_input(command, data)
        self.assertEqual(['250 OK', '250 OK', MSG_354, '250 OK'], list(parser.messages[n:]))
        self.assertEqual('Hi again', deliverer.messages[-1].msg_data)

    def test_authenticator_exception(self):
        authenticator = RecordingAuthenticator(exception=RuntimeError('authenticator exploded'))
        self.init(authenticator=authenticator)
        self.send_ok('EHLO', 'fnord')
        with LogCapture() as log:
            self.assertEqual([TEMP_ERROR], self.send('AUTH PLAIN', AUTH_PLAIN_FOO))
        assert_exception_logged(self, log, 'authenticator exploded')
        self.assertEqual('initialized', self.state())
        self.assertTrue(self.parser.open)
        authenticator.exception = None
        self.assertEqual(['235 Authentication successful'], self.send('AUTH PLAIN', AUTH_PLAIN_FOO))
        self.assertEqual('authenticated', self.state())

    def test_authenticator_exception_auth_login(self):
        authenticator = RecordingAuthenticator(exception=RuntimeError('login exploded'))
        self.init(authenticator=authenticator)
        self.send_ok('EHLO', 'fnord')
        self.assertEqual(['334 UGFzc3dvcmQ6'], self.send('AUTH LOGIN', b64('foo')))
        with LogCapture() as log:
            self.session.handle_auth_credentials(b64('foo'))
        self.assertEqual([TEMP_ERROR], self.new_lines())
        assert_exception_logged(self, log, 'login exploded')
        self.assertEqual('initialized', self.state())
        self.assertEqual(['250 OK'], self.send('NOOP'))

    def test_ehlo_lines_exception(self):
        class Policy(IMTAPolicy):
            fail = True

            def ehlo_lines(self, peer):
                if self.fail:
                    raise RuntimeError('ehlo lines exploded')
                return ()
        policy = Policy()
        self.init(policy=policy)
        with LogCapture() as log:
            self.assertEqual([TEMP_ERROR], self.send('EHLO', 'fnord'))
        assert_exception_logged(self, log, 'ehlo lines exploded')
        self.assertTrue(self.parser.open)
        policy.fail = False
        self.assertEqual(['250-localhost', '250 HELP'], self.send('EHLO', 'fnord'))


# ----------------------------------------------------------------------------
# policy return forms, for every policy hook that guards a command

class ConfigurablePolicy(IMTAPolicy):
    """Every hook returns ``results[hook]()`` (default True)."""
    def __init__(self, **results):
        IMTAPolicy.__init__(self)
        self.results = results
        self.calls = []

    def _result(self, name):
        self.calls.append(name)
        if name in self.results:
            return self.results[name]()
        return True

    def accept_new_connection(self, peer):
        return self._result('accept_new_connection')

    def accept_helo(self, helo_string, message):
        return self._result('accept_helo')

    def accept_ehlo(self, ehlo_string, message):
        return self._result('accept_ehlo')

    def accept_auth_plain(self, username, password, message):
        return self._result('accept_auth_plain')

    def accept_auth_login(self, username, message):
        return self._result('accept_auth_login')

    def accept_from(self, sender, message):
        return self._result('accept_from')

    def accept_rcpt_to(self, new_recipient, message):
        return self._result('accept_rcpt_to')

    def accept_data(self, message):
        return self._result('accept_data')

    def accept_msgdata(self, msgdata, message):
        return self._result('accept_msgdata')


def raiser(text):
    def fail():
        raise ValueError(text)
    return fail


def decision(accept, reply=None, before=False, after=False):
    def make():
        result = PolicyDecision(accept, reply)
        if before:
            result._close_connection_before_response = True
        if after:
            result._close_connection_after_response = True
        return result
    return make


class PolicyFormsMixin(SessionTestMixin):
    hook = None                # policy method name
    before = None              # state the command is sent in
    auth = False
    command = None             # (internal command, data)
    ok_lines = None            # default reply lines on accept
    reject_lines = [ADMIN_PROHIBITION]
    ok_state = None
    reject_state = None        # default: state before the command

    def setup_policy(self, result):
        self.policy = ConfigurablePolicy(**{self.hook: result})
        self.init(policy=self.policy, authenticator=test_util.DummyAuthenticator())
        self.go_to(self.before, auth=self.auth)
        self.assertEqual(self.before, self.state())
        self.state_before = self.state()

    def run_command(self, result):
        self.setup_policy(result)
        self.calls_before = self.policy.calls.count(self.hook)
        return self.send(*self.command)

    def expected_reject_state(self):
        return self.reject_state or self.before

    def assert_accepted(self):
        self.assertEqual(self.ok_state, self.state())
        self.assertTrue(self.parser.open)

    def assert_rejected(self):
        self.assertEqual(self.expected_reject_state(), self.state())
        self.assertTrue(self.parser.open)

    def test_true(self):
        self.assertEqual(self.ok_lines, self.run_command(lambda: True))
        self.assert_accepted()
        self.assertEqual(self.calls_before + 1, self.policy.calls.count(self.hook))

    def test_none(self):
        self.assertEqual(self.ok_lines, self.run_command(lambda: None))
        self.assert_accepted()

    def test_false(self):
        self.assertEqual(self.reject_lines, self.run_command(lambda: False))
        self.assert_rejected()

    def test_reject_custom_one_line(self):
        self.assertEqual(['553 custom reject'], self.run_command(lambda: (False, (553, 'custom reject'))))
        self.assert_rejected()

    def test_reject_custom_multi_line(self):
        self.assertEqual(['553-first line', '553-second line', '553 last line'],
            self.run_command(lambda: (False, (553, ['first line', 'second line', 'last line']))))
        self.assert_rejected()

    def test_reject_custom_multi_line_tuple(self):
        self.assertEqual(['553-first line', '553 last line'],
            self.run_command(lambda: (False, (553, ('first line', 'last line')))))
        self.assert_rejected()

    def test_accept_custom_one_line(self):
        code = int(self.ok_lines[-1][:3])
        self.assertEqual(['%d custom accept' % code],
                         self.run_command(lambda: (True, (code, 'custom accept'))))
        self.assert_accepted()

    def test_accept_custom_multi_line(self):
        code = int(self.ok_lines[-1][:3])
        self.assertEqual(['%d-custom' % code, '%d accept' % code],
                         self.run_command(lambda: (True, (code, ['custom', 'accept']))))
        self.assert_accepted()

    def test_policy_decision_accept(self):
        self.assertEqual(self.ok_lines, self.run_command(decision(True)))
        self.assert_accepted()

    def test_policy_decision_reject(self):
        self.assertEqual(self.reject_lines, self.run_command(decision(False)))
        self.assert_rejected()

    def test_policy_decision_reject_custom(self):
        self.assertEqual(['554 pd reject'], self.run_command(decision(False, (554, 'pd reject'))))
        self.assert_rejected()

    def test_policy_decision_reject_custom_multi_line(self):
        self.assertEqual(['554-pd', '554 reject'],
                         self.run_command(decision(False, (554, ['pd', 'reject']))))
        self.assert_rejected()

    def test_policy_decision_accept_custom(self):
        code = int(self.ok_lines[-1][:3])
        self.assertEqual(['%d pd accept' % code],
                         self.run_command(decision(True, (code, 'pd accept'))))
        self.assert_accepted()

    def check_invalid_result(self, value):
        results = [value]

        def result():
            # the first call returns the invalid value, later calls accept
            return results.pop() if results else True
        with LogCapture() as log:
            lines = self.run_command(result)
        self.assertEqual([TEMP_ERROR], lines)
        self.assertTrue(log.records, 'the invalid policy result was not logged')
        self.assertTrue(max(r.levelno for r in log.records) >= logging.WARNING)
        self.assertTrue(self.parser.open)
        self.assertEqual(self.state_before, self.state())
        # the session is still usable: the same command now passes
        self.assertEqual(['250 OK'], self.send('NOOP'))
        self.assertEqual(self.ok_lines, self.send(*self.command))
        self.assert_accepted()

    def test_invalid_result_number(self):
        self.check_invalid_result(42)

    def test_invalid_result_string(self):
        self.check_invalid_result('yes')

    def test_invalid_result_object(self):
        self.check_invalid_result(object())

    def test_exception_gives_451_and_is_logged(self):
        with LogCapture() as log:
            lines = self.run_command(raiser('policy exploded %s' % self.hook))
        self.assertEqual([TEMP_ERROR], lines)
        assert_exception_logged(self, log, 'policy exploded %s' % self.hook)
        self.assertTrue(self.parser.open)
        self.assertEqual(self.state_before, self.state())
        self.assertEqual(['250 OK'], self.send('NOOP'))

    def test_close_before_response_accept(self):
        self.assertEqual([], self.run_command(decision(True, before=True)))
        self.assertFalse(self.parser.open)

    def test_close_before_response_reject(self):
        self.assertEqual([], self.run_command(decision(False, before=True)))
        self.assertFalse(self.parser.open)

    def test_close_after_response_accept(self):
        self.assertEqual(self.ok_lines, self.run_command(decision(True, after=True)))
        self.assertFalse(self.parser.open)

    def test_close_after_response_reject(self):
        self.assertEqual(self.reject_lines, self.run_command(decision(False, after=True)))
        self.assertFalse(self.parser.open)

    def test_close_after_custom_response(self):
        self.assertEqual(['421 bye'], self.run_command(decision(False, (421, 'bye'), after=True)))
        self.assertFalse(self.parser.open)

    def test_close_before_and_after(self):
        self.assertEqual([], self.run_command(decision(True, before=True, after=True)))
        self.assertFalse(self.parser.open)
        self.assertEqual([], self.run_command(decision(False, before=True, after=True)))
        self.assertFalse(self.parser.open)


class HeloPolicyTest(PolicyFormsMixin, unittest.TestCase):
    hook = 'accept_helo'
    before = 'greeted'
    command = ('HELO', 'client.example.com')
    ok_lines = ['250 localhost']
    ok_state = 'initialized'


class EhloPolicyTest(PolicyFormsMixin, unittest.TestCase):
    hook = 'accept_ehlo'
    before = 'greeted'
    command = ('EHLO', 'client.example.com')
    ok_lines = ['250-localhost', '250-AUTH PLAIN LOGIN', '250 HELP']
    ok_state = 'initialized'


class AuthPlainPolicyTest(PolicyFormsMixin, unittest.TestCase):
    hook = 'accept_auth_plain'
    before = 'initialized'
    command = ('AUTH PLAIN', AUTH_PLAIN_FOO)
    ok_lines = ['235 Authentication successful']
    ok_state = 'authenticated'



class AuthLoginPolicyTest(PolicyFormsMixin, unittest.TestCase):
    """accept_auth_login with the username as initial response: accepting
    means the exchange goes on (password prompt); the state moves only when
    the credentials are accepted."""
    hook = 'accept_auth_login'
    before = 'initialized'
    command = ('AUTH LOGIN', b64('foo'))
    ok_lines = ['334 UGFzc3dvcmQ6']
    ok_state = 'initialized'

    def assert_accepted(self):
        PolicyFormsMixin.assert_accepted(self)
        self.session.handle_auth_credentials(b64('foo'))
        self.assertEqual(['235 Authentication successful'], self.new_lines())
        self.assertEqual('authenticated', self.state())


class AuthLoginWithoutInitialResponsePolicyTest(PolicyFormsMixin, unittest.TestCase):
    hook = 'accept_auth_login'
    before = 'initialized'
    command = ('AUTH LOGIN', None)
    ok_lines = ['334 VXNlcm5hbWU6']
    ok_state = 'initialized'

    def assert_accepted(self):
        PolicyFormsMixin.assert_accepted(self)
        self.session.handle_auth_credentials(b64('foo'))
        self.assertEqual(['334 UGFzc3dvcmQ6'], self.new_lines())
        self.session.handle_auth_credentials(b64('foo'))
        self.assertEqual(['235 Authentication successful'], self.new_lines())
        self.assertEqual('authenticated', self.state())


class MailFromPolicyTest(PolicyFormsMixin, unittest.TestCase):
    hook = 'accept_from'
    before = 'initialized'
    command = ('MAIL FROM', '<sender@example.com>')
    ok_lines = ['250 OK']
    ok_state = 'sender_known'


class MailFromAuthenticatedPolicyTest(PolicyFormsMixin, unittest.TestCase):
    hook = 'accept_from'
    before = 'authenticated'
    auth = True
    command = ('MAIL FROM', '<sender@example.com>')
    ok_lines = ['250 OK']
    ok_state = 'sender_known'


class RcptToPolicyTest(PolicyFormsMixin, unittest.TestCase):
    hook = 'accept_rcpt_to'
    before = 'sender_known'
    command = ('RCPT TO', '<other@example.com>')
    ok_lines = ['250 OK']
    reject_lines = ['550 relay not permitted']
    ok_state = 'recipient_known'


class SecondRcptToPolicyTest(PolicyFormsMixin, unittest.TestCase):
    hook = 'accept_rcpt_to'
    before = 'recipient_known'
    command = ('RCPT TO', '<other@example.com>')
    ok_lines = ['250 OK']
    reject_lines = ['550 relay not permitted']
    ok_state = 'recipient_known'

    def setup_policy(self, result):
        # the first recipient is accepted, the hook result applies from the second on
        calls = []

        def first_then_result():
            calls.append(None)
            if len(calls) == 1:
                return True
            return result()
        PolicyFormsMixin.setup_policy(self, first_then_result)


class DataPolicyTest(PolicyFormsMixin, unittest.TestCase):
    hook = 'accept_data'
    before = 'recipient_known'
    command = ('DATA', None)
    ok_lines = [MSG_354]
    ok_state = 'receiving_message'


class MsgDataPolicyTest(PolicyFormsMixin, unittest.TestCase):
    hook = 'accept_msgdata'
    before = 'receiving_message'
    command = ('MSGDATA', 'Subject: T\n\nHi')
    ok_lines = ['250 OK']
    reject_lines = ['550 Message content is not acceptable']
    ok_state = 'initialized'
    reject_state = 'initialized'   # the transaction is over either way

    def assert_accepted(self):
        PolicyFormsMixin.assert_accepted(self)
        msg, = self.received()
        self.assertEqual('Subject: T\n\nHi', msg.msg_data)

    def assert_rejected(self):
        PolicyFormsMixin.assert_rejected(self)
        self.assertEqual([], self.received())
        self.assert_503('RCPT TO', '<rcpt@example.com>')

    def test_close_after_response_accept(self):
        PolicyFormsMixin.test_close_after_response_accept(self)
        self.assertEqual(1, len(self.received()))

    def check_invalid_result(self, value):
        results = [value]

        def result():
            return results.pop() if results else True
        with LogCapture() as log:
            lines = self.run_command(result)
        self.assertEqual([TEMP_ERROR], lines)
        self.assertTrue(log.records)
        self.assertTrue(self.parser.open)
        self.assertEqual([], self.received())
        # the transaction is over, the session usable: a new one passes
        self.assertEqual('initialized', self.state())
        self.go_to_next_transaction()
        self.assertEqual(['250 OK'], self.send(*self.command))
        self.assert_accepted()

    def go_to_next_transaction(self):
        self.send_ok('MAIL FROM', '<sender@example.com>')
        self.send_ok('RCPT TO', '<rcpt@example.com>')
        self.send_ok('DATA', first_digit='3')

    def test_exception_gives_451_and_is_logged(self):
        with LogCapture() as log:
            lines = self.run_command(raiser('msgdata policy exploded'))
        self.assertEqual([TEMP_ERROR], lines)
        assert_exception_logged(self, log, 'msgdata policy exploded')
        self.assertTrue(self.parser.open)
        self.assertEqual([], self.received())
        self.assertEqual('initialized', self.state())
        self.assertEqual(['250 OK'], self.send('NOOP'))



# ----------------------------------------------------------------------------
# the connection policy: every return form

class ConnectionPolicyFormsTest(SessionTestCase):
    def connect(self, result):
        self.policy = ConfigurablePolicy(accept_new_connection=result)
        self.init(policy=self.policy)
        self.assertEqual(1, self.policy.calls.count('accept_new_connection'))
        return list(self.parser.messages)

    def assert_usable(self):
        self.assertTrue(self.parser.open)
        self.assertEqual('greeted', self.state())
        self.assertEqual(['250 localhost'], self.send('HELO', 'foo'))

    def assert_closed(self):
        self.assertFalse(self.parser.open)
        self.assertEqual('finished', self.state())
        self.assertEqual(set(), set(self.session.get_all_allowed_internal_commands()))

    def test_true(self):
        self.assertEqual([GREETING], self.connect(lambda: True))
        self.assert_usable()

    def test_none(self):
        self.assertEqual([GREETING], self.connect(lambda: None))
        self.assert_usable()

    def test_false(self):
        self.assertEqual(['554 SMTP service not available'], self.connect(lambda: False))
        self.assert_closed()

    def test_accept_custom_one_line(self):
        self.assertEqual(['220 welcome'], self.connect(lambda: (True, (220, 'welcome'))))
        self.assert_usable()

    def test_reject_custom_multi_line(self):
        self.assertEqual(['554-go', '554 away'],
                         self.connect(lambda: (False, (554, ['go', 'away']))))
        self.assert_closed()

    def test_policy_decision_accept(self):
        self.assertEqual([GREETING], self.connect(decision(True)))
        self.assert_usable()

    def test_policy_decision_accept_custom(self):
        self.assertEqual(['220 pd welcome'], self.connect(decision(True, (220, 'pd welcome'))))
        self.assert_usable()

    def test_policy_decision_reject_custom(self):
        self.assertEqual(['421 busy'], self.connect(decision(False, (421, 'busy'))))
        self.assert_closed()

    def test_close_before_response_reject(self):
        self.assertEqual([], self.connect(decision(False, before=True)))
        self.assert_closed()

    def test_close_after_response_reject(self):
        self.assertEqual(['554 SMTP service not available'],
                         self.connect(decision(False, after=True)))
        self.assert_closed()

    def test_close_after_custom_response(self):
        self.assertEqual(['220 hello and bye'],
                         self.connect(decision(True, (220, 'hello and bye'), after=True)))
        self.assert_closed()

    def test_close_before_and_after(self):
        self.assertEqual([], self.connect(decision(True, before=True, after=True)))
        self.assert_closed()
        self.assertEqual([], self.connect(decision(False, before=True, after=True)))
        self.assert_closed()

    def check_invalid_result(self, value):
        # There is no connection to keep usable before the greeting: the
        # client gets the 451 instead of a greeting and the connection closes.
        with LogCapture() as log:
            self.assertEqual([TEMP_ERROR], self.connect(lambda: value))
        self.assertTrue(log.records, 'the invalid policy result was not logged')
        self.assertTrue(max(r.levelno for r in log.records) >= logging.WARNING)
        self.assert_closed()

    def test_invalid_result_number(self):
        self.check_invalid_result(42)

    def test_invalid_result_string(self):
        self.check_invalid_result('yes')

    def test_invalid_result_object(self):
        self.check_invalid_result(object())

    def test_max_message_size_exception(self):
        class Policy(IMTAPolicy):
            def max_message_size(self, peer):
                raise RuntimeError('size exploded')
        with LogCapture() as log:
            self.init(policy=Policy())
        self.assertEqual([TEMP_ERROR], list(self.parser.messages))
        assert_exception_logged(self, log, 'size exploded')
        self.assert_closed()


# ----------------------------------------------------------------------------
# the session API (section 4) and the parser interface it uses

class InterfaceOnlyParser(object):
    """Nothing but the parser interface of SPEC section 4: any other
    attribute the session touched would be an AttributeError."""
    __slots__ = ('calls',)
    primary_hostname = 'mx.example.com'

    def __init__(self):
        self.calls = []

    def push(self, code, text):
        self.calls.append(('push', code, text))

    def multiline_push(self, code, lines):
        self.calls.append(('multiline_push', code, list(lines)))

    def close_when_done(self):
        self.calls.append(('close_when_done',))

    def set_maximum_message_size(self, max_size):
        self.calls.append(('set_maximum_message_size', max_size))

    def switch_to_command_mode(self):
        self.calls.append(('switch_to_command_mode',))

    def switch_to_data_mode(self):
        self.calls.append(('switch_to_data_mode',))

    def switch_to_auth_login_mode(self):
        self.calls.append(('switch_to_auth_login_mode',))


class SizeLimitPolicy(IMTAPolicy):
    def max_message_size(self, peer):
        return 10


class SessionApiTest(SessionTestCase):
    def test_constructor_and_state(self):
        from pymta.statemachine import StateMachine
        parser = test_util.MockCommandParser()
        session = SMTPSession(parser, RecordingDeliverer(), None, None)
        self.assertTrue(isinstance(session.state, StateMachine))
        self.assertEqual('new', session.state.state())
        session = SMTPSession(command_parser=parser, deliverer=RecordingDeliverer(),
                              policy=IMTAPolicy(), authenticator=test_util.DummyAuthenticator())
        session.new_connection('127.0.0.1', 4567)
        self.assertEqual([GREETING], list(parser.messages))

    def test_each_session_has_its_own_state(self):
        first = test_util.CommandParserHelper()
        second = test_util.CommandParserHelper()
        first.helo()
        self.assertFalse(first.session.state is second.session.state)
        self.assertEqual('initialized', first.session.state.state())
        self.assertEqual('greeted', second.session.state.state())
        second.ehlo()
        self.assertFalse(first.session.uses_esmtp())

    def test_greeting_uses_the_peer_address_and_hostname(self):
        parser = InterfaceOnlyParser()
        session = SMTPSession(parser, RecordingDeliverer())
        session.new_connection('10.1.2.3', 2525)
        self.assertEqual([('set_maximum_message_size', None),
                          ('push', 220, 'mx.example.com Hello 10.1.2.3')], parser.calls)

    def test_reply_and_multiline_reply(self):
        self.init()
        self.session.reply(250, 'custom')
        self.session.multiline_reply(250, ['one', 'two'])
        self.assertEqual(['250 custom', '250-one', '250 two'], self.new_lines())
        self.assertEqual([(250, 'custom'), (250, ['one', 'two'])],
                         [(code, text) for code, text in self.parser.replies[-2:]])

    def test_close_connection(self):
        self.init()
        self.send_ok('HELO', 'foo')
        self.session.close_connection()
        self.assertFalse(self.parser.open)
        self.assertEqual([], self.new_lines())
        self.assertEqual('finished', self.state())
        # closing twice is harmless, commands after the close are ignored
        self.session.close_connection()
        self.assertEqual([], self.send('NOOP'))
        self.assertEqual([], self.send('MAIL FROM', '<a@example.com>'))
        self.session.handle_auth_credentials('Zm9v')
        self.assertEqual([], self.new_lines())

    def test_get_ehlo_lines(self):
        self.init()
        self.assertEqual([], list(self.session.get_ehlo_lines()))
        self.init(policy=SizeLimitPolicy(), authenticator=test_util.DummyAuthenticator())
        self.assertEqual(['SIZE 10', 'AUTH PLAIN LOGIN'], list(self.session.get_ehlo_lines()))

    def test_handle_auth_credentials_without_exchange(self):
        # the SPEC asks only for the 501 on bad base64; valid base64 outside
        # an exchange gets a 503
        self.init(authenticator=test_util.DummyAuthenticator())
        self.send_ok('EHLO', 'fnord')
        self.session.handle_auth_credentials(b64('foo'))
        self.assertEqual(['503 No AUTH LOGIN exchange in progress'], self.new_lines())
        self.session.handle_auth_credentials('*')
        self.assertEqual(['501 Garbled data sent'], self.new_lines())
        self.assertEqual('initialized', self.state())

    def test_session_uses_only_the_parser_interface(self):
        parser = InterfaceOnlyParser()
        deliverer = RecordingDeliverer()
        session = SMTPSession(parser, deliverer, policy=SizeLimitPolicy(),
                              authenticator=test_util.DummyAuthenticator())
        session.new_connection('127.0.0.1', 4567)
        session.handle_input('ehlo', 'fnord')
        session.handle_input('HELP', None)
        session.handle_input('AUTH LOGIN', None)
        session.handle_auth_credentials(b64('foo'))
        session.handle_auth_credentials(b64('foo'))
        for command, data in (('MAIL FROM', '<a@example.com> SIZE=5'),
                              ('RCPT TO', '<b@example.com>'), ('DATA', None)):
            session.handle_input(command, data)
        session.input_exceeds_limits()
        for command, data in (('MAIL FROM', '<a@example.com>'), ('RCPT TO', '<b@example.com>'),
                              ('DATA', None), ('MSGDATA', 'Hi'), ('RSET', None),
                              ('FNORD', None), ('DATA', None), ('NOOP', 'x'), ('QUIT', None)):
            session.handle_input(command, data)
        not_allowed = '503 Command "DATA" is not allowed here, expected one of ' \
            'HELP, MAIL FROM, NOOP, QUIT, RSET'
        self.assertEqual([
            ('set_maximum_message_size', 10),
            ('push', 220, 'mx.example.com Hello 127.0.0.1'),
            ('multiline_push', 250, ['mx.example.com', 'SIZE 10', 'AUTH PLAIN LOGIN', 'HELP']),
            ('multiline_push', 214, ['Commands supported',
                                     'AUTH DATA EHLO HELO HELP MAIL NOOP QUIT RCPT RSET']),
            ('switch_to_auth_login_mode',),
            ('push', 334, 'VXNlcm5hbWU6'),
            ('push', 334, 'UGFzc3dvcmQ6'),
            ('switch_to_command_mode',),
            ('push', 235, 'Authentication successful'),
            ('push', 250, 'OK'),
            ('push', 250, 'OK'),
            ('switch_to_data_mode',),
            ('push', 354, 'Enter message, ending with "." on a line by itself'),
            ('switch_to_command_mode',),
            ('push', 552, 'message exceeds fixed maximum message size'),
            ('push', 250, 'OK'),
            ('push', 250, 'OK'),
            ('switch_to_data_mode',),
            ('push', 354, 'Enter message, ending with "." on a line by itself'),
            ('switch_to_command_mode',),
            ('push', 250, 'OK'),
            ('switch_to_command_mode',),
            ('push', 250, 'Reset OK'),
            ('push', 500, 'unrecognized command "FNORD"'),
            ('push', 503, not_allowed[4:]),
            ('push', 501, "Syntactically invalid argument(s) 'x'"),
            ('push', 221, 'mx.example.com closing connection'),
            ('close_when_done',),
        ], parser.calls)
        msg, = deliverer.messages
        self.assertEqual(('Hi', 'foo', 'fnord'), (msg.msg_data, msg.username, msg.smtp_helo))


class NotAllowedAndUnknownTextTest(SessionTestCase):
    def test_503_exact_text_with_sorted_command_names(self):
        self.init(authenticator=test_util.DummyAuthenticator())
        self.assertEqual(['503 Command "DATA" is not allowed here, expected one of '
                          'EHLO, HELO, HELP, NOOP, QUIT, RSET'], self.send('DATA'))
        self.send_ok('EHLO', 'fnord')
        self.assertEqual(['503 Command "RCPT TO" is not allowed here, expected one of '
                          'AUTH LOGIN, AUTH PLAIN, HELP, MAIL FROM, NOOP, QUIT, RSET'],
                         self.send('RCPT TO', '<a@example.com>'))

    def test_command_as_sent(self):
        self.init()
        self.assert_503('data', as_sent='data')
        self.assert_503('Mail From', '<a@example.com>', as_sent='Mail From')
        self.assertEqual(['500 unrecognized command "fnord"'], self.send('fnord'))
        self.assertEqual(['500 unrecognized command "Fnord"'], self.send('Fnord', 'x'))
        self.assertEqual('greeted', self.state())


class ShortcutsAnswerLikeTheFullPathTest(SessionTestCase):
    """Without a policy the session skips building policy decisions; a
    command name known as sent skips normalising it. Both answer what the
    full path answers."""

    DIALOGUE = [('HELO', 'client.example.com'), ('MAIL FROM', '<a@example.com>'),
                ('RCPT TO', '<b@example.com>'), ('RCPT TO', '<c@example.com>'),
                ('DATA', None), ('MSGDATA', 'Subject: x\n\nHi'),
                ('MAIL FROM', '<>'), ('RSET', None), ('NOOP', None),
                ('HELP', None), ('QUIT', None)]

    def run_dialogue(self, policy):
        self.init(policy=policy)
        transcript = []
        for command, data in self.DIALOGUE:
            transcript.append((self.send(command, data), self.state()))
        return transcript, self.received()

    def test_no_policy_answers_like_the_permissive_policy(self):
        without, delivered_without = self.run_dialogue(None)
        with_policy, delivered_with = self.run_dialogue(IMTAPolicy())
        self.assertEqual(with_policy, without)
        self.assertEqual([(m.smtp_helo, m.smtp_from, m.smtp_to, m.msg_data)
                          for m in delivered_with],
                         [(m.smtp_helo, m.smtp_from, m.smtp_to, m.msg_data)
                          for m in delivered_without])
        self.assertEqual(1, len(delivered_without))

    def test_command_names_in_any_case_and_spacing(self):
        self.init()
        self.assertEqual(['250 localhost'], self.send(' helo ', 'foo'))
        self.assertEqual(['250 OK'], self.send('mail \t From', '<a@example.com>'))
        self.assertEqual(['250 OK'], self.send('RCPT  TO', '<b@example.com>'))
        self.assertEqual(['250 OK'], self.send('Noop'))
        self.assertEqual(['250 Reset OK'], self.send(' rset'))
        self.assertEqual('initialized', self.state())
        self.assertEqual(['500 unrecognized command "no op"'], self.send('no op'))


if __name__ == '__main__':
    unittest.main()


class BuildTablesTest(unittest.TestCase):
    """``Dialogue.build_tables()`` (``SMTPSession.build_tables()`` calls
    it): what a forking server builds once before it forks, so its workers
    share it."""

    def test_dialogues_use_the_tables_built_beforehand(self):
        class OwnDialogue(Dialogue):
            pass
        self.assertEqual(None, OwnDialogue.__dict__.get('_state_machine_template'))
        OwnDialogue.build_tables()
        template, schemas = OwnDialogue._state_machine_template, OwnDialogue._schemas
        OwnDialogue.build_tables()      # a second call keeps them
        self.assertTrue(OwnDialogue._state_machine_template is template)
        self.assertTrue(OwnDialogue._schemas is schemas)
        helper = test_util.CommandParserHelper()
        session = SMTPSession(helper.command_parser, helper.deliverer,
                              dialogue=OwnDialogue(helper.deliverer))
        self.assertTrue(session._dialogue._schemas is schemas)
        self.assertEqual('new', session.state.state())
        self.assertEqual(template.state(), 'new')
        # a subclass builds its own: the base class's stay as they were
        self.assertFalse(Dialogue.__dict__.get('_schemas') is schemas)

    def test_the_session_builds_the_dialogues_tables(self):
        SMTPSession.build_tables()
        self.assertTrue(Dialogue.__dict__.get('_state_machine_template') is not None)
