# -*- coding: utf-8 -*-
"""SPEC section 10: the names of pymta 0.4 and 0.5 (``pymta.compat.set``,
``ParserImplementation``, ``pymta.lib``), a session driven by the minimal
parser of the 0.5 suites, and the four details the 0.7/0.8 suites assert,
each through ``CommandParserHelper`` and ``CommandParserTestCase``."""
from __future__ import absolute_import, print_function

import ast
import os
import unittest

from pymta.api import IMTAPolicy
from pymta.command_parser import ParserImplementation, SMTPCommandParser
from pymta.compat import native_from_wire
from pymta.lib import PythonicTestCase
from pymta.session import SMTPSession
from pymta.test_util import (CommandParserHelper, CommandParserTestCase,
                             DummyAuthenticator)
from .core_support import RecordingChannel, RecordingDeliverer, b64


# --- pymta.lib: PythonicTestCase and self.super() --------------------------------
class _Base(PythonicTestCase):
    """Not collected on its own (no test method): run through ``run_case``."""

    def setUp(self, policy=None):
        self.super()
        self.calls = ['base setUp policy=%s' % (policy,)]
        self.policy = policy

    def tearDown(self):
        self.calls.append('base tearDown')
        self.super()

    def describe(self, prefix, *rest, **options):
        return ['base', prefix, rest, sorted(options.items())]

    def runTest(self):
        self.calls.append('test ran')


class _Middle(_Base):
    def setUp(self, policy='middle default'):
        self.super()        # passes its own policy on

    def tearDown(self):
        self.calls.append('middle tearDown')
        self.super()

    def describe(self, prefix, *rest, **options):
        return ['middle'] + self.super()


class _Leaf(_Middle):
    def setUp(self):
        self.super(policy='leaf')     # its own arguments

    def describe(self, prefix, *rest, **options):
        return ['leaf'] + self.super('changed', 'x', flag=True)

    def other(self):
        # another method of the parent
        return self.super.describe('via attribute')


class _Plain(PythonicTestCase):
    def runTest(self):
        pass


def run_case(case):
    result = unittest.TestResult()
    case.run(result)
    return result


class PythonicTestCaseTest(unittest.TestCase):
    def test_setup_and_teardown_call_super_two_levels_down(self):
        case = _Leaf()
        result = run_case(case)
        self.assertEqual([], result.errors + result.failures)
        self.assertEqual(1, result.testsRun)
        self.assertEqual(['base setUp policy=leaf', 'test ran',
                          'middle tearDown', 'base tearDown'], case.calls)
        self.assertEqual('leaf', case.policy)

    def test_super_without_arguments_passes_the_current_ones_on(self):
        case = _Middle()
        self.assertEqual([], run_case(case).errors)
        self.assertEqual('middle default', case.policy)
        self.assertEqual(['base setUp policy=None'], run_and_calls(_Base()))

    def test_super_passes_positional_varargs_and_keywords(self):
        case = _Middle()
        self.assertEqual(
            ['middle', 'base', 'p', (1, 2), [('k', 3)]],
            case.describe('p', 1, 2, k=3))
        self.assertEqual(
            ['leaf', 'middle', 'base', 'changed', ('x',), [('flag', True)]],
            _Leaf().describe('p', 1))

    def test_super_attribute_calls_another_method_of_the_parent(self):
        self.assertEqual(['middle', 'base', 'via attribute', (), []],
                         _Leaf().other())

    def test_super_outside_a_method_of_the_class_is_an_error(self):
        case = _Base()
        self.assertRaises(TypeError, lambda: case.super())

    def test_setup_of_pythonic_test_case_takes_any_arguments(self):
        case = _Plain()
        case.setUp('policy', authenticator=None)
        case.tearDown()

    def test_assert_raises_returns_the_exception_and_passes_keywords_on(self):
        case = _Plain()

        def fail_with(message):
            raise ValueError(message)
        error = case.assert_raises(ValueError, fail_with, message='boom')
        self.assertTrue(isinstance(error, ValueError))
        self.assertEqual(('boom',), error.args)
        calls = []
        self.assertRaises(AssertionError, case.assert_raises, ValueError,
                          calls.append, 'called once')
        self.assertEqual(['called once'], calls)

    def test_assertions_take_msg(self):
        case = _Plain()
        case.assert_equals(1, 1, msg='never shown')
        try:
            case.assert_equals(1, 2, msg='the message')
        except AssertionError as e:
            self.assertEqual('the message', str(e))
        else:
            self.fail('assert_equals(1, 2) passed')
        self.assertRaises(AssertionError, case.assert_not_equals, 1, 1)
        self.assertRaises(AssertionError, case.assert_none, 0)
        self.assertRaises(AssertionError, case.assert_contains, 3, [1, 2])
        self.assertRaises(AssertionError, case.assert_length, 2, [1])

    def test_legacy_test_cases_offer_super_too(self):
        class Case(CommandParserTestCase):
            def setUp(self):
                self.super(policy=_SizeLimit(7))

            def runTest(self):
                self.ehlo()
                self.send_invalid('MAIL FROM', '<a@example.com> SIZE=8')
        result = run_case(Case())
        self.assertEqual([], result.errors + result.failures)


def run_and_calls(case):
    run_case(case)
    return case.calls[:1]


# --- pymta.command_parser.ParserImplementation ---------------------------------
LINES_AND_PARSES = [
    ('helo foo.example.com', ('helo', 'foo.example.com')),
    ('HELO  foo ', ('HELO', 'foo')),
    ('ehlo fnord', ('ehlo', 'fnord')),
    ('MAIL FROM:<a@example.com>', ('MAIL FROM', '<a@example.com>')),
    ('mail from: <a@example.com> SIZE=10 ', ('mail from', '<a@example.com> SIZE=10')),
    ('MAIL FROM:', ('MAIL FROM', None)),
    ('RCPT TO:a@x, b@y', ('RCPT TO', 'a@x, b@y')),
    ('rcpt to:<postmaster>', ('rcpt to', '<postmaster>')),
    ('AUTH PLAIN AGZvbwBmb28=', ('AUTH PLAIN', 'AGZvbwBmb28=')),
    ('auth login', ('auth login', None)),
    ('AUTH', ('AUTH', None)),
    ('DATA', ('DATA', None)),
    ('noop  ', ('noop', None)),
    ('HELP mail', ('HELP', 'mail')),
    ('', ('', None)),
]


class ParserImplementationTest(unittest.TestCase):
    def allowed_commands_in_every_state(self):
        helper = CommandParserHelper(authenticator=DummyAuthenticator())
        yield helper.session.get_all_allowed_internal_commands()
        helper.ehlo()
        yield helper.session.get_all_allowed_internal_commands()
        helper.send('MAIL FROM', '<a@example.com>')
        yield helper.session.get_all_allowed_internal_commands()

    def test_parses_like_the_command_parsers_line_parser(self):
        command_parser = SMTPCommandParser(RecordingChannel(), '127.0.0.1', 4567,
                                           RecordingDeliverer(),
                                           primary_hostname='localhost')
        for allowed in self.allowed_commands_in_every_state():
            parser = ParserImplementation(allowed)
            self.assertTrue(parser.allowed_commands is allowed)
            for line, expected in LINES_AND_PARSES:
                self.assertEqual(expected, parser.parse(line), line)
                self.assertEqual(expected, command_parser._parser.parse(line), line)

    def test_the_command_parsers_line_parser_is_one(self):
        command_parser = SMTPCommandParser(RecordingChannel(), '127.0.0.1', 4567,
                                           RecordingDeliverer(),
                                           primary_hostname='localhost')
        self.assertTrue(isinstance(command_parser._parser, ParserImplementation))


# --- a session driven by the minimal parser of the 0.5 suites -----------------
class MinimalParser(object):
    """Only what a pymta 0.5 suite's parser had: no switch to AUTH LOGIN, no
    is_in_* methods."""

    primary_hostname = 'localhost'

    def __init__(self):
        self.replies = []
        self.open = True
        self.mode = 'command'
        self.max_size = 'never set'

    def push(self, code, text):
        assert self.open
        self.replies.append((code, text))

    def multiline_push(self, code, lines):
        assert self.open
        self.replies.append((code, list(lines)))

    def close_when_done(self):
        self.open = False

    def set_maximum_message_size(self, max_size):
        self.max_size = max_size

    def new_message_received(self, msg):
        raise AssertionError('the session delivers, not the parser')

    def switch_to_command_mode(self):
        self.mode = 'command'

    def switch_to_data_mode(self):
        self.mode = 'data'


class MinimalParserTest(unittest.TestCase):
    def new_session(self, **kwargs):
        parser = MinimalParser()
        deliverer = RecordingDeliverer()
        session = SMTPSession(parser, deliverer, **kwargs)
        session.new_connection('127.0.0.1', 4567)
        return parser, deliverer, session

    def test_a_whole_dialogue(self):
        parser, deliverer, session = self.new_session()
        self.assertEqual([(220, 'localhost Hello 127.0.0.1')], parser.replies)
        self.assertEqual(None, parser.max_size)
        session.handle_input('HELO', 'foo.example.com')
        session.handle_input('MAIL FROM', '<a@example.com>')
        session.handle_input('RCPT TO', '<b@example.com>')
        session.handle_input('DATA')
        self.assertEqual('data', parser.mode)
        session.handle_input('MSGDATA', 'Subject: hi\n\nHello')
        self.assertEqual('command', parser.mode)
        session.handle_input('MAIL FROM', '<a@example.com>')
        session.handle_input('RSET')
        session.handle_input('QUIT')
        self.assertEqual([(250, 'localhost'), (250, 'OK'), (250, 'OK'),
                          (354, 'Enter message, ending with "." on a line by itself'),
                          (250, 'OK'), (250, 'OK'), (250, 'Reset OK'),
                          (221, 'localhost closing connection')], parser.replies[1:])
        self.assertFalse(parser.open)
        self.assertEqual(1, len(deliverer.messages))
        msg = deliverer.messages[0]
        self.assertEqual(('foo.example.com', 'a@example.com', ['b@example.com'],
                          'Subject: hi\n\nHello'),
                         (msg.smtp_helo, msg.smtp_from, msg.smtp_to, msg.msg_data))

    def test_auth_plain(self):
        parser, _, session = self.new_session(policy=IMTAPolicy(),
                                              authenticator=DummyAuthenticator())
        session.handle_input('EHLO', 'fnord')
        session.handle_input('AUTH PLAIN', b64('\0foo\0foo'))
        self.assertEqual((235, 'Authentication successful'), parser.replies[-1])
        session.handle_input('MAIL FROM', '<a@example.com>')
        self.assertEqual((250, 'OK'), parser.replies[-1])


# --- the four details, through CommandParserHelper -----------------------------
class _SizeLimit(IMTAPolicy):
    def __init__(self, max_size):
        self.max_size = max_size
        self.msgdata_asked = 0

    def max_message_size(self, peer):
        return self.max_size

    def accept_msgdata(self, msgdata, message):
        self.msgdata_asked += 1
        return True


class _CustomReplies(IMTAPolicy):
    def __init__(self, reply):
        self.reply = reply

    def accept_rcpt_to(self, new_recipient, message):
        return (False, self.reply)


def _until_data(driver):
    driver.helo()
    driver.send('MAIL FROM', '<a@example.com>')
    driver.send('RCPT TO', '<b@example.com>')
    driver.send('DATA', expected_first_digit=3)


class DetailChecks(object):
    """The checks, run by a helper-based and a test-case-based class (a
    mixin: collected only through them)."""

    def test_multiline_custom_reply_is_recorded_as_returned(self):
        for lines in (('Go away', 'Evil IP'), ['Go away', 'Evil IP']):
            reply = (552, lines)
            driver = self.new_driver(policy=_CustomReplies(reply))
            driver.helo()
            driver.send('MAIL FROM', '<a@example.com>')
            code, text = driver.send_invalid('RCPT TO', '<b@example.com>')
            self.assertEqual(552, code)
            self.assertTrue(text is lines, (text, lines))
            self.assertEqual(reply, driver.last_reply())
            self.assertEqual(['552-Go away', '552 Evil IP'],
                             driver.command_parser.messages[-2:])

    def test_session_enforces_the_size_limit(self):
        policy = _SizeLimit(10)
        driver = self.new_driver(policy=policy)
        _until_data(driver)
        self.assertEqual((552, 'message exceeds fixed maximum message size'),
                         driver.send_invalid('MSGDATA', 'x' * 11))
        self.assertEqual(0, policy.msgdata_asked)
        self.assertTrue(driver.deliverer.received_messages.empty())
        # the connection goes on: the next transaction is accepted
        driver.send('MAIL FROM', '<a@example.com>')
        driver.send('RCPT TO', '<b@example.com>')
        driver.send('DATA', expected_first_digit=3)
        driver.send('MSGDATA', 'x' * 10)
        self.assertEqual(1, policy.msgdata_asked)
        self.assertEqual('x' * 10,
                         driver.deliverer.received_messages.get_nowait().msg_data)

    def test_size_limit_counts_octets(self):
        # six characters, twelve octets as the client sent them
        policy = _SizeLimit(11)
        driver = self.new_driver(policy=policy)
        _until_data(driver)
        driver.send_invalid('MSGDATA', native_from_wire(b'\xc3\xa9' * 6))
        self.assertEqual(552, driver.last_reply()[0])
        self.assertEqual(0, policy.msgdata_asked)

    def test_mail_size_asks_the_current_policy(self):
        driver = self.new_driver(policy=_SizeLimit(100))
        driver.session._policy = _SizeLimit(10)
        driver.ehlo()
        self.assertEqual((552, 'message exceeds fixed maximum message size'),
                         driver.send_invalid('MAIL FROM', '<a@example.com> SIZE=50'))
        driver.session._policy = _SizeLimit(None)
        driver.send('MAIL FROM', '<a@example.com> SIZE=50')
        driver.send('RSET')
        driver.session._policy = _SizeLimit(50)
        driver.send('MAIL FROM', '<a@example.com> SIZE=50')

    def test_handle_auth_credentials(self):
        driver = self.new_driver(policy=IMTAPolicy(),
                                 authenticator=DummyAuthenticator())
        driver.ehlo()
        self.assertEqual((334, 'VXNlcm5hbWU6'),
                         driver.send('AUTH LOGIN', expected_first_digit=3))
        self.assertEqual((334, 'UGFzc3dvcmQ6'),
                         driver._handle_auth_credentials(b64('foo')))
        self.assertEqual((235, 'Authentication successful'),
                         driver._handle_auth_credentials(b64('foo')))
        self.assertEqual((501, 'Garbled data sent'),
                         driver._handle_auth_credentials('not base64!'))
        driver.send('QUIT')
        # a closed session sends nothing: "exactly one reply" fails
        self.assertRaises(AssertionError, driver._handle_auth_credentials,
                          b64('foo'))


class HelperDetailsTest(DetailChecks, unittest.TestCase):
    def new_driver(self, policy=None, authenticator=None):
        return CommandParserHelper(policy=policy, authenticator=authenticator)


class TestCaseDetailsTest(DetailChecks, CommandParserTestCase):
    """The same through CommandParserTestCase: ``init`` starts over with a
    policy and authenticator, and the test case is the driver."""

    def new_driver(self, policy=None, authenticator=None):
        self.init(policy=policy, authenticator=authenticator)
        return self


class WireFormatTest(unittest.TestCase):
    def test_a_tuple_reply_goes_out_as_a_multiline_reply(self):
        channel = RecordingChannel()
        parser = SMTPCommandParser(channel, '127.0.0.1', 4567, RecordingDeliverer(),
                                   policy=_CustomReplies((552, ('Go away', 'Evil IP'))),
                                   primary_hostname='localhost')
        parser.process_new_data(b'HELO x\r\nMAIL FROM:<a@example.com>\r\n'
                                b'RCPT TO:<b@example.com>\r\n')
        self.assertEqual(['552-Go away\r\n', '552 Evil IP\r\n'], channel.written[-2:])

    def test_a_generator_of_lines_is_one_reply(self):
        helper = CommandParserHelper(
            policy=_CustomReplies((550, (line for line in ('a', 'b')))))
        helper.helo()
        helper.send('MAIL FROM', '<a@example.com>')
        self.assertEqual((550, ['a', 'b']), helper.send_invalid('RCPT TO', '<b@x.com>'))


class LibIsNotPartOfTheCoreTest(unittest.TestCase):
    """pymta.lib is legacy test support: only the test helpers use it."""

    def test_only_test_helpers_import_pymta_lib(self):
        import pymta
        package_dir = os.path.dirname(os.path.abspath(pymta.__file__))
        allowed = set(['test_util.py', 'server_test_helpers.py'])
        importers = []
        for name in sorted(os.listdir(package_dir)):
            if not name.endswith('.py') or name in allowed:
                continue
            with open(os.path.join(package_dir, name)) as source_file:
                tree = ast.parse(source_file.read(), name)
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module and \
                        (node.module == 'lib' or node.module.startswith('lib.') or
                         'pymta.lib' in node.module):
                    importers.append(name)
                if isinstance(node, ast.ImportFrom) and node.level and \
                        node.module is None and \
                        'lib' in [alias.name for alias in node.names]:
                    importers.append(name)
        self.assertEqual([], importers)


if __name__ == '__main__':
    unittest.main()
