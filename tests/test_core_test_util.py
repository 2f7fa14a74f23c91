# -*- coding: utf-8 -*-
"""SPEC section 8, the socket-free helpers of pymta.test_util:
BlackholeDeliverer, MockCommandParser, MockChannel, DummyAuthenticator,
CommandParserHelper and CommandParserTestCase."""
from __future__ import absolute_import, print_function

import unittest
import warnings

from six.moves import queue

from pymta.api import IMTAPolicy, PolicyDecision
from pymta.model import Message, Peer
from pymta.session import SMTPSession
# imported as a module so that the TestCase classes it defines are not
# collected as tests of this module
import pymta.test_util as test_util
from .core_support import b64


class BlackholeDelivererTest(unittest.TestCase):
    def test_collects_messages_in_class_queue(self):
        deliverer = test_util.BlackholeDeliverer()
        received = test_util.BlackholeDeliverer.received_messages
        msg = Message(Peer('127.0.0.1', 4567))
        deliverer.new_message_accepted(msg)
        self.assertTrue(received.get_nowait() is msg)
        self.assertRaises(queue.Empty, received.get_nowait)

    def test_each_instantiation_replaces_the_queue(self):
        first = test_util.BlackholeDeliverer()
        first_queue = test_util.BlackholeDeliverer.received_messages
        first.new_message_accepted(Message(Peer('127.0.0.1', 1)))
        test_util.BlackholeDeliverer()
        second_queue = test_util.BlackholeDeliverer.received_messages
        self.assertFalse(first_queue is second_queue)
        self.assertTrue(second_queue.empty())
        self.assertFalse(first_queue.empty())
        self.assertTrue(hasattr(second_queue, 'put') and hasattr(second_queue, 'get_nowait'))


class MockCommandParserTest(unittest.TestCase):
    def setUp(self):
        self.parser = test_util.MockCommandParser()

    def test_initial_state(self):
        self.assertEqual('localhost', self.parser.primary_hostname)
        self.assertEqual([], list(self.parser.replies))
        self.assertEqual([], list(self.parser.messages))
        self.assertTrue(self.parser.open)

    def test_push(self):
        self.parser.push(250, 'OK')
        self.assertEqual([(250, 'OK')], [tuple(r) for r in self.parser.replies])
        self.assertEqual(['250 OK'], list(self.parser.messages))

    def test_multiline_push(self):
        self.parser.multiline_push(214, ['Commands supported', 'HELO'])
        code, lines = self.parser.replies[-1]
        self.assertEqual(214, code)
        self.assertEqual(['Commands supported', 'HELO'], list(lines))
        self.assertEqual(['214-Commands supported', '214 HELO'], list(self.parser.messages))

    def test_close_when_done(self):
        self.parser.push(221, 'bye')
        self.parser.close_when_done()
        self.assertFalse(self.parser.open)

    def test_push_after_close_is_an_assertion_error(self):
        self.parser.close_when_done()
        self.assertRaises(AssertionError, self.parser.push, 250, 'OK')
        self.assertRaises(AssertionError, self.parser.multiline_push, 250, ['a', 'b'])

    def test_parser_interface(self):
        self.parser.set_maximum_message_size(100)
        self.parser.set_maximum_message_size(None)
        self.parser.switch_to_data_mode()
        self.parser.switch_to_auth_login_mode()
        self.parser.switch_to_command_mode()
        self.assertTrue(self.parser.open)
        self.assertEqual([], list(self.parser.replies))


class MockChannelTest(unittest.TestCase):
    def test_write_records_lines(self):
        channel = test_util.MockChannel()
        self.assertEqual([], list(channel.replies))
        channel.write('220 localhost Hello 127.0.0.1\r\n')
        channel.write('250 OK\r\n')
        self.assertEqual(['220 localhost Hello 127.0.0.1\r\n', '250 OK\r\n'],
                         list(channel.replies))
        channel.close()


class DummyAuthenticatorTest(unittest.TestCase):
    def test_accepts_when_username_equals_password(self):
        authenticator = test_util.DummyAuthenticator()
        peer = Peer('127.0.0.1', 4567)
        self.assertTrue(authenticator.authenticate('foo', 'foo', peer))
        self.assertFalse(authenticator.authenticate('foo', 'bar', peer))
        self.assertFalse(authenticator.authenticate('foo', 'foo ', peer))


class CommandParserHelperTest(unittest.TestCase):
    def setUp(self):
        self.helper = test_util.CommandParserHelper()

    def test_construction_greets(self):
        self.assertTrue(isinstance(self.helper.command_parser, test_util.MockCommandParser))
        self.assertTrue(isinstance(self.helper.deliverer, test_util.BlackholeDeliverer))
        self.assertEqual([(220, 'localhost Hello 127.0.0.1')],
                         [tuple(r) for r in self.helper.command_parser.replies])
        self.assertEqual('greeted', self.helper.session.state.state())

    def test_send_returns_code_and_text(self):
        code, text = self.helper.send('HELO', 'foo')
        self.assertEqual((250, 'localhost'), (code, text))
        self.assertEqual('initialized', self.helper.session.state.state())

    def test_send_checks_first_digit(self):
        self.assertRaises(AssertionError, self.helper.send, 'MAIL FROM', '<a@example.com>')
        code, text = self.helper.send('MAIL FROM', '<a@example.com>', expected_first_digit=5)
        self.assertEqual(503, code)

    def test_send_valid_and_invalid(self):
        self.assertEqual((250, 'OK'), tuple(self.helper.send_valid('NOOP')))
        code, text = self.helper.send_invalid('DATA')
        self.assertEqual(503, code)
        self.assertTrue(text.startswith('Command "DATA" is not allowed here'), text)
        self.assertRaises(AssertionError, self.helper.send_invalid, 'NOOP')

    def test_helo_and_ehlo(self):
        self.helper.helo()
        self.assertEqual('initialized', self.helper.session.state.state())
        self.assertFalse(self.helper.session.uses_esmtp())
        helper = test_util.CommandParserHelper()
        helper.ehlo()
        self.assertEqual('initialized', helper.session.state.state())
        self.assertTrue(helper.session.uses_esmtp())
        helper.send('MAIL FROM', '<a@example.com>')
        helper.send('RCPT TO', '<b@example.com>')
        helper.send('DATA', expected_first_digit=3)
        helper.send('MSGDATA', 'Hi')
        self.assertEqual('fnord', helper.deliverer.received_messages.get_nowait().smtp_helo)

    def test_last_reply_and_check_last_code(self):
        self.helper.send('NOOP')
        self.assertEqual(tuple(self.helper.command_parser.replies[-1]),
                         tuple(self.helper.last_reply()))
        self.assertTrue('OK' in self.helper.last_server_message())
        self.assertEqual('OK', self.helper.check_last_code(250))
        self.assertRaises(AssertionError, self.helper.check_last_code, 550)

    def test_send_asserts_exactly_one_reply(self):
        class Policy(IMTAPolicy):
            def accept_helo(self, helo_string, message):
                decision = PolicyDecision(True)
                decision._close_connection_before_response = True
                return decision
        helper = test_util.CommandParserHelper(policy=Policy())
        self.assertRaises(AssertionError, helper.send, 'HELO', 'foo')
        self.assertFalse(helper.command_parser.open)

    def test_send_returns_multi_line_replies_as_one(self):
        code, lines = self.helper.send('HELP')
        self.assertEqual(214, code)
        self.assertEqual(['Commands supported',
                          'AUTH DATA EHLO HELO HELP MAIL NOOP QUIT RCPT RSET'], list(lines))

    def test_last_server_message_is_the_text(self):
        self.helper.send('NOOP')
        self.assertEqual('OK', self.helper.last_server_message())
        self.assertEqual((250, 'OK'), tuple(self.helper.last_reply()))

    def test_close_connection_asserts_the_221(self):
        self.helper.close_connection()
        # a second QUIT gets no reply: the assertion fails
        self.assertRaises(AssertionError, self.helper.close_connection)

    def test_check_reply_code(self):
        self.helper.check_reply_code(250, 'OK', 2)
        self.helper.check_reply_code(550, 'nope', 5)
        self.assertRaises(AssertionError, self.helper.check_reply_code, 550, 'nope', 2)

    def test_close_connection(self):
        self.helper.helo()
        self.helper.close_connection()
        self.assertFalse(self.helper.command_parser.open)
        self.assertEqual('221 localhost closing connection', self.helper.command_parser.messages[-1])

    def test_policy_and_authenticator(self):
        class Policy(IMTAPolicy):
            def accept_helo(self, helo_string, message):
                return False
        helper = test_util.CommandParserHelper(policy=Policy(),
                                               authenticator=test_util.DummyAuthenticator())
        code, text = helper.send_invalid('HELO', 'foo')
        self.assertEqual((550, 'Administrative Prohibition'), (code, text))
        helper.ehlo()
        self.assertEqual((235, 'Authentication successful'),
                         tuple(helper.send('AUTH PLAIN', b64('\0foo\0foo'))))

    def test_new_session(self):
        self.helper.helo()
        old_session = self.helper.session
        self.helper.new_session(authenticator=test_util.DummyAuthenticator())
        self.assertFalse(self.helper.session is old_session)
        self.assertEqual('greeted', self.helper.session.state.state())
        self.assertEqual('220 localhost Hello 127.0.0.1', self.helper.command_parser.messages[-1])
        code, lines = self.helper.send('EHLO', 'fnord')
        self.assertEqual(['localhost', 'AUTH PLAIN', 'HELP'], list(lines))

    def test_send_auth_login(self):
        helper = test_util.CommandParserHelper(authenticator=test_util.DummyAuthenticator())
        helper.ehlo()
        code, text = helper.send_auth_login(username_b64=b64('foo'), password_b64=b64('foo'))
        self.assertEqual((235, 'Authentication successful'), (code, text))
        self.assertEqual('authenticated', helper.session.state.state())


class CommandParserTestCaseTest(unittest.TestCase):
    def make_case(self):
        class Case(test_util.CommandParserTestCase):
            def test_dummy(self):
                pass
        return Case('test_dummy')

    def test_setup_send_and_teardown_quits(self):
        case = self.make_case()
        case.setUp()
        case.helo()
        self.assertEqual((250, 'OK'), tuple(case.send('MAIL FROM', '<a@example.com>')))
        case.tearDown()
        self.assertFalse(case.command_parser.open)
        self.assertEqual('221 localhost closing connection', case.command_parser.messages[-1])

    def test_teardown_after_quit(self):
        case = self.make_case()
        case.setUp()
        case.close_connection()
        n = len(case.command_parser.messages)
        case.tearDown()
        self.assertEqual(n, len(case.command_parser.messages))

    def test_setup_with_policy(self):
        class Policy(IMTAPolicy):
            def accept_helo(self, helo_string, message):
                return (False, (553, 'no'))
        case = self.make_case()
        case.setUp(policy=Policy())
        self.assertEqual((553, 'no'), tuple(case.send('HELO', 'foo', expected_first_digit=5)))
        case.tearDown()

    def test_init_with_authenticator(self):
        case = self.make_case()
        case.setUp()
        case.init(authenticator=test_util.DummyAuthenticator())
        case.ehlo()
        self.assertEqual((235, 'Authentication successful'),
                         tuple(case.send('AUTH PLAIN', b64('\0foo\0foo'))))
        self.assertEqual((235, 'Authentication successful'), tuple(case.last_reply()))
        case.tearDown()

    def test_offers_the_helper_methods(self):
        case = self.make_case()
        case.setUp()
        for name in ('send', 'send_valid', 'send_invalid', 'helo', 'ehlo', 'last_reply',
                     'last_server_message', 'check_last_code', 'check_reply_code',
                     'send_auth_login', 'close_connection', 'init'):
            self.assertTrue(callable(getattr(case, name)), name)
        self.assertTrue(isinstance(case.command_parser, test_util.MockCommandParser))
        self.assertTrue(isinstance(case.deliverer, test_util.BlackholeDeliverer))
        self.assertTrue(isinstance(case.session, SMTPSession))
        self.assertEqual([(220, 'localhost Hello 127.0.0.1')],
                         [tuple(r) for r in case.command_parser.replies])
        case.init(authenticator=test_util.DummyAuthenticator())
        case.ehlo()
        self.assertEqual((235, 'Authentication successful'), tuple(case.send_auth_login()))
        case.tearDown()
        self.assertFalse(case.command_parser.open)

    def test_runs_as_a_test_case(self):
        class Case(test_util.CommandParserTestCase):
            def setUp(self):
                super(Case, self).setUp(policy=IMTAPolicy())

            def test_transaction(self):
                self.ehlo()
                self.send('MAIL FROM', '<a@example.com>')
                self.send('RCPT TO', '<b@example.com>')
                self.send('DATA', expected_first_digit=3)
                self.send('MSGDATA', 'Hi')
                self.assert_equals('Hi', self.deliverer.received_messages.get_nowait().msg_data)
                self.assert_true(self.command_parser.open)
                Case.parsers.append(self.command_parser)

            def test_failure(self):
                self.send_invalid('NOOP')
        Case.parsers = []
        result = unittest.TestResult()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            unittest.TestSuite([Case('test_transaction'), Case('test_failure')]).run(result)
        self.assertEqual([], [str(w.message) for w in caught])
        self.assertEqual(2, result.testsRun)
        self.assertEqual([], result.errors)
        self.assertEqual(['test_failure'],
                         [test._testMethodName for test, _ in result.failures])
        parser, = Case.parsers
        # tearDown sent QUIT
        self.assertFalse(parser.open)
        self.assertEqual('221 localhost closing connection', parser.messages[-1])

    def test_assertion_methods(self):
        case = self.make_case()
        passing = [
            ('assert_equals', (1, 1)), ('assert_not_equals', (1, 2)),
            ('assert_true', (True,)), ('assert_false', (False,)),
            ('assert_trueish', (1,)), ('assert_falseish', ([],)),
            ('assert_none', (None,)), ('assert_not_none', (0,)),
            ('assert_contains', (1, [1, 2])), ('assert_not_contains', (3, [1, 2])),
            ('assert_length', (2, [1, 2])), ('assert_almost_equals', (1.0, 1.0 + 1e-9)),
            ('assert_dict_contains', ({'a': 1}, {'a': 1, 'b': 2})),
            ('assert_isinstance', (1, int)), ('assert_callable', (len,)),
            ('assert_is_empty', ([],)), ('assert_is_not_empty', ([1],)),
        ]
        failing = [
            ('assert_equals', (1, 2)), ('assert_not_equals', (1, 1)),
            ('assert_true', (False,)), ('assert_false', (True,)),
            ('assert_trueish', (0,)), ('assert_falseish', (1,)),
            ('assert_none', (0,)), ('assert_not_none', (None,)),
            ('assert_contains', (3, [1, 2])), ('assert_not_contains', (1, [1, 2])),
            ('assert_length', (3, [1, 2])), ('assert_almost_equals', (1.0, 2.0)),
            ('assert_dict_contains', ({'a': 2}, {'a': 1, 'b': 2})),
            ('assert_isinstance', ('x', int)), ('assert_callable', (1,)),
            ('assert_is_empty', ([1],)), ('assert_is_not_empty', ([],)),
        ]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            for name, args in passing:
                getattr(case, name)(*args)
            for name, args in failing:
                self.assertRaises(AssertionError, getattr(case, name), *args)
            case.assert_raises(ValueError, int, 'x')
            self.assertRaises(AssertionError, case.assert_raises, ValueError, int, '1')
        self.assertEqual([], [str(w.message) for w in caught])


if __name__ == '__main__':
    unittest.main()
