# -*- coding: utf-8 -*-
"""Issue 11 (hardening), the sans-I/O core: SMTPCommandParser and SMTPSession
without sockets, octets in and the exact octets out.

- An 8-bit domain in MAIL FROM / RCPT TO gets the same 501 on Python 2 as on
  Python 3 (Python 2 used to raise UnicodeEncodeError: no reply at all).
- Replies that quote client input show non-printable and 8-bit octets as
  ``\\xNN``; printable ASCII is quoted exactly as before.
- ``max_errors`` / ``max_auth_failures``: the 421 and the close when the
  limit is reached; no limit by default.
- ``default_max_message_size``: the limit on the wire where the policy sets
  none; the policy's own limit wins; EHLO unchanged.
"""
from __future__ import absolute_import, print_function

import unittest

from pymta.api import IMTAPolicy
from pymta.command_parser import SMTPCommandParser
from pymta.compat import native_from_wire, wire_bytes
from pymta.replies import printable
from pymta.session import SMTPSession
import pymta.test_util as test_util
from .core_support import RecordingAuthenticator, RecordingChannel, \
    RecordingDeliverer, SizePolicy, b64


GREETING = b'220 localhost Hello 127.0.0.1\r\n'
EHLO_REPLY = b'250-localhost\r\n250-AUTH PLAIN\r\n250 HELP\r\n'
MSG_354 = b'354 Enter message, ending with "." on a line by itself\r\n'
TOO_BIG = b'552 message exceeds fixed maximum message size\r\n'
AUTH_OK = b'235 Authentication successful\r\n'
AUTH_BAD = b'535 Bad username or password\r\n'
TOO_MANY_ERRORS = b'421 4.7.0 localhost Error: too many errors\r\n'
TOO_MANY_AUTH_FAILURES = (b'421 4.7.0 localhost Error: too many '
                          b'authentication failures\r\n')
UNKNOWN_FOO = b'500 unrecognized command "FOO"\r\n'
OK = b'250 OK\r\n'


class ParserMixin(object):
    """Drives one SMTPCommandParser; ``feed`` returns the octets written in
    answer (as a client would read them off the wire)."""

    def init(self, policy=None, authenticator=None, **limits):
        self.channel = RecordingChannel(fail_after_close=True)
        self.deliverer = RecordingDeliverer()
        self.parser = SMTPCommandParser(
            self.channel, '127.0.0.1', 4567, self.deliverer, policy=policy,
            authenticator=authenticator, primary_hostname='localhost',
            **limits)
        self.seen = 0
        self.assertEqual(GREETING, self.wire_since_last())

    def wire_since_last(self):
        written = self.channel.written[self.seen:]
        self.seen = len(self.channel.written)
        return b''.join([wire_bytes(text) for text in written])

    def feed(self, data):
        self.parser.process_new_data(data)
        return self.wire_since_last()

    def ehlo(self):
        self.assertEqual(EHLO_REPLY, self.feed(b'EHLO client.example.com\r\n'))

    def assert_closed_after(self, data, expected):
        self.assertEqual(expected, self.feed(data))
        self.assertTrue(self.channel.closed)
        # nothing more is answered (the channel would raise on a write)
        self.assertEqual(b'', self.feed(b'NOOP\r\nFOO\r\n'))


def escaped(octets):
    """What the reply shows for ``octets``: printable ASCII as it is, every
    other octet as \\xNN."""
    return b''.join([bytes(bytearray([o])) if 0x20 <= o <= 0x7e
                     else ('\\x%02x' % o).encode('ascii')
                     for o in bytearray(octets)])


class EightBitDomainTest(ParserMixin, unittest.TestCase):
    def setUp(self):
        self.init(authenticator=test_util.DummyAuthenticator())
        self.ehlo()

    def test_mail_from_8bit_domain_is_501(self):
        self.assertEqual(
            b'501 Invalid character "\\xff" in domain "b\\xff.com".\r\n',
            self.feed(b'MAIL FROM:<a@b\xff.com>\r\n'))
        # the connection goes on, the state did not change
        self.assertEqual(OK, self.feed(b'NOOP\r\n'))
        self.assertEqual(OK, self.feed(b'MAIL FROM:<a@b.com>\r\n'))

    def test_rcpt_to_8bit_domain_is_501(self):
        self.assertEqual(OK, self.feed(b'MAIL FROM:<a@b.com>\r\n'))
        self.assertEqual(
            b'501 Invalid character "\\xff" in domain "b\\xff.com".\r\n',
            self.feed(b'RCPT TO:<a@b\xff.com>\r\n'))
        self.assertEqual(OK, self.feed(b'RCPT TO:<a@b.com>\r\n'))
        self.assertEqual(MSG_354, self.feed(b'DATA\r\n'))
        self.assertEqual(OK, self.feed(b'Hi\r\n.\r\n'))
        self.assertEqual(['a@b.com'], self.deliverer.messages[0].smtp_to)

    def test_utf8_character_is_named_whole(self):
        # Python 3 names the character; Python 2 the same octets
        self.assertEqual(
            b'501 Invalid character "\\xc3\\xa4" in domain '
            b'"b\\xc3\\xa4.com".\r\n',
            self.feed(b'MAIL FROM:<a@b\xc3\xa4.com>\r\n'))
        self.assertEqual(
            b'501 Invalid character "\\xf0\\x9f\\x98\\x80" in domain '
            b'"\\xf0\\x9f\\x98\\x80.com".\r\n',
            self.feed(b'MAIL FROM:<a@\xf0\x9f\x98\x80.com>\r\n'))

    def test_invalid_utf8_is_named_octet_by_octet(self):
        # not UTF-8: the first octet alone (a surrogate escape on Python 3)
        self.assertEqual(OK, self.feed(b'MAIL FROM:<a@b.com>\r\n'))
        for octets in (b'\xc3(', b'\xe2\x82', b'\xed\xa0\x80', b'\xc0\xaf',
                       b'\xf4\x90\x80\x80'):
            self.assertEqual(
                b'501 Invalid character "' + escaped(octets[:1]) +
                b'" in domain "b' + escaped(octets) + b'.com".\r\n',
                self.feed(b'RCPT TO:<a@b' + octets + b'.com>\r\n'),
                octets)

    def test_8bit_domain_with_dot_errors(self):
        self.assertEqual(
            b'501 Invalid domain: "b\\xff.com." must not end with a dot.\r\n',
            self.feed(b'MAIL FROM:<a@b\xff.com.>\r\n'))
        self.assertEqual(
            b'501 Invalid domain: ".b\\xff.com" must not start with a '
            b'dot.\r\n',
            self.feed(b'MAIL FROM:<a@.b\xff.com>\r\n'))
        self.assertEqual(
            b'501 Invalid domain: "b\\xff..com" must not contain '
            b'consecutive dots.\r\n',
            self.feed(b'MAIL FROM:<a@b\xff..com>\r\n'))

    def test_ascii_domain_errors_unchanged(self):
        self.assertEqual(
            b'501 Invalid character "_" in domain "b_c.com".\r\n',
            self.feed(b'MAIL FROM:<a@b_c.com>\r\n'))
        self.assertEqual(
            b'501 Missing domain in email address "a@".\r\n',
            self.feed(b'MAIL FROM:<a@>\r\n'))
        self.assertEqual(
            b"501 An email address must contain a single '@'.\r\n",
            self.feed(b'MAIL FROM:<a@b@c.com>\r\n'))

    def test_8bit_local_part_is_still_accepted(self):
        self.assertEqual(OK, self.feed(b'MAIL FROM:<j\xf6rg@example.com>\r\n'))
        self.assertEqual(OK, self.feed(b'RCPT TO:<j\xc3\xb6rg@example.com>\r\n'))


class PrintableTest(unittest.TestCase):
    def test_printable_ascii_is_returned_as_it_is(self):
        text = ''.join(chr(c) for c in range(0x20, 0x7f))
        self.assertTrue(printable(text) is text)
        self.assertTrue(printable('') == '')

    def test_every_other_octet_is_escaped(self):
        for octet in list(range(0x20)) + list(range(0x7f, 0x100)):
            text = native_from_wire(bytes(bytearray([octet])))
            self.assertEqual('a\\x%02xb' % octet, printable('a' + text + 'b'))

    def test_non_ascii_text_is_escaped_as_its_utf8(self):
        self.assertEqual('h\\xc3\\xa4', printable(u'h\xe4'))
        self.assertEqual('h\\xc3\\xa4',
                         printable(native_from_wire(b'h\xc3\xa4')))

    def test_backslashes_stay(self):
        self.assertEqual('a\\x1b\\x1b', printable('a\\x1b\x1b'))


class EscapedEchoTest(ParserMixin, unittest.TestCase):
    def setUp(self):
        self.init(authenticator=test_util.DummyAuthenticator())

    def test_escape_sequence_in_unknown_command(self):
        self.assertEqual(
            b'500 unrecognized command "\\x1b[31mRED\\x1b[0m"\r\n',
            self.feed(b'\x1b[31mRED\x1b[0m\r\n'))

    def test_nul_bel_8bit_and_cr_in_unknown_command(self):
        self.assertEqual(b'500 unrecognized command "A\\x00B"\r\n',
                         self.feed(b'A\x00B\r\n'))
        self.assertEqual(b'500 unrecognized command "A\\x07B"\r\n',
                         self.feed(b'A\x07B\r\n'))
        self.assertEqual(b'500 unrecognized command "A\\xffB"\r\n',
                         self.feed(b'A\xffB\r\n'))
        self.assertEqual(b'500 unrecognized command "A\\xc3\\xa4B"\r\n',
                         self.feed(b'A\xc3\xa4B\r\n'))
        # a bare CR is part of the line (only CRLF or LF ends it), but it
        # separates the command from its argument
        self.assertEqual(b'500 unrecognized command "A"\r\n',
                         self.feed(b'A\rB\r\n'))
        self.assertEqual(
            b"501 Syntactically invalid argument(s) 'A\\x0dB'\r\n",
            self.feed(b'NOOP A\rB\r\n'))
        self.assertEqual(b'500 unrecognized command "A\\x7fB"\r\n',
                         self.feed(b'A\x7fB\n'))

    def test_not_allowed_command_is_escaped(self):
        self.assertEqual(
            b'503 Command "MAIL\\x0dFROM" is not allowed here, expected one '
            b'of EHLO, HELO, HELP, NOOP, QUIT, RSET\r\n',
            self.feed(b'MAIL\rFROM:<a@b.com>\r\n'))
        self.assertEqual(
            b'503 Command "RCPT\\x09TO" is not allowed here, expected one '
            b'of EHLO, HELO, HELP, NOOP, QUIT, RSET\r\n',
            self.feed(b'RCPT\tTO:<a@b.com>\r\n'))
        self.assertEqual(
            b'503 Command "mail\\x0bfrom" is not allowed here, expected one '
            b'of EHLO, HELO, HELP, NOOP, QUIT, RSET\r\n',
            self.feed(b'mail\x0bfrom:<a@b.com>\r\n'))

    def test_validation_errors_are_escaped(self):
        self.ehlo()
        self.assertEqual(b'501 Invalid extension: "X\\x1b=1"\r\n',
                         self.feed(b'MAIL FROM:<a@b.com> X\x1b=1\r\n'))
        self.assertEqual(b'501 Invalid extension: "SIZE=1 X\\xff=\\x00"\r\n',
                         self.feed(b'MAIL FROM:<a@b.com> SIZE=1 X\xff=\x00\r\n'))
        self.assertEqual(b'501 Invalid arguments: "FOO\\x07"\r\n',
                         self.feed(b'MAIL FROM:<a@b.com> FOO\x07\r\n'))
        self.assertEqual(
            b"501 Syntactically invalid argument(s) 'a\\x00\\xffb'\r\n",
            self.feed(b'NOOP a\x00\xffb\r\n'))
        self.assertEqual(
            b'501 Invalid character "\\x1b" in domain "b\\x1b.com".\r\n',
            self.feed(b'MAIL FROM:<a@b\x1b.com>\r\n'))
        self.assertEqual(
            b'501 Invalid character "\\x00" in email address '
            b'"a\\x00@[127.0.0.1]".\r\n',
            self.feed(b'MAIL FROM:<a\x00@[127.0.0.1]>\r\n'))

    def test_every_non_printable_octet_in_an_argument(self):
        self.ehlo()
        octets = bytes(bytearray([o for o in range(0x100)
                                  if not 0x20 <= o <= 0x7e and o != 0x0a]))
        self.assertEqual(
            b"501 Syntactically invalid argument(s) 'a" + escaped(octets) +
            b"z'\r\n",
            self.feed(b'RSET a' + octets + b'z\r\n'))

    def test_printable_ascii_is_quoted_exactly_as_before(self):
        self.ehlo()
        printable_ascii = bytes(bytearray(range(0x21, 0x7f)))
        self.assertEqual(
            b"501 Syntactically invalid argument(s) 'a " + printable_ascii +
            b"'\r\n",
            self.feed(b'NOOP a ' + printable_ascii + b'\r\n'))
        self.assertEqual(b'500 unrecognized command "F\\OO"\r\n',
                         self.feed(b'F\\OO\r\n'))
        self.assertEqual(b'500 unrecognized command "\\x1b"\r\n',
                         self.feed(b'\\x1b\r\n'))
        self.assertEqual(b'501 Invalid extension: "FNORD=INVALID"\r\n',
                         self.feed(b'MAIL FROM:<a@b.com> FNORD=INVALID\r\n'))
        self.assertEqual(
            b'503 Command "data" is not allowed here, expected one of AUTH '
            b'LOGIN, AUTH PLAIN, HELP, MAIL FROM, NOOP, QUIT, RSET\r\n',
            self.feed(b'data\r\n'))

    def test_custom_policy_replies_are_left_alone(self):
        class Policy(IMTAPolicy):
            def accept_helo(self, helo_string, message):
                return (False, (550, 'no \x1b[1m%s\x1b[0m' % helo_string))
        self.init(policy=Policy())
        self.assertEqual(b'550 no \x1b[1mx\x1b[0m\r\n', self.feed(b'HELO x\r\n'))


class ErrorLimitTest(ParserMixin, unittest.TestCase):
    def test_limit_reached_exactly_at_n(self):
        self.init(max_errors=3)
        self.assertEqual(UNKNOWN_FOO, self.feed(b'FOO\r\n'))
        self.assertEqual(UNKNOWN_FOO, self.feed(b'FOO\r\n'))
        # N-1 errors: the session goes on
        self.assertEqual(b'250 localhost\r\n', self.feed(b'HELO x\r\n'))
        self.assertFalse(self.channel.closed)
        self.assert_closed_after(b'FOO\r\n', UNKNOWN_FOO + TOO_MANY_ERRORS)

    def test_every_kind_of_error_counts(self):
        self.init(authenticator=test_util.DummyAuthenticator(), max_errors=9)
        replies = [
            (b'FOO\r\n', UNKNOWN_FOO),
            (b'MAIL x@y\r\n',
             b'501 Syntax: MAIL FROM:<address> [SIZE=<octets>]\r\n'),
            (b'DATA\r\n', b'503 Command "DATA" is not allowed here, '
             b'expected one of EHLO, HELO, HELP, NOOP, QUIT, RSET\r\n'),
            (b'EHLO client.example.com\r\n', EHLO_REPLY),
            (b'AUTH FOO\r\n', b'504 Unrecognized authentication type\r\n'),
            (b'A' * 3000 + b'\r\n', b'500 Line too long\r\n'),
            (b'AUTH PLAIN !!!!\r\n', b'501 Garbled data sent\r\n'),
            (b'AUTH LOGIN\r\n', b'334 VXNlcm5hbWU6\r\n'),
            (b'!!!!\r\n', b'501 Garbled data sent\r\n'),
            (b'NOOP x\r\n', b"501 Syntactically invalid argument(s) 'x'\r\n"),
            (b'MAIL FROM:<a@b.com>\r\n', OK),
        ]
        for data, expected in replies:
            self.assertEqual(expected, self.feed(data), data)
        self.assertFalse(self.channel.closed)
        # the ninth
        self.assert_closed_after(b'MAIL FROM:<a@b.com>\r\n',
                                 b'503 Command "MAIL FROM" is not allowed '
                                 b'here, expected one of HELP, NOOP, QUIT, '
                                 b'RCPT TO, RSET\r\n' + TOO_MANY_ERRORS)

    def test_pipelined_commands_after_the_limit_get_no_reply(self):
        self.init(max_errors=2)
        self.assertEqual(UNKNOWN_FOO * 2 + TOO_MANY_ERRORS,
                         self.feed(b'FOO\r\nFOO\r\nNOOP\r\nFOO\r\n'))
        self.assertTrue(self.channel.closed)

    def test_line_too_long_reaches_the_limit(self):
        self.init(max_errors=2)
        self.assertEqual(b'500 Line too long\r\n',
                         self.feed(b'x' * 5000 + b'\r\n'))
        # (answered once its end arrives)
        self.assertEqual(b'', self.feed(b'x' * 3000))
        self.assert_closed_after(b'x\r\n', b'500 Line too long\r\n' +
                                 TOO_MANY_ERRORS)

    def test_line_too_long_in_auth_login_reaches_the_limit(self):
        self.init(authenticator=test_util.DummyAuthenticator(), max_errors=1)
        self.ehlo()
        self.assertEqual(b'334 VXNlcm5hbWU6\r\n', self.feed(b'AUTH LOGIN\r\n'))
        self.assert_closed_after(b'x' * 3000 + b'\r\n',
                                 b'500 Line too long\r\n' + TOO_MANY_ERRORS)

    def test_rejections_and_auth_failures_are_not_errors(self):
        class Policy(IMTAPolicy):
            def accept_rcpt_to(self, new_recipient, message):
                return False
        self.init(policy=Policy(),
                  authenticator=test_util.DummyAuthenticator(), max_errors=1)
        self.assertEqual(
            b'250-localhost\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n',
            self.feed(b'EHLO client.example.com\r\n'))
        self.assertEqual(AUTH_BAD, self.feed(
            b'AUTH PLAIN ' + b64('\0a\0b').encode('ascii') + b'\r\n'))
        self.assertEqual(OK, self.feed(b'MAIL FROM:<a@b.com>\r\n'))
        for _ in range(5):
            self.assertEqual(b'550 relay not permitted\r\n',
                             self.feed(b'RCPT TO:<a@b.com>\r\n'))
        self.assert_closed_after(b'FOO\r\n', UNKNOWN_FOO + TOO_MANY_ERRORS)

    def test_off_by_default(self):
        self.init()
        self.assertEqual(UNKNOWN_FOO * 200, self.feed(b'FOO\r\n' * 200))
        self.assertEqual(b'500 Line too long\r\n' * 30,
                         self.feed((b'x' * 3000 + b'\r\n') * 30))
        self.assertFalse(self.channel.closed)

    def test_session_with_mock_parser(self):
        parser = test_util.MockCommandParser()
        session = SMTPSession(parser, test_util.BlackholeDeliverer(),
                              max_errors=2)
        session.new_connection('127.0.0.1', 4567)
        session.handle_input('FOO')
        self.assertTrue(parser.open)
        session.handle_input('BAR')
        self.assertEqual([(220, 'localhost Hello 127.0.0.1'),
                          (500, 'unrecognized command "FOO"'),
                          (500, 'unrecognized command "BAR"'),
                          (421, '4.7.0 localhost Error: too many errors')],
                         parser.replies)
        self.assertFalse(parser.open)
        session.handle_input('NOOP')
        self.assertEqual(4, len(parser.replies))

    def test_session_limits_off_by_default(self):
        helper = test_util.CommandParserHelper(
            authenticator=test_util.DummyAuthenticator())
        for _ in range(50):
            helper.send_invalid('FOO')
        helper.ehlo()
        for _ in range(50):
            helper.send('AUTH PLAIN', b64('\0a\0b'), expected_first_digit=5)
        self.assertTrue(helper.command_parser.open)
        helper.close_connection()


class AuthFailureLimitTest(ParserMixin, unittest.TestCase):
    def setUp(self):
        self.authenticator = RecordingAuthenticator()
        self.init(authenticator=self.authenticator, max_auth_failures=3)
        self.ehlo()

    def auth_plain(self, username, password):
        return self.feed(b'AUTH PLAIN ' + b64('\0%s\0%s' % (
            username, password)).encode('ascii') + b'\r\n')

    def auth_login(self, username, password):
        return self.feed(
            b'AUTH LOGIN\r\n' + b64(username).encode('ascii') + b'\r\n' +
            b64(password).encode('ascii') + b'\r\n')

    def test_auth_plain_limit(self):
        self.assertEqual(AUTH_BAD, self.auth_plain('a', 'b'))
        self.assertEqual(AUTH_BAD, self.auth_plain('a', 'c'))
        self.assertFalse(self.channel.closed)
        self.assertEqual(OK, self.feed(b'NOOP\r\n'))
        self.assertEqual(AUTH_BAD + TOO_MANY_AUTH_FAILURES,
                         self.auth_plain('a', 'd'))
        self.assertTrue(self.channel.closed)
        self.assertEqual(b'', self.auth_plain('a', 'a'))
        self.assertEqual(3, len(self.authenticator.calls))

    def test_auth_login_limit(self):
        prompts = b'334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n'
        self.assertEqual(prompts + AUTH_BAD, self.auth_login('a', 'b'))
        self.assertEqual(prompts + AUTH_BAD, self.auth_login('a', 'c'))
        self.assertFalse(self.channel.closed)
        self.assertEqual(prompts + AUTH_BAD + TOO_MANY_AUTH_FAILURES,
                         self.auth_login('a', 'd'))
        self.assertTrue(self.channel.closed)
        self.assertEqual(b'', self.feed(b'NOOP\r\n'))

    def test_plain_and_login_count_together(self):
        self.assertEqual(AUTH_BAD, self.auth_plain('a', 'b'))
        self.auth_login('a', 'c')
        self.assert_closed_after(
            b'AUTH PLAIN ' + b64('\0a\0d').encode('ascii') + b'\r\n',
            AUTH_BAD + TOO_MANY_AUTH_FAILURES)

    def test_success_below_the_limit(self):
        self.assertEqual(AUTH_BAD, self.auth_plain('a', 'b'))
        self.assertEqual(AUTH_BAD, self.auth_plain('a', 'c'))
        self.assertEqual(AUTH_OK, self.auth_plain('a', 'a'))
        self.assertEqual(OK, self.feed(b'MAIL FROM:<a@b.com>\r\n'))

    def test_garbled_and_cancelled_are_errors_not_failures(self):
        for _ in range(5):
            self.assertEqual(b'501 Garbled data sent\r\n',
                             self.feed(b'AUTH PLAIN !!!!\r\n'))
            self.assertEqual(b'334 VXNlcm5hbWU6\r\n501 Authentication '
                             b'cancelled\r\n', self.feed(b'AUTH LOGIN\r\n*\r\n'))
        self.assertFalse(self.channel.closed)
        self.assertEqual(0, len(self.authenticator.calls))

    def test_off_by_default(self):
        self.init(authenticator=self.authenticator)
        self.ehlo()
        for _ in range(30):
            self.assertEqual(AUTH_BAD, self.auth_plain('a', 'b'))
        self.assertFalse(self.channel.closed)
        self.assertEqual(AUTH_OK, self.auth_plain('a', 'a'))


class DefaultMessageSizeTest(ParserMixin, unittest.TestCase):
    def send_message(self, body):
        self.assertEqual(OK, self.feed(b'MAIL FROM:<a@b.com>\r\n'))
        self.assertEqual(OK, self.feed(b'RCPT TO:<c@d.com>\r\n'))
        self.assertEqual(MSG_354, self.feed(b'DATA\r\n'))
        return self.feed(body + b'\r\n.\r\n')

    def test_applies_without_a_policy(self):
        self.init(default_max_message_size=10)
        self.assertEqual(b'250 localhost\r\n', self.feed(b'HELO x\r\n'))
        self.assertEqual(OK, self.send_message(b'x' * 10))
        self.assertEqual(TOO_BIG, self.send_message(b'x' * 11))
        self.assertEqual(TOO_BIG, self.send_message(b'x' * 100000))
        # the connection stays usable
        self.assertEqual(OK, self.send_message(b'y' * 9))
        self.assertEqual([b'x' * 10, b'y' * 9],
                         [wire_bytes(m.msg_data)
                          for m in self.deliverer.messages])

    def test_applies_when_the_policy_says_none(self):
        self.init(policy=SizePolicy(None), default_max_message_size=10)
        self.feed(b'HELO x\r\n')
        self.assertEqual(TOO_BIG, self.send_message(b'x' * 11))
        self.assertEqual(OK, self.send_message(b'x' * 10))

    def test_a_larger_policy_limit_wins(self):
        self.init(policy=SizePolicy(20), default_max_message_size=10)
        self.feed(b'HELO x\r\n')
        self.assertEqual(OK, self.send_message(b'x' * 20))
        self.assertEqual(TOO_BIG, self.send_message(b'x' * 21))

    def test_a_smaller_policy_limit_wins(self):
        self.init(policy=SizePolicy(5), default_max_message_size=10)
        self.feed(b'HELO x\r\n')
        self.assertEqual(OK, self.send_message(b'x' * 5))
        self.assertEqual(TOO_BIG, self.send_message(b'x' * 8))

    def test_ehlo_unchanged(self):
        for policy, expected in (
                (None, EHLO_REPLY),
                (SizePolicy(None),
                 b'250-localhost\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n'),
                (SizePolicy(20), b'250-localhost\r\n250-SIZE 20\r\n'
                                 b'250-AUTH PLAIN LOGIN\r\n250 HELP\r\n')):
            self.init(policy=policy,
                      authenticator=test_util.DummyAuthenticator(),
                      default_max_message_size=10)
            self.assertEqual(expected, self.feed(b'EHLO x\r\n'))

    def test_no_limit_by_default(self):
        self.init()
        self.feed(b'HELO x\r\n')
        self.assertEqual(OK, self.send_message(b'x' * (1024 * 1024)))


if __name__ == '__main__':
    unittest.main()
