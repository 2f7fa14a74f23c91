# -*- coding: utf-8 -*-
"""The transcript (``pymta.transcript``) of SMTPConnection: every reader
(command lines, DATA, BDAT, the lines of AUTH LOGIN and CRAM-MD5, STARTTLS),
the masking of credentials (the password in no record, in no encoding), the
escaping of client input, the same transcript however the input is split,
and nothing at all (the logger asked once) with DEBUG off."""
from __future__ import absolute_import

import logging
import unittest

from pymta.command_parser import SMTPCommandParser
from pymta.connection import SMTPConnection
from pymta.cram_md5 import cram_md5_digest
from pymta.transcript import LOGGER_NAME, MAX_SHOWN_OCTETS, escape, \
    peer_name
from pymta.warm_up import prepare_core
from .core_support import RecordingChannel, RecordingDeliverer, b64
from .test_core_cram_md5 import CHALLENGE, CHALLENGE_B64, CramMd5Policy, \
    SecretsAuthenticator, fixed_challenge
from .transcript_support import capture_transcript


PEER = '127.0.0.1:4567'
USER = 'alice'
PASSWORD = 'Open-Sesame-4711'
PLAIN_BLOB = b64('\0%s\0%s' % (USER, PASSWORD))
#: every encoding of the password a record must not hold
SECRETS = (PASSWORD, b64(PASSWORD), PLAIN_BLOB, b64(USER + '\0' + PASSWORD),
           cram_md5_digest(PASSWORD, CHALLENGE),
           b64(USER + ' ' + cram_md5_digest(PASSWORD, CHALLENGE)))

GREETING = [PEER + ' connected', PEER + ' > 220 localhost Hello 127.0.0.1']
EHLO = [PEER + ' < EHLO client.example', PEER + ' > 250-localhost',
        PEER + ' > 250-AUTH CRAM-MD5 PLAIN LOGIN']


def new_connection(**options):
    """A started connection with AUTH (alice's PASSWORD; CRAM-MD5 with the
    fixed CHALLENGE)."""
    options.setdefault('policy', CramMd5Policy())
    options.setdefault('authenticator',
                       SecretsAuthenticator({USER: PASSWORD}))
    connection = SMTPConnection(RecordingDeliverer(), **options)
    connection.dialogue.cram_md5_challenge = fixed_challenge
    connection.start('127.0.0.1', 4567)
    return connection


def feed(connection, *lines):
    """Each line with CRLF, one receive_data each; the replies taken."""
    for line in lines:
        if not isinstance(line, bytes):
            line = line.encode('latin-1')
        connection.receive_data(line + b'\r\n')
        connection.data_to_send()


def ehlo_lines(*extensions):
    return EHLO + [PEER + ' > 250-' + name for name in extensions] + \
        [PEER + ' > 250 HELP']


class TranscriptTestCase(unittest.TestCase):
    def setUp(self):
        self.capture = capture_transcript(self)

    def lines(self):
        return self.capture.lines()

    def assert_transcript(self, expected):
        self.assertEqual(expected, self.lines())
        self.assert_no_secret_and_printable()

    def assert_no_secret_and_printable(self):
        everything = self.capture.everything()
        for secret in SECRETS:
            self.assertFalse(secret in everything, secret)
        self.assertFalse('sesame' in everything.lower())
        for line in self.lines():
            self.assertTrue(all(' ' <= char <= '~' for char in line),
                            repr(line))


class CommandTranscriptTest(TranscriptTestCase):
    def test_a_session_of_commands(self):
        connection = new_connection()
        feed(connection, 'EHLO client.example', 'MAIL FROM:<me@example.com>',
             'RCPT TO:<you@example.com>', 'RSET', 'NOOP', 'QUIT')
        connection.connection_closed()
        self.assert_transcript(GREETING + ehlo_lines() + [
            PEER + ' < MAIL FROM:<me@example.com>',
            PEER + ' > 250 OK',
            PEER + ' < RCPT TO:<you@example.com>',
            PEER + ' > 250 OK',
            PEER + ' < RSET',
            PEER + ' > 250 Reset OK',
            PEER + ' < NOOP',
            PEER + ' > 250 OK',
            PEER + ' < QUIT',
            PEER + ' > 221 localhost closing connection',
            PEER + ' closed (by the server)',
        ])

    def test_the_reason_of_the_driver_is_logged_once(self):
        connection = new_connection()
        feed(connection, 'HELO client.example')
        connection.connection_closed('the client closed the connection')
        connection.connection_closed('again')
        self.assertEqual([
            PEER + ' < HELO client.example',
            PEER + ' > 250 localhost',
            PEER + ' closed (the client closed the connection)',
        ], self.lines()[2:])

    def test_errors_and_what_follows_a_close_is_not_read(self):
        connection = new_connection(max_errors=2)
        feed(connection, 'FOO', 'MAIL FROM:<me@example.com>', 'NOOP')
        self.assert_transcript(GREETING + [
            PEER + ' < FOO',
            PEER + ' > 500 unrecognized command "FOO"',
            PEER + ' < MAIL FROM:<me@example.com>',
            PEER + ' > 503 Command "MAIL FROM" is not allowed here, '
                   'expected one of EHLO, HELO, HELP, NOOP, QUIT, RSET',
            PEER + ' > 421 4.7.0 localhost Error: too many errors',
        ])

    def test_client_input_is_escaped(self):
        # (a client cannot write a line of its own into the log)
        connection = new_connection()
        feed(connection, b'NOOP\r' + PEER.encode('ascii') +
             b' > 250 forged\x1b[0m\\x0a\xc3\xa4')
        self.assert_transcript(GREETING + [
            PEER + ' < NOOP\\x0d' + PEER + ' > 250 forged\\x1b[0m\\x0a'
                   '\\xc3\\xa4',
            # (the reply quotes it escaped already: replies.printable)
            PEER + " > 501 Syntactically invalid argument(s) '" + PEER +
                   " > 250 forged\\x1b[0m\\x0a\\xc3\\xa4'",
        ])

    def test_a_long_line_is_cut_with_its_length(self):
        connection = new_connection()
        feed(connection, 'NOOP ' + 'x' * 995)
        line = self.lines()[2]
        self.assertEqual(PEER + ' < NOOP ' + 'x' * (MAX_SHOWN_OCTETS - 5) +
                         '... (1000 octets)', line)

    def test_a_line_over_the_limit_in_one_piece_or_octet_by_octet(self):
        expected = GREETING + [PEER + ' < <line too long: 3002 octets>',
                               PEER + ' > 500 Line too long',
                               PEER + ' < NOOP', PEER + ' > 250 OK']
        data = b'x' * 3000 + b'\r\nNOOP\r\n'
        for size in (len(data), 1000, 7, 1):
            del self.capture.records[:]
            connection = new_connection()
            for start in range(0, len(data), size):
                connection.receive_data(data[start:start + size])
            self.assert_transcript(expected)

    def test_a_policy_reply_of_several_lines_line_by_line(self):
        from pymta.api import IMTAPolicy

        class Policy(IMTAPolicy):
            def accept_helo(self, helo, message):
                return False, (553, ['first', 'second\r\nthird'])
        connection = new_connection(policy=Policy())
        feed(connection, 'HELO client.example')
        self.assert_transcript(GREETING + [
            PEER + ' < HELO client.example',
            PEER + ' > 553-first',
            PEER + ' > 553 second\\x0d\\x0athird',
        ])

    def test_the_peer_of_ipv6(self):
        self.assertEqual('[::1]:25', peer_name('::1', 25))
        self.assertEqual('192.0.2.1:25', peer_name('192.0.2.1', 25))

    def test_the_legacy_parser_has_a_transcript_too(self):
        channel = RecordingChannel()
        parser = SMTPCommandParser(channel, '127.0.0.1', 4567,
                                   RecordingDeliverer(),
                                   primary_hostname='localhost')
        parser.process_new_data('HELO client.example\r\n')
        self.assert_transcript(GREETING + [
            PEER + ' < HELO client.example', PEER + ' > 250 localhost'])
        self.assertEqual(''.join(channel.written), ''.join(
            line.split(' > ', 1)[1] + '\r\n' for line in self.lines()
            if ' > ' in line))

    def test_the_warm_up_has_none(self):
        self.assertEqual(10, prepare_core())
        self.assertEqual([], self.lines())


class EscapeTest(unittest.TestCase):
    def test_printable_ascii_as_it_is(self):
        self.assertEqual('MAIL FROM:<a\\b@x> ~', escape(b'MAIL FROM:<a\\b@x> ~'))
        self.assertTrue(isinstance(escape(b'abc'), str))

    def test_everything_else_as_hex(self):
        self.assertEqual('\\x00\\x0d\\x0a\\x7f\\xff', escape(b'\0\r\n\x7f\xff'))
        self.assertEqual('\\xc3\\xa4', escape(u'\xe4'))

    def test_cut(self):
        self.assertEqual('a' * MAX_SHOWN_OCTETS, escape(
            b'a' * MAX_SHOWN_OCTETS))
        self.assertEqual('\\x0a' * MAX_SHOWN_OCTETS + '... (%d octets)' % (
            MAX_SHOWN_OCTETS + 1), escape(b'\n' * (MAX_SHOWN_OCTETS + 1)))


class MessageDataTranscriptTest(TranscriptTestCase):
    def transaction(self, connection):
        feed(connection, 'EHLO client.example', 'MAIL FROM:<me@example.com>',
             'RCPT TO:<you@example.com>')
        del self.capture.records[:]

    def test_data_summarised(self):
        connection = new_connection()
        self.transaction(connection)
        feed(connection, 'DATA', 'Subject: secret content\r\n\r\n..dot\r\n.')
        self.assert_transcript([
            PEER + ' < DATA',
            PEER + ' > 354 Enter message, ending with "." on a line by itself',
            # (as sent, the dot-stuffing and the last line's CRLF too)
            PEER + ' < <message data: 34 octets>',
            PEER + ' > 250 OK',
        ])
        self.assertEqual(33, len(connection.dialogue.events[0][1].msg_bytes))
        self.assertFalse('content' in self.capture.everything())

    def test_an_empty_message(self):
        connection = new_connection()
        self.transaction(connection)
        feed(connection, 'DATA', '.')
        self.assertEqual(PEER + ' < <message data: 0 octets>',
                         self.lines()[2])

    def test_too_big(self):
        connection = new_connection(default_max_message_size=10)
        self.transaction(connection)
        feed(connection, 'DATA', 'x' * 20 + '\r\n' + 'y' * 20 + '\r\n.')
        self.assertEqual([
            PEER + ' < <message data: 44 octets>',
            PEER + ' > 552 message exceeds fixed maximum message size',
        ], self.lines()[2:])

    def test_bdat_chunks(self):
        connection = new_connection(extensions=('CHUNKING',))
        self.transaction(connection)
        connection.receive_data(b'BDAT 7\r\nsecret BDAT 3 LAST\r\nxyz')
        self.assert_transcript([
            PEER + ' < BDAT 7',
            PEER + ' < <message data: 7 octets>',
            PEER + ' > 250 7 octets received',
            PEER + ' < BDAT 3 LAST',
            PEER + ' < <message data: 3 octets>',
            PEER + ' > 250 OK',
        ])
        self.assertFalse('secret' in self.capture.everything())

    def test_bdat_zero_last_and_a_refused_chunk(self):
        connection = new_connection(extensions=('CHUNKING',))
        self.transaction(connection)
        connection.receive_data(b'BDAT 0 LAST\r\n')
        self.assert_transcript([
            PEER + ' < BDAT 0 LAST',
            PEER + ' < <message data: 0 octets>',
            PEER + ' > 250 OK',
        ])
        del self.capture.records[:]
        connection = new_connection(extensions=('CHUNKING',))
        connection.receive_data(b'BDAT 6\r\nQUIT\r\nNOOP\r\n')
        self.assert_transcript(GREETING + [
            PEER + ' < BDAT 6',
            PEER + ' > 503 Command "BDAT" is not allowed here, expected one '
                   'of EHLO, HELO, HELP, NOOP, QUIT, RSET',
            PEER + ' < <message data: 6 octets, discarded>',
            PEER + ' < NOOP',
            PEER + ' > 250 OK',
        ])


class AuthTranscriptTest(TranscriptTestCase):
    def test_plain(self):
        connection = new_connection()
        feed(connection, 'EHLO client.example', 'AUTH PLAIN ' + PLAIN_BLOB)
        self.assert_transcript(GREETING + ehlo_lines() + [
            PEER + ' < AUTH PLAIN ***',
            PEER + ' > 235 Authentication successful',
            PEER + ' authenticated as alice (PLAIN)',
        ])

    def test_plain_bad_password_and_garbled(self):
        connection = new_connection()
        feed(connection, 'EHLO client.example',
             'auth plain ' + b64('\0alice\0' + PASSWORD + 'x'),
             'AUTH PLAIN ' + PASSWORD)
        self.assert_transcript(GREETING + ehlo_lines() + [
            PEER + ' < auth plain ***',
            PEER + ' > 535 Bad username or password',
            PEER + ' < AUTH PLAIN ***',
            PEER + ' > 501 Garbled data sent',
        ])

    def test_login(self):
        connection = new_connection()
        feed(connection, 'EHLO client.example', 'AUTH LOGIN', b64(USER),
             b64(PASSWORD), 'MAIL FROM:<me@example.com>')
        self.assert_transcript(GREETING + ehlo_lines() + [
            PEER + ' < AUTH LOGIN',
            PEER + ' > 334 VXNlcm5hbWU6',
            PEER + ' < *** (AUTH LOGIN user name)',
            PEER + ' > 334 UGFzc3dvcmQ6',
            PEER + ' < *** (AUTH LOGIN password)',
            PEER + ' > 235 Authentication successful',
            PEER + ' authenticated as alice (LOGIN)',
            PEER + ' < MAIL FROM:<me@example.com>',
            PEER + ' > 250 OK',
        ])

    def test_login_with_initial_response_and_cancel(self):
        connection = new_connection()
        feed(connection, 'EHLO client.example', 'AUTH LOGIN ' + b64(USER),
             ' * ', 'AUTH LOGIN ' + b64(USER), b64(PASSWORD + '!'))
        self.assert_transcript(GREETING + ehlo_lines() + [
            PEER + ' < AUTH LOGIN ***',
            PEER + ' > 334 UGFzc3dvcmQ6',
            PEER + ' < *',
            PEER + ' > 501 Authentication cancelled',
            PEER + ' < AUTH LOGIN ***',
            PEER + ' > 334 UGFzc3dvcmQ6',
            PEER + ' < *** (AUTH LOGIN password)',
            PEER + ' > 535 Bad username or password',
        ])

    def test_cram_md5(self):
        connection = new_connection()
        feed(connection, 'EHLO client.example', 'AUTH CRAM-MD5',
             b64(USER + ' ' + cram_md5_digest(PASSWORD, CHALLENGE)))
        self.assert_transcript(GREETING + ehlo_lines() + [
            PEER + ' < AUTH CRAM-MD5',
            PEER + ' > 334 ' + CHALLENGE_B64,
            PEER + ' < *** (AUTH CRAM-MD5 answer)',
            PEER + ' > 235 Authentication successful',
            PEER + ' authenticated as alice (CRAM-MD5)',
        ])

    def test_a_line_too_long_in_an_exchange(self):
        connection = new_connection()
        feed(connection, 'EHLO client.example', 'AUTH LOGIN',
             PASSWORD * 200)
        self.assert_transcript(GREETING + ehlo_lines() + [
            PEER + ' < AUTH LOGIN',
            PEER + ' > 334 VXNlcm5hbWU6',
            PEER + ' < <line too long: %d octets>' % (len(PASSWORD) * 200 + 2),
            PEER + ' > 500 Line too long',
        ])

    def test_no_mechanism_and_an_unknown_one(self):
        connection = new_connection()
        feed(connection, 'EHLO client.example', 'AUTH ' + PLAIN_BLOB,
             'AUTH XOAUTH2 ' + PLAIN_BLOB)
        self.assert_transcript(GREETING + ehlo_lines() + [
            PEER + ' < AUTH ***',
            PEER + ' > 504 Unrecognized authentication type',
            PEER + ' < AUTH XOAUTH2 ***',
            PEER + ' > 504 Unrecognized authentication type',
        ])

    def test_the_user_name_is_escaped(self):
        connection = new_connection(authenticator=SecretsAuthenticator(
            {'a\r\nb': PASSWORD}))
        feed(connection, 'EHLO client.example',
             'AUTH PLAIN ' + b64('\0a\r\nb\0' + PASSWORD))
        self.assertEqual(PEER + ' authenticated as a\\x0d\\x0ab (PLAIN)',
                         self.lines()[-1])


class SecretsInNoRecordTest(TranscriptTestCase):
    def test_the_password_in_no_record_in_any_encoding(self):
        # every way to send it, pipelined, and split at every octet
        for data in whole_session():
            for size in (len(data), 1):
                connection = new_connection(extensions=('CHUNKING',))
                for start in range(0, len(data), size):
                    connection.receive_data(data[start:start + size])
                connection.connection_closed()
        self.assertEqual(4, len([line for line in self.lines()
                                 if line.startswith(PEER + ' > 235')]))
        self.assert_no_secret_and_printable()


def whole_session():
    """A pipelined session through every reader but TLS."""
    lines = [
        'EHLO client.example',
        'AUTH LOGIN', b64(USER), b64(PASSWORD + 'x'),
        'AUTH LOGIN ' + b64(USER), '*',
        'AUTH CRAM-MD5', '*',
        'AUTH CRAM-MD5', b64(USER + ' ' + cram_md5_digest(PASSWORD,
                                                          CHALLENGE)),
        'MAIL FROM:<me@example.com>', 'RCPT TO:<you@example.com>', 'DATA',
        'Subject: hi', '', '..dot', '.',
        'MAIL FROM:<me@example.com>', 'RCPT TO:<you@example.com>',
        'BDAT 4', 'abcdBDAT 2 LAST', 'ef', 'NOOP \x1bx', 'RSET',
    ]
    first = '\r\n'.join(lines) + '\r\n'
    second = '\r\n'.join([
        'EHLO client.example', 'AUTH PLAIN ' + PLAIN_BLOB, 'QUIT']) + '\r\n'
    return first.encode('latin-1'), second.encode('latin-1')


class SplitTest(TranscriptTestCase):
    def transcript_of(self, data, split_at):
        del self.capture.records[:]
        connection = new_connection(extensions=('CHUNKING',))
        for start, end in zip((0,) + split_at, split_at + (len(data),)):
            connection.receive_data(data[start:end])
        connection.data_to_send()
        connection.connection_closed()
        return self.lines()

    def test_split_anywhere_the_same_transcript(self):
        for data in whole_session():
            whole = self.transcript_of(data, ())
            self.assertTrue(whole[-1].startswith(PEER + ' closed ('), whole)
            self.assertEqual(whole, self.transcript_of(
                data, tuple(range(1, len(data)))))
            for position in range(1, len(data)):
                self.assertEqual(whole, self.transcript_of(data, (position,)),
                                 position)


class TLSTranscriptTest(TranscriptTestCase):
    def test_starttls(self):
        connection = new_connection(extensions=('STARTTLS',))
        feed(connection, 'EHLO client.example')
        connection.receive_data(b'STARTTLS\r\nMAIL FROM:<evil@example.com>\r\n')
        connection.data_to_send()
        connection.tls_started('TLSv1.3', 'TLS_AES_256_GCM_SHA384')
        feed(connection, 'EHLO client.example')
        self.assert_transcript(GREETING + ehlo_lines('STARTTLS') + [
            PEER + ' < STARTTLS',
            PEER + ' > 220 Ready to start TLS',
            PEER + ' < <30 octets before the TLS handshake, discarded>',
            PEER + ' TLS started: TLSv1.3, TLS_AES_256_GCM_SHA384',
        ] + ehlo_lines())

    def test_implicit_tls(self):
        connection = SMTPConnection(RecordingDeliverer())
        connection.start('127.0.0.1', 4567,
                         tls=('TLSv1.2', 'ECDHE-RSA-AES128-GCM-SHA256'))
        self.assert_transcript([
            PEER + ' connected over TLS: TLSv1.2, ECDHE-RSA-AES128-GCM-SHA256',
            PEER + ' > 220 localhost Hello 127.0.0.1'])


class CountingLogger(object):
    """Counts the calls of the transcript logger's ``isEnabledFor`` (an
    instance attribute over the method, removed again by ``restore``)."""

    def __init__(self, test):
        self.logger = logging.getLogger(LOGGER_NAME)
        self.calls = 0
        original = self.logger.isEnabledFor

        def is_enabled_for(level):
            self.calls += 1
            return original(level)
        self.logger.isEnabledFor = is_enabled_for
        test.addCleanup(self.restore)

    def restore(self):
        del self.logger.isEnabledFor


class DebugOffTest(unittest.TestCase):
    def run_sessions(self, **options):
        for data in whole_session():
            connection = new_connection(extensions=('CHUNKING', 'STARTTLS'),
                                        **options)
            for start in range(0, len(data), 7):
                connection.receive_data(data[start:start + 7])
                connection.data_to_send()
            connection.connection_closed('the client closed the connection')

    def test_no_records_and_the_logger_asked_once_per_connection(self):
        capture = capture_transcript(self, level=logging.INFO)
        counting = CountingLogger(self)
        self.run_sessions()
        self.assertEqual([], capture.records)
        self.assertEqual(2, counting.calls)

    def test_not_asked_at_all_without_a_transcript(self):
        capture = capture_transcript(self)
        counting = CountingLogger(self)
        self.run_sessions(transcript=False)
        self.assertEqual([], capture.records)
        self.assertEqual(0, counting.calls)

    def test_the_counting_counts(self):
        # (with DEBUG on: once per connection, and once per record, by
        # Logger.debug)
        capture = capture_transcript(self)
        counting = CountingLogger(self)
        connection = new_connection()
        feed(connection, 'NOOP')
        self.assertEqual(4, len(capture.records))
        self.assertEqual(1 + 4, counting.calls)


if __name__ == '__main__':
    unittest.main()
