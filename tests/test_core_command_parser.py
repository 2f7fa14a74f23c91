# -*- coding: utf-8 -*-
"""SPEC section 6 (and 3, 8): pymta.command_parser.SMTPCommandParser without
sockets: framing of commands and message data, exact text on the wire, the
msg_data rules, 8-bit input, limits, and the legacy internals."""
from __future__ import absolute_import, print_function

import socket
import time
import unittest

import six

from pymta.api import IMTAPolicy
from pymta.command_parser import SMTPCommandParser
import pymta.test_util as test_util
from .core_support import PymtaLog, RecordingChannel, RecordingDeliverer, \
    SizePolicy, b64

try:
    import tracemalloc
except ImportError:  # Python 2
    tracemalloc = None


GREETING = '220 localhost Hello 127.0.0.1'
MSG_354 = '354 Enter message, ending with "." on a line by itself'
TOO_BIG = '552 message exceeds fixed maximum message size'
BYE = '221 localhost closing connection'


def native(data):
    """The msg_data the SPEC promises for these octets (section 3)."""
    if six.PY2:
        return data
    return data.decode('utf-8', 'surrogateescape')


def to_bytes(data):
    if isinstance(data, bytes):
        return data
    return data.encode('latin-1')


class ParserTestMixin(object):
    def init(self, policy=None, authenticator=None):
        self.channel = RecordingChannel()
        self.deliverer = RecordingDeliverer()
        self.parser = SMTPCommandParser(self.channel, '127.0.0.1', 4567, self.deliverer,
                                        policy=policy, authenticator=authenticator,
                                        primary_hostname='localhost')
        self.seen = 0
        self.assertEqual([GREETING], self.new_lines())

    def wire(self):
        parts = []
        for data in self.channel.written:
            if isinstance(data, bytes) and not isinstance(data, str):
                data = data.decode('latin-1')
            parts.append(data)
        return ''.join(parts)

    def all_lines(self):
        text = self.wire()
        self.assertTrue(text == '' or text.endswith('\r\n'), repr(text))
        return text.split('\r\n')[:-1]

    def new_lines(self):
        lines = self.all_lines()
        new = lines[self.seen:]
        self.seen = len(lines)
        return new

    def feed(self, *chunks):
        for chunk in chunks:
            self.parser.process_new_data(to_bytes(chunk))
        return self.new_lines()

    def start_data(self, helo='EHLO client.example.com'):
        lines = self.feed(helo + '\r\nMAIL FROM:<sender@example.com>\r\n'
                          'RCPT TO:<rcpt@example.com>\r\nDATA\r\n')
        self.assertEqual(MSG_354, lines[-1], lines)
        self.assertTrue(self.parser.is_in_data_mode())

    def messages(self):
        return self.deliverer.messages


class ParserTestCase(ParserTestMixin, unittest.TestCase):
    pass


class WireFormatTest(ParserTestCase):
    def setUp(self):
        self.init()

    def test_greeting_is_written_on_creation(self):
        self.assertEqual(GREETING + '\r\n', self.wire())

    def test_writes_text(self):
        for data in self.channel.written:
            self.assertTrue(isinstance(data, six.string_types), repr(data))
            if six.PY3:
                self.assertTrue(isinstance(data, str))

    def test_push(self):
        self.parser.push(250, 'OK')
        self.assertEqual(['250 OK'], self.new_lines())

    def test_multiline_push(self):
        self.parser.multiline_push(250, ['localhost', 'SIZE 100', 'HELP'])
        self.assertEqual(['250-localhost', '250-SIZE 100', '250 HELP'], self.new_lines())

    def test_push_without_text(self):
        self.parser.push(250)
        self.assertEqual(['250'], self.new_lines())
        self.parser.push(250, text='OK')
        self.assertEqual(['250 OK'], self.new_lines())

    def test_multiline_push_one_line(self):
        self.parser.multiline_push(214, ('only',))
        self.assertEqual(['214 only'], self.new_lines())

    def test_close_when_done_closes_the_channel(self):
        self.parser.close_when_done()
        self.assertTrue(self.channel.closed)
        self.assertEqual([], self.feed('NOOP\r\n'))

    def test_switch_methods(self):
        self.parser.switch_to_auth_login_mode()
        self.assertTrue(self.parser.is_in_auth_login_mode())
        self.parser.switch_to_data_mode()
        self.assertTrue(self.parser.is_in_data_mode())
        self.parser.switch_to_command_mode()
        self.assertTrue(self.parser.is_in_command_mode())
        self.parser.set_maximum_message_size(10)
        self.parser.set_maximum_message_size(None)
        self.assertEqual(['250 OK'], self.feed('NOOP\r\n'))

    def test_positional_policy_and_authenticator(self):
        channel = RecordingChannel()
        parser = SMTPCommandParser(channel, '127.0.0.1', 4567, RecordingDeliverer(),
                                   SizePolicy(100), test_util.DummyAuthenticator())
        parser.process_new_data(b'EHLO foo\r\nAUTH PLAIN ' + to_bytes(b64('\0foo\0foo')) + b'\r\n')
        wire = ''.join(channel.written)
        self.assertTrue('-SIZE 100\r\n' in wire, wire)
        self.assertTrue(wire.endswith('\r\n235 Authentication successful\r\n'), wire)

    def test_helo(self):
        self.assertEqual(['250 localhost'], self.feed('HELO client.example.com\r\n'))

    def test_ehlo(self):
        self.assertEqual(['250-localhost', '250 HELP'], self.feed('EHLO client.example.com\r\n'))

    def test_help(self):
        self.assertEqual(['214-Commands supported',
                          '214 AUTH DATA EHLO HELO HELP MAIL NOOP QUIT RCPT RSET'],
                         self.feed('HELP\r\n'))

    def test_quit_writes_then_closes(self):
        self.assertEqual([BYE], self.feed('QUIT\r\n'))
        self.assertTrue(self.channel.closed)
        self.assertEqual(0, self.channel.writes_after_close)

    def test_commands_case_insensitive(self):
        self.assertEqual(['250 localhost', '250 OK', '250 OK', MSG_354],
                         self.feed('helo foo\r\nmail from:<a@example.com>\r\n'
                                   'Rcpt To:<b@example.com>\r\ndata\r\n'))
        self.assertEqual(['250 OK', '250 OK', '250 Reset OK'], self.feed('Hi\r\n.\r\nnoop\r\nrset\r\n'))
        self.assertEqual([BYE], self.feed('quit\r\n'))

    def test_space_after_colon(self):
        self.assertEqual(['250 localhost', '250 OK', '250 OK'],
                         self.feed('HELO foo\r\nMAIL FROM: <a@example.com>\r\n'
                                   'RCPT TO: <b@example.com>\r\n'))

    def test_unknown_command(self):
        self.assertEqual(['500 unrecognized command "FNORD"'], self.feed('FNORD\r\n'))
        self.assertEqual(['500 unrecognized command "FNORD"'], self.feed('FNORD bar baz\r\n'))
        self.assertEqual(['250 localhost'], self.feed('HELO foo\r\n'))

    def test_503_text(self):
        lines = self.feed('MAIL FROM:<a@example.com>\r\n')
        self.assertEqual(1, len(lines))
        self.assertTrue(lines[0].startswith('503 Command "MAIL FROM" is not allowed here'), lines)
        for name in ('EHLO', 'HELO', 'HELP', 'NOOP', 'QUIT', 'RSET'):
            self.assertTrue(name in lines[0], lines)
        lines = self.feed('DATA\r\n')
        self.assertTrue(lines[0].startswith('503 Command "DATA" is not allowed here'), lines)

    def test_command_as_sent_in_500_and_503(self):
        self.assertEqual(['500 unrecognized command "fnord"'], self.feed('fnord x\r\n'))
        lines = self.feed('mail from:<a@example.com>\r\n')
        self.assertTrue(lines[0].startswith('503 Command "mail from" is not allowed here'), lines)
        lines = self.feed('Data\r\n')
        self.assertTrue(lines[0].startswith('503 Command "Data" is not allowed here'), lines)

    def test_second_helo_503(self):
        self.feed('HELO foo\r\n')
        lines = self.feed('HELO foo\r\n')
        self.assertTrue(lines[0].startswith('503 Command "HELO" is not allowed here'), lines)

    def test_known_verb_without_keyword_is_501(self):
        self.feed('EHLO foo\r\n')
        for line in ('MAIL a@example.com', 'MAIL', 'MAIL FROM:', 'AUTH'):
            lines = self.feed(line + '\r\n')
            self.assertEqual(1, len(lines), (line, lines))
            self.assertTrue(lines[0].startswith('501 '), (line, lines))
        self.feed('MAIL FROM:<a@example.com>\r\n')
        for line in ('RCPT', 'RCPT b@example.com'):
            lines = self.feed(line + '\r\n')
            self.assertTrue(lines[0].startswith('501 '), (line, lines))
        self.assertEqual(['250 OK'], self.feed('RCPT TO:<b@example.com>\r\n'))

    def test_unknown_auth_mechanism(self):
        self.feed('EHLO foo\r\n')
        self.assertEqual(['504 Unrecognized authentication type'], self.feed('AUTH CRAM-MD5\r\n'))

    def test_helo_argument_errors(self):
        for line in ('HELO', 'HELO ', 'HELO foo bar', 'EHLO', 'EHLO foo bar'):
            lines = self.feed(line + '\r\n')
            self.assertEqual(1, len(lines), (line, lines))
            self.assertTrue(lines[0].startswith('501 '), (line, lines))
        self.assertEqual(['250 localhost'], self.feed('HELO [127.0.0.1]\r\n'))

    def test_no_argument_commands_501(self):
        self.assertEqual(["501 Syntactically invalid argument(s) 'foo'"], self.feed('NOOP foo\r\n'))
        self.assertEqual(["501 Syntactically invalid argument(s) 'foo'"], self.feed('QUIT foo\r\n'))
        self.assertFalse(self.channel.closed)

    def test_connection_refused(self):
        class Policy(IMTAPolicy):
            def accept_new_connection(self, peer):
                return False
        channel = RecordingChannel()
        SMTPCommandParser(channel, '127.0.0.1', 4567, RecordingDeliverer(), policy=Policy(),
                          primary_hostname='localhost')
        self.assertEqual('554 SMTP service not available\r\n', ''.join(channel.written))
        self.assertTrue(channel.closed)

    def test_policy_exception_on_the_wire(self):
        class Policy(IMTAPolicy):
            def accept_from(self, sender, message):
                raise ValueError('policy exploded')
        self.init(policy=Policy())
        with PymtaLog():   # keep the expected traceback out of the test output
            lines = self.feed('HELO foo\r\nMAIL FROM:<a@example.com>\r\nNOOP\r\n')
        self.assertEqual(['250 localhost', '451 Temporary Local Problem: Please come back later',
                          '250 OK'], lines)
        self.assertFalse(self.channel.closed)


class PrimaryHostnameTest(unittest.TestCase):
    def test_explicit_primary_hostname(self):
        channel = RecordingChannel()
        parser = SMTPCommandParser(channel, '10.0.0.1', 25, RecordingDeliverer(),
                                   primary_hostname='mx.example.com')
        self.assertEqual('mx.example.com', parser.primary_hostname)
        self.assertEqual('220 mx.example.com Hello 10.0.0.1\r\n', ''.join(channel.written))

    def test_default_is_fqdn_looked_up_once(self):
        original = socket.getfqdn
        calls = []

        def counting_getfqdn(*args):
            calls.append(args)
            return original(*args)
        socket.getfqdn = counting_getfqdn
        try:
            channel = RecordingChannel()
            parser = SMTPCommandParser(channel, '127.0.0.1', 4567, RecordingDeliverer())
            after_creation = len(calls)
            parser.process_new_data(b'EHLO foo\r\nHELO foo\r\nNOOP\r\nHELP\r\nQUIT\r\n')
            self.assertEqual(after_creation, len(calls))
        finally:
            socket.getfqdn = original
        fqdn = socket.getfqdn()
        self.assertEqual(fqdn, parser.primary_hostname)
        wire = ''.join(channel.written)
        self.assertTrue(wire.startswith('220 %s Hello 127.0.0.1\r\n' % fqdn), wire)
        self.assertTrue(wire.endswith('221 %s closing connection\r\n' % fqdn), wire)


class ModesTest(ParserTestCase):
    def test_modes(self):
        self.init(authenticator=test_util.DummyAuthenticator())
        self.assertTrue(self.parser.is_in_command_mode())
        self.assertFalse(self.parser.is_in_data_mode())
        self.assertFalse(self.parser.is_in_auth_login_mode())
        self.feed('EHLO foo\r\nAUTH LOGIN\r\n')
        self.assertTrue(self.parser.is_in_auth_login_mode())
        self.assertFalse(self.parser.is_in_command_mode())
        self.feed(b64('foo') + '\r\n' + b64('foo') + '\r\n')
        self.assertTrue(self.parser.is_in_command_mode())
        self.start_data(helo='NOOP')
        self.assertTrue(self.parser.is_in_data_mode())
        self.assertFalse(self.parser.is_in_command_mode())
        self.feed('Hi\r\n.\r\n')
        self.assertTrue(self.parser.is_in_command_mode())
        self.assertFalse(self.parser.is_in_data_mode())

    def test_legacy_channel_attribute(self):
        self.init()
        self.assertTrue(self.parser._channel is self.channel)


class LegacyParseTest(unittest.TestCase):
    def setUp(self):
        self.parser = SMTPCommandParser(RecordingChannel(), '127.0.0.1', 4567,
                                        RecordingDeliverer(), primary_hostname='localhost')

    def parse(self, line):
        return tuple(self.parser._parser.parse(line))

    def test_command_without_parameter(self):
        self.assertEqual(('QUIT', None), self.parse('QUIT'))
        self.assertEqual(('noop', None), self.parse('noop'))
        self.assertEqual(('AUTH LOGIN', None), self.parse('AUTH LOGIN'))

    def test_command_as_sent(self):
        self.assertEqual(('helo', 'foo'), self.parse('helo foo'))
        self.assertEqual(('HELO', 'foo'), self.parse('HELO foo'))

    def test_parameter_stripped(self):
        self.assertEqual(('helo', 'foo'), self.parse('helo   foo  '))

    def test_colon_commands(self):
        self.assertEqual(('MAIL FROM', '<a@x>'), self.parse('MAIL FROM:<a@x>'))
        self.assertEqual(('MAIL FROM', '<a@x> SIZE=10'), self.parse('MAIL FROM: <a@x> SIZE=10'))
        self.assertEqual(('RCPT TO', 'a@x, b@y'), self.parse('RCPT TO:a@x, b@y'))

    def test_auth_plain(self):
        self.assertEqual(('AUTH PLAIN', 'AGZvbwBmb28='), self.parse('AUTH PLAIN AGZvbwBmb28='))

    def test_colon_without_parameter(self):
        self.assertEqual(('MAIL FROM', None), self.parse('MAIL FROM:'))
        self.assertEqual(('RCPT TO', None), self.parse('RCPT TO:  '))
        self.assertEqual(('helo', None), self.parse('helo  '))

    def test_case_and_spacing_as_sent(self):
        self.assertEqual(('mail from', '<a@x>'), self.parse('mail from:<a@x>'))
        self.assertEqual(('Rcpt To', '<a@x>'), self.parse('  Rcpt To : <a@x> '))
        self.assertEqual(('auth login', 'Zm9v'), self.parse('auth login Zm9v'))
        self.assertEqual(('AUTH', None), self.parse('AUTH'))

    def test_parse_does_not_touch_the_session(self):
        written = list(self.parser._channel.written)
        state = self.parser.session.state.state()
        self.parse('HELO foo')
        self.parse('QUIT')
        self.assertEqual(written, self.parser._channel.written)
        self.assertEqual(state, self.parser.session.state.state())


class FramingTest(ParserTestCase):
    def setUp(self):
        self.init()

    def test_command_split_over_three_chunks(self):
        self.assertEqual([], self.feed('HE'))
        self.assertEqual([], self.feed('LO fo'))
        self.assertEqual(['250 localhost'], self.feed('o\r\n'))

    def test_crlf_split_between_chunks(self):
        self.assertEqual([], self.feed('HELO foo\r'))
        self.assertEqual(['250 localhost'], self.feed('\n'))
        self.assertEqual(['250 OK'], self.feed('NOOP\r', '\nNOOP'))
        self.assertEqual(['250 OK'], self.feed('\r\n'))

    def test_one_byte_chunks(self):
        lines = []
        for char in 'HELO foo\r\nNOOP\r\n':
            lines.extend(self.feed(char))
        self.assertEqual(['250 localhost', '250 OK'], lines)

    def test_five_commands_in_one_chunk(self):
        self.assertEqual(['250 localhost', '250 OK', '250 OK', '250 OK', '250 Reset OK'],
                         self.feed('HELO foo\r\nNOOP\r\nMAIL FROM:<a@example.com>\r\n'
                                   'RCPT TO:<b@example.com>\r\nRSET\r\n'))

    def test_whole_transaction_in_one_chunk(self):
        lines = self.feed('EHLO foo\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n'
                          'DATA\r\nSubject: T\r\n\r\nHi\r\n.\r\nQUIT\r\n')
        self.assertEqual(['250-localhost', '250 HELP', '250 OK', '250 OK', MSG_354, '250 OK', BYE],
                         lines)
        self.assertEqual('Subject: T\n\nHi', self.messages()[0].msg_data)
        self.assertTrue(self.channel.closed)

    def test_bare_lf_ends_command_line(self):
        self.assertEqual(['250 localhost', '250 OK'], self.feed('HELO foo\nNOOP\n'))
        self.feed('MAIL FROM:<a@example.com>\nRCPT TO:<b@example.com>\nDATA\n')
        self.feed('Hi\r\n.\r\n')
        msg, = self.messages()
        self.assertEqual('foo', msg.smtp_helo)
        self.assertEqual('a@example.com', msg.smtp_from)
        self.assertEqual(['b@example.com'], msg.smtp_to)

    def test_crlf_not_part_of_argument(self):
        self.feed('HELO foo\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n'
                  'DATA\r\nHi\r\n.\r\n')
        msg, = self.messages()
        self.assertEqual('foo', msg.smtp_helo)

    def test_text_input(self):
        text = b'HELO foo\r\nNOOP\r\n'.decode('ascii')
        self.parser.process_new_data(text)
        self.assertEqual(['250 localhost', '250 OK'], self.new_lines())
        self.parser.process_new_data(b'MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n'
                                     b'DATA\r\n'.decode('ascii'))
        self.parser.process_new_data(b'Subject: T\r\n\r\nHi\r\n.\r\n'.decode('ascii'))
        self.assertEqual(['250 OK', '250 OK', MSG_354, '250 OK'], self.new_lines())
        self.assertEqual('Subject: T\n\nHi', self.messages()[0].msg_data)

    def test_mixed_text_and_bytes_input(self):
        self.parser.process_new_data(u'HE')
        self.parser.process_new_data(b'LO foo\r')
        self.parser.process_new_data(u'\n')
        self.assertEqual(['250 localhost'], self.new_lines())


class DataFramingTest(ParserTestCase):
    def setUp(self):
        self.init()
        self.start_data()

    def test_msg_data_rules(self):
        # smtplib's sendmail(f, t, 'Subject: T\n\nHi') sends this
        self.assertEqual(['250 OK'], self.feed('Subject: T\r\n\r\nHi\r\n.\r\n'))
        msg, = self.messages()
        self.assertEqual('Subject: T\n\nHi', msg.msg_data)
        self.assertTrue(isinstance(msg.msg_data, str))
        self.assertEqual('sender@example.com', msg.smtp_from)
        self.assertEqual(['rcpt@example.com'], msg.smtp_to)
        self.assertEqual('client.example.com', msg.smtp_helo)
        self.assertEqual('127.0.0.1', msg.peer.remote_ip)
        self.assertEqual(4567, msg.peer.remote_port)

    def test_dot_stuffing_after_a_bare_lf_is_undone(self):
        # Python 3's smtplib sends a bytes message with bare LFs unchanged but
        # still doubles the dot at the start of each of its lines.
        self.assertEqual(['250 OK'],
                         self.feed('..first\n..second\n...third\r\n.\r\n'))
        self.assertEqual('.first\n.second\n..third',
                         self.messages()[0].msg_data)

    def test_only_the_final_line_end_is_removed(self):
        self.feed('Hi\r\n\r\n\r\n.\r\n')
        self.assertEqual('Hi\n\n', self.messages()[0].msg_data)

    def test_terminator_split_at_every_position(self):
        body = 'Subject: T\r\n\r\nHi'
        tail = '\r\n.\r\n'
        for position in range(len(tail) + 1):
            self.init()
            self.start_data()
            complete = position == len(tail)
            self.assertEqual(['250 OK'] if complete else [], self.feed(body + tail[:position]))
            self.assertEqual([] if complete else ['250 OK'], self.feed(tail[position:]))
            self.assertEqual(['Subject: T\n\nHi'], [m.msg_data for m in self.messages()])
            self.assertTrue(self.parser.is_in_command_mode())

    def test_terminator_in_one_byte_chunks(self):
        lines = []
        for char in 'Hi\r\n.\r\nNOOP\r\n':
            lines.extend(self.feed(char))
        self.assertEqual(['250 OK', '250 OK'], lines)
        self.assertEqual('Hi', self.messages()[0].msg_data)

    def test_dot_unstuffing(self):
        self.feed('..leading dot\r\n...\r\n..\r\nmid.dle\r\n.\r\n')
        self.assertEqual('.leading dot\n..\n.\nmid.dle', self.messages()[0].msg_data)

    def test_stuffed_dot_split_over_chunks(self):
        self.assertEqual([], self.feed('a\r\n.'))
        self.assertEqual([], self.feed('.b\r\n.'))
        self.assertEqual([], self.feed('.\r\n'))
        self.assertEqual(['250 OK'], self.feed('.\r\n'))
        self.assertEqual('a\n.b\n.', self.messages()[0].msg_data)

    def test_dot_line_without_crlf_does_not_end_data(self):
        self.assertEqual([], self.feed('a\n.\nb\r\n. \r\n.x\r\nx.\r\n'))
        self.assertTrue(self.parser.is_in_data_mode())
        self.assertEqual(['250 OK'], self.feed('.\r\n'))
        self.assertEqual(1, len(self.messages()))
        data = self.messages()[0].msg_data
        self.assertTrue(data.startswith('a\n.\nb\n'), repr(data))
        self.assertTrue(data.endswith('\nx.'), repr(data))

    def test_empty_message(self):
        self.assertEqual(['250 OK'], self.feed('.\r\n'))
        self.assertEqual('', self.messages()[0].msg_data)
        self.assertTrue(self.parser.is_in_command_mode())

    def test_empty_message_in_same_chunk_as_data_command(self):
        self.init()
        lines = self.feed('HELO foo\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n'
                          'DATA\r\n.\r\nNOOP\r\n')
        self.assertEqual(['250 localhost', '250 OK', '250 OK', MSG_354, '250 OK', '250 OK'], lines)
        self.assertEqual('', self.messages()[0].msg_data)

    def test_empty_message_split(self):
        self.init()
        self.feed('HELO foo\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r')
        self.assertEqual([MSG_354], self.feed('\n'))
        self.assertEqual([], self.feed('.'))
        self.assertEqual([], self.feed('\r'))
        self.assertEqual(['250 OK'], self.feed('\n'))
        self.assertEqual('', self.messages()[0].msg_data)

    def test_data_and_next_command_in_one_chunk(self):
        self.assertEqual(['250 OK', BYE], self.feed('Hi\r\n.\r\nQUIT\r\n'))
        self.assertEqual('Hi', self.messages()[0].msg_data)
        self.assertTrue(self.channel.closed)

    def test_data_and_next_transaction_in_one_chunk(self):
        lines = self.feed('first\r\n.\r\nMAIL FROM:<b@example.com>\r\nRCPT TO:<c@example.com>\r\n'
                          'DATA\r\nsecond\r\n.\r\n')
        self.assertEqual(['250 OK', '250 OK', '250 OK', MSG_354, '250 OK'], lines)
        self.assertEqual(['first', 'second'], [m.msg_data for m in self.messages()])
        self.assertEqual(['rcpt@example.com'], self.messages()[0].smtp_to)
        self.assertEqual(['c@example.com'], self.messages()[1].smtp_to)

    def test_commands_inside_data_are_data(self):
        self.assertEqual([], self.feed('QUIT\r\nRSET\r\nHELO x\r\n'))
        self.assertEqual(['250 OK'], self.feed('.\r\n'))
        self.assertEqual('QUIT\nRSET\nHELO x', self.messages()[0].msg_data)
        self.assertFalse(self.channel.closed)

    def test_8bit_data(self):
        octets = bytes(bytearray(range(0x80, 0x100)))
        self.feed(b'8bit: ' + octets + b'\r\n' + b'utf-8: \xc3\xa4\xe2\x82\xac\r\n.\r\n')
        data = self.messages()[0].msg_data
        self.assertTrue(isinstance(data, str))
        expected = b'8bit: ' + octets + b'\n' + b'utf-8: \xc3\xa4\xe2\x82\xac'
        self.assertEqual(native(expected), data)
        if six.PY3:
            # every octet arrives and round-trips
            self.assertEqual(expected, data.encode('utf-8', 'surrogateescape'))
            self.assertTrue(data.endswith(u'utf-8: \xe4\u20ac'))

    def test_8bit_data_split_inside_utf8_sequence(self):
        data = b'\xc3\xa4\xe2\x82\xac\xff\r\n.\r\n'
        for i in range(len(data)):
            self.feed(data[i:i + 1])
        self.assertEqual(native(b'\xc3\xa4\xe2\x82\xac\xff'), self.messages()[0].msg_data)


class EightBitCommandTest(ParserTestCase):
    def test_8bit_helo(self):
        self.init()
        self.assertEqual(['250 localhost'], self.feed(b'HELO h\xe9llo\xff\r\n'))
        self.start_data(helo='NOOP')
        self.feed('Hi\r\n.\r\n')
        helo = self.messages()[0].smtp_helo
        self.assertEqual(native(b'h\xe9llo\xff'), helo)

    def test_8bit_in_address_does_not_break_the_session(self):
        self.init()
        self.feed('EHLO foo\r\n')
        lines = self.feed(b'MAIL FROM:<j\xf6rg@example.com>\r\n')
        self.assertEqual(1, len(lines), lines)
        self.assertTrue(lines[0][:3] in ('250', '501', '553'), lines)
        self.assertEqual(['250 OK'], self.feed('NOOP\r\n'))

    def test_8bit_unknown_command(self):
        self.init()
        lines = self.feed(b'\xff\xfe\x80\r\n')
        self.assertEqual(1, len(lines), lines)
        self.assertTrue(lines[0].startswith('500 '), lines)
        self.assertEqual(['250 OK'], self.feed('NOOP\r\n'))

    def test_every_8bit_octet_in_a_command(self):
        self.init()
        octets = bytes(bytearray(range(0x80, 0x100)))
        self.assertEqual(['250 localhost'], self.feed(b'HELO ' + octets + b'\r\n'))
        self.assertTrue(self.feed(b'HELP ' + octets + b'\r\n')[-1].startswith('214 '))
        self.start_data(helo='NOOP')
        self.assertEqual(['250 OK'], self.feed('Hi\r\n.\r\n'))
        self.assertEqual(native(octets), self.messages()[0].smtp_helo)

    def test_8bit_command_as_sent_in_the_500(self):
        # each octet as sent, escaped (issue 11: no raw 8-bit octets in replies)
        self.init()
        self.parser.process_new_data(b'\xff\xfe\x80\r\n')
        self.assertEqual('500 unrecognized command "\\xff\\xfe\\x80"\r\n',
                         self.channel.written[-1])

    def test_non_ascii_text_input(self):
        # text chunks are sent as UTF-8
        self.init()
        self.parser.process_new_data(u'HELO h\xe4\r\n')
        self.start_data(helo='NOOP')
        self.feed('Hi\r\n.\r\n')
        self.assertEqual(native(b'h\xc3\xa4'), self.messages()[0].smtp_helo)


class LineLengthTest(ParserTestCase):
    def setUp(self):
        self.init()

    def test_3000_octet_command_line(self):
        self.assertEqual(['500 Line too long'], self.feed('NOOP ' + 'x' * 2995 + '\r\n'))
        self.assertEqual(['250 localhost'], self.feed('HELO foo\r\n'))

    def test_long_line_in_chunks_gives_one_500(self):
        lines = self.feed('HELO ' + 'x' * 995)
        lines += self.feed('x' * 1000)
        lines += self.feed('x' * 1000)
        lines += self.feed('\r\nNOOP\r\n')
        self.assertEqual(['500 Line too long', '250 OK'], lines)

    def test_long_line_followed_by_commands_in_one_chunk(self):
        self.assertEqual(['500 Line too long', '250 localhost', '250 OK'],
                         self.feed('x' * 3000 + '\r\nHELO foo\r\nNOOP\r\n'))

    def test_state_unchanged_by_long_line(self):
        self.feed('HELO foo\r\nMAIL FROM:<a@example.com>\r\n')
        self.assertEqual(['500 Line too long'], self.feed('RCPT TO:<' + 'b' * 3000 + '@example.com>\r\n'))
        self.assertEqual(['250 OK'], self.feed('RCPT TO:<b@example.com>\r\n'))

    def test_line_below_limit_is_fine(self):
        lines = self.feed('HELP ' + 'x' * 1900 + '\r\n')
        self.assertTrue(lines and lines[0].startswith('214'), lines)

    def test_limit_counts_the_line_without_its_line_end(self):
        # 2048 octets before the CRLF (or bare LF) are allowed, 2049 are not;
        # the same in one chunk and split right before the line end.
        at_limit = 'HELP ' + 'x' * (2048 - 5)
        for line_end in ('\r\n', '\n'):
            self.assertEqual(['214-Commands supported'],
                             self.feed(at_limit + line_end)[:1])
            self.assertEqual(['214-Commands supported'],
                             self.feed(at_limit, line_end)[:1])
            self.assertEqual(['500 Line too long'],
                             self.feed(at_limit + 'x' + line_end))
            self.assertEqual(['500 Line too long'],
                             self.feed(at_limit + 'x', line_end))

    def test_long_data_lines_are_fine(self):
        self.init()
        self.start_data()
        line = 'y' * 10000
        self.assertEqual(['250 OK'], self.feed(line + '\r\n' + line + '\r\n.\r\n'))
        self.assertEqual(line + '\n' + line, self.messages()[0].msg_data)

    def test_long_line_not_buffered(self):
        chunk = b'x' * 65536
        if tracemalloc is not None:
            tracemalloc.start()
        try:
            for _ in range(160):   # 10 MiB without a line end
                self.parser.process_new_data(chunk)
            if tracemalloc is not None:   # Python 3: measure, too
                peak = tracemalloc.get_traced_memory()[1]
                self.assertTrue(peak < 2 * 1024 * 1024, 'peak memory %d octets' % peak)
        finally:
            if tracemalloc is not None:
                tracemalloc.stop()
        self.assertEqual(['500 Line too long', '250 OK'], self.feed('\r\nNOOP\r\n'))


class MessageSizeTest(ParserTestCase):
    def setUp(self):
        self.init(policy=SizePolicy(100))

    def test_ehlo_announces_size(self):
        self.assertEqual(['250-localhost', '250-SIZE 100', '250-AUTH PLAIN LOGIN', '250 HELP'],
                         self.feed('EHLO foo\r\n'))

    def test_size_parameter_above_limit(self):
        self.feed('EHLO foo\r\n')
        self.assertEqual([TOO_BIG], self.feed('MAIL FROM:<a@example.com> SIZE=101\r\n'))
        self.assertEqual(['250 OK'], self.feed('MAIL FROM:<a@example.com> SIZE=100\r\n'))

    def test_message_of_exactly_max_size_is_accepted(self):
        self.start_data()
        self.assertEqual(['250 OK'], self.feed('x' * 100 + '\r\n.\r\n'))
        self.assertEqual('x' * 100, self.messages()[0].msg_data)

    def test_one_octet_more_is_552(self):
        self.start_data()
        self.assertEqual([TOO_BIG], self.feed('x' * 101 + '\r\n.\r\n'))
        self.assertEqual([], self.messages())

    def test_accept_msgdata_is_not_asked_about_a_message_over_the_limit(self):
        calls = []

        class Policy(SizePolicy):
            def accept_msgdata(self, msgdata, message):
                calls.append(msgdata)
                return True
        self.init(policy=Policy(100))
        self.start_data()
        self.assertEqual([TOO_BIG], self.feed('x' * 101 + '\r\n.\r\n'))
        self.assertEqual([], calls)
        self.start_data(helo='NOOP')
        self.assertEqual(['250 OK'], self.feed('x' * 100 + '\r\n.\r\n'))
        self.assertEqual(['x' * 100], calls)

    def test_line_ends_inside_count(self):
        self.start_data()
        self.assertEqual(['250 OK'], self.feed('a' * 49 + '\r\n' + 'b' * 49 + '\r\n.\r\n'))
        self.start_data(helo='NOOP')
        self.assertEqual([TOO_BIG], self.feed('a' * 50 + '\r\n' + 'b' * 49 + '\r\n.\r\n'))
        self.assertEqual(1, len(self.messages()))

    def test_size_counted_before_unstuffing(self):
        self.start_data()
        self.assertEqual(['250 OK'], self.feed('..' + 'x' * 98 + '\r\n.\r\n'))
        self.assertEqual('.' + 'x' * 98, self.messages()[0].msg_data)
        self.start_data(helo='NOOP')
        self.assertEqual([TOO_BIG], self.feed('..' + 'x' * 99 + '\r\n.\r\n'))
        self.assertEqual(1, len(self.messages()))

    def test_too_big_then_normal_message(self):
        self.start_data()
        lines = self.feed('x' * 60 + '\r\n', 'y' * 60 + '\r\n', 'z' * 60 + '\r\n', '.\r\n')
        self.assertEqual([TOO_BIG], lines)
        self.assertEqual([], self.messages())
        self.assertTrue(self.parser.is_in_command_mode())
        # the transaction is over: no recipient, no sender
        lines = self.feed('RCPT TO:<b@example.com>\r\n')
        self.assertTrue(lines[0].startswith('503 '), lines)
        self.assertEqual(['250 OK', '250 OK', MSG_354, '250 OK'],
                         self.feed('MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n'
                                   'DATA\r\nsmall\r\n.\r\n'))
        msg, = self.messages()
        self.assertEqual('small', msg.msg_data)
        self.assertEqual(['b@example.com'], msg.smtp_to)
        self.assertEqual('client.example.com', msg.smtp_helo)

    def test_too_big_message_and_next_command_in_one_chunk(self):
        self.start_data()
        self.assertEqual([TOO_BIG, '250 OK'], self.feed('x' * 500 + '\r\n.\r\nNOOP\r\n'))

    def test_commands_inside_oversized_data_are_ignored(self):
        self.start_data()
        lines = self.feed('x' * 200 + '\r\nQUIT\r\nRSET\r\n')
        self.assertEqual([], lines)
        self.assertEqual([TOO_BIG], self.feed('HELO x\r\n.\r\n'))
        self.assertFalse(self.channel.closed)

    def test_oversized_terminator_split_at_every_position(self):
        tail = '\r\n.\r\n'
        for position in range(len(tail) + 1):
            self.init(policy=SizePolicy(100))
            self.start_data()
            complete = position == len(tail)
            self.assertEqual([TOO_BIG] if complete else [], self.feed('x' * 300 + tail[:position]))
            self.assertEqual([] if complete else [TOO_BIG], self.feed(tail[position:]))

    def test_oversized_data_not_buffered(self):
        if tracemalloc is None:
            # still check the behaviour on Python 2, without measuring memory
            self.start_data()
            for _ in range(160):
                self.parser.process_new_data(b'x' * 65535 + b'\n')
            self.assertEqual([TOO_BIG, '250 OK'], self.feed('\r\n.\r\nNOOP\r\n'))
            return
        self.init(policy=SizePolicy(1024 * 1024))
        self.start_data()
        chunk = b'x' * 65535 + b'\n'
        tracemalloc.start()
        try:
            for _ in range(320):   # 20 MiB, the limit is 1 MiB
                self.parser.process_new_data(chunk)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        self.assertTrue(peak < 6 * 1024 * 1024, 'peak memory %d octets' % peak)
        self.assertEqual([TOO_BIG, '250 OK'], self.feed('\r\n.\r\nNOOP\r\n'))


class LargeMessageTest(ParserTestCase):
    def test_large_message_in_small_chunks_is_linear(self):
        # A parser that re-scans (or re-copies) its whole buffer for every chunk
        # needs O(n^2): 16 MiB in 1 KiB chunks would take minutes. Linear work
        # takes well under a second; the budget is generous.
        self.init()
        self.start_data()
        chunk = (b'x' * 78 + b'\r\n') * 12 + b'y' * 64   # 1024 octets, no terminator
        started = time.time()
        for i in range(16 * 1024):
            self.parser.process_new_data(chunk)
            if i % 1024 == 0 and time.time() - started > 20:
                self.fail('feeding is too slow: %d chunks after %.1f s' % (i, time.time() - started))
        self.assertEqual(['250 OK'], self.feed('\r\n.\r\n'))
        self.assertTrue(time.time() - started < 30)
        self.assertEqual(16 * 1024 * (12 * 79 + 64), len(self.messages()[0].msg_data))


class SameDialogueTest(unittest.TestCase):
    """The same dialogue through CommandParserHelper (session level) and
    through SMTPCommandParser + MockChannel (wire level)."""

    # (wire line, internal command, argument, expected reply lines)
    DIALOGUE = [
        ('EHLO fnord', 'EHLO', 'fnord', ['250-localhost', '250-AUTH PLAIN', '250 HELP']),
        ('AUTH PLAIN ' + b64('\0foo\0foo'), 'AUTH PLAIN', b64('\0foo\0foo'),
            ['235 Authentication successful']),
        ('MAIL FROM:<foo@example.com>', 'MAIL FROM', '<foo@example.com>', ['250 OK']),
        ('RCPT TO:<bar@example.com>', 'RCPT TO', '<bar@example.com>', ['250 OK']),
        ('RCPT TO:<postmaster>', 'RCPT TO', '<postmaster>', ['250 OK']),
        ('NOOP', 'NOOP', None, ['250 OK']),
        ('HELP', 'HELP', None, ['214-Commands supported',
                                '214 AUTH DATA EHLO HELO HELP MAIL NOOP QUIT RCPT RSET']),
        ('DATA', 'DATA', None, [MSG_354]),
        ('Subject: T\r\n\r\nHi\r\n.', 'MSGDATA', 'Subject: T\n\nHi', ['250 OK']),
        ('MAIL FROM:<>', 'MAIL FROM', '<>', ['250 OK']),
        ('RSET', 'RSET', None, ['250 Reset OK']),
        ('NOOP fnord', 'NOOP', 'fnord', ["501 Syntactically invalid argument(s) 'fnord'"]),
        ('QUIT', 'QUIT', None, [BYE]),
    ]

    def check_message(self, msg):
        self.assertEqual('fnord', msg.smtp_helo)
        self.assertEqual('foo@example.com', msg.smtp_from)
        self.assertEqual(['bar@example.com', 'postmaster'], msg.smtp_to)
        self.assertEqual('Subject: T\n\nHi', msg.msg_data)
        self.assertEqual('foo', msg.username)

    def test_through_command_parser_helper(self):
        helper = test_util.CommandParserHelper(authenticator=test_util.DummyAuthenticator())
        parser = helper.command_parser
        self.assertEqual([GREETING], list(parser.messages))
        for line, command, data, expected in self.DIALOGUE:
            before = len(parser.messages)
            helper.session.handle_input(command, data)
            self.assertEqual(expected, list(parser.messages[before:]), line)
        self.assertFalse(parser.open)
        received = helper.deliverer.received_messages
        self.check_message(received.get_nowait())
        self.assertTrue(received.empty())

    def test_through_smtp_command_parser_and_mock_channel(self):
        channel = test_util.MockChannel()
        deliverer = RecordingDeliverer()
        parser = SMTPCommandParser(channel, '127.0.0.1', 4567, deliverer,
                                   authenticator=test_util.DummyAuthenticator(),
                                   primary_hostname='localhost')
        expected_wire = GREETING + '\r\n'
        self.assertEqual(expected_wire, ''.join(channel.replies))
        for line, command, data, expected in self.DIALOGUE:
            parser.process_new_data(to_bytes(line + '\r\n'))
            expected_wire += ''.join(reply + '\r\n' for reply in expected)
            self.assertEqual(expected_wire, ''.join(channel.replies), line)
        for reply in channel.replies:
            self.assertTrue(reply.endswith('\r\n'), repr(reply))
        msg, = deliverer.messages
        self.check_message(msg)

    def test_through_smtp_command_parser_in_one_chunk(self):
        channel = test_util.MockChannel()
        deliverer = RecordingDeliverer()
        parser = SMTPCommandParser(channel, '127.0.0.1', 4567, deliverer,
                                   authenticator=test_util.DummyAuthenticator(),
                                   primary_hostname='localhost')
        parser.process_new_data(to_bytes(''.join(line + '\r\n' for line, _, _, _ in self.DIALOGUE)))
        expected = [GREETING] + [reply for _, _, _, replies in self.DIALOGUE for reply in replies]
        self.assertEqual(''.join(reply + '\r\n' for reply in expected), ''.join(channel.replies))
        self.check_message(deliverer.messages[0])


if __name__ == '__main__':
    unittest.main()
