# -*- coding: utf-8 -*-
"""pymta.connection.SMTPConnection: the SMTP dialogue as it goes over the
wire (SPEC sections 4 and 6), octets in and exact octets out. Each test is
a script: ``C:`` what the client sends, ``S:`` what the server answers.
(The legacy faces of the same core are tested in test_core_session.py and
test_core_command_parser.py; splitting the input anywhere in
test_core_split_dialogue.py.)"""
from __future__ import absolute_import

import logging
import unittest

from pymta.api import IMTAPolicy, PolicyDecision
from pymta.connection import SMTPConnection
from pymta.dialogue import MESSAGE_ACCEPTED
from pymta.states import AUTH_LINE, COMMAND_LINE, MESSAGE_DATA, \
    TLS_HANDSHAKE
from pymta.test_util import DummyAuthenticator
from .core_support import RecordingDeliverer, SizePolicy, b64, converse


NOT_ALLOWED_DATA = ('503 Command "DATA" is not allowed here, expected one '
                    'of HELP, MAIL FROM, NOOP, QUIT, RSET')
START_DATA = '354 Enter message, ending with "." on a line by itself'
#: the greeting and HELO
HELO = '''
    S: 220 localhost Hello 127.0.0.1
    C: HELO a
    S: 250 localhost
'''
#: a sender, a recipient and an empty message, accepted
EMPTY_MESSAGE = '''
    C: MAIL FROM:<a@example.com>
    S: 250 OK
    C: RCPT TO:<b@example.com>
    S: 250 OK
    C: DATA
    S: ''' + START_DATA + '''
    C: .
    S: 250 OK
'''
#: the greeting, HELO, a sender and a recipient: ready for DATA
TO_RECIPIENT = HELO + '''
    C: MAIL FROM:<a@example.com>
    S: 250 OK
    C: RCPT TO:<b@example.com>
    S: 250 OK
'''


class _Policy(IMTAPolicy):
    """Answers each hook with what ``answers`` holds for it."""

    def __init__(self, **answers):
        IMTAPolicy.__init__(self)
        self.answers = answers

    def __getattribute__(self, name):
        answers = object.__getattribute__(self, 'answers')
        if name in answers:
            answer = answers[name]

            def hook(*args):
                if isinstance(answer, Exception):
                    raise answer
                return answer
            return hook
        return object.__getattribute__(self, name)


def _close(before=False, after=False, decision=True, reply=None):
    result = PolicyDecision(decision, reply)
    result._close_connection_before_response = before
    result._close_connection_after_response = after
    return result


class ScriptDriverTest(unittest.TestCase):
    def test_a_wrong_a_missing_or_an_unexpected_reply_fails(self):
        for script in ('S: 220 localhost Hello 127.0.0.2',
                       'S: 220 localhost Hello 127.0.0.1\nC: NOOP',
                       'S: 220 localhost Hello 127.0.0.1\nC: NOOP\n'
                       'S: 250 OK\nS: 250 OK'):
            self.assertRaises(AssertionError, converse, self, script)


class SessionTest(unittest.TestCase):
    def test_helo_a_message_and_quit(self):
        deliverer = RecordingDeliverer()
        smtp = converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: HELO client.example.com
            S: 250 localhost
            C: MAIL FROM:<a@example.com>
            S: 250 OK
            C: RCPT TO:<b@example.com>
            S: 250 OK
            C: rcpt to: <c@example.com>
            S: 250 OK
            C: DATA
            S: ''' + START_DATA + '''
            C: Subject: hi
            C:
            C: ..a stuffed line
            C: .
            S: 250 OK
            C: QUIT
            S: 221 localhost closing connection
        ''', deliverer=deliverer)
        self.assertTrue(smtp.closing)
        [message] = deliverer.messages
        self.assertEqual(('client.example.com', 'a@example.com',
                          ['b@example.com', 'c@example.com'],
                          'Subject: hi\n\n.a stuffed line'),
                         (message.smtp_helo, message.smtp_from,
                          message.smtp_to, message.msg_data))
        self.assertEqual(('127.0.0.1', 4567),
                         (message.peer.remote_ip, message.peer.remote_port))

    def test_ehlo_rset_noop_help(self):
        converse(self, '''
            S: 220 mx.example.com Hello 127.0.0.1
            C: EHLO client.example.com
            S: 250-mx.example.com
            S: 250 HELP
            C: MAIL FROM:<a@example.com> SIZE=100
            S: 250 OK
            C: RSET
            S: 250 Reset OK
            C: RCPT TO:<b@example.com>
            S: 503 Command "RCPT TO" is not allowed here, expected one of AUTH LOGIN, AUTH PLAIN, HELP, MAIL FROM, NOOP, QUIT, RSET
            C: NOOP
            S: 250 OK
            C: HELP
            S: 214-Commands supported
            S: 214 AUTH DATA EHLO HELO HELP MAIL NOOP QUIT RCPT RSET
            C: HELP mail
            S: 214 MAIL FROM:<address> [SIZE=<octets>]
        ''', hostname='mx.example.com')

    def test_the_next_message_keeps_the_helo_not_the_envelope(self):
        deliverer = RecordingDeliverer()
        converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: HELO one
            S: 250 localhost
            ''' + EMPTY_MESSAGE + '''
            C: DATA
            S: ''' + NOT_ALLOWED_DATA + '''
            C: MAIL FROM:<>
            S: 250 OK
            C: RCPT TO:<postmaster>
            S: 250 OK
            C: DATA
            S: ''' + START_DATA + '''
            C: second
            C: .
            S: 250 OK
        ''', deliverer=deliverer)
        self.assertEqual([('one', 'a@example.com', ['b@example.com'], ''),
                          ('one', '', ['postmaster'], 'second')],
                         [(m.smtp_helo, m.smtp_from, m.smtp_to, m.msg_data)
                          for m in deliverer.messages])

    def test_out_of_order_unknown_and_bad_arguments_change_nothing(self):
        converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: MAIL FROM:<a@example.com>
            S: 503 Command "MAIL FROM" is not allowed here, expected one of EHLO, HELO, HELP, NOOP, QUIT, RSET
            C: FNORD x
            S: 500 unrecognized command "FNORD"
            C: HELO
            S: 501 Missing argument: the domain or address literal of the client
            C: HELO a b
            S: 501 Syntactically invalid argument(s) 'b'
            C: HELO [127.0.0.1]
            S: 250 localhost
            C: HELO again
            S: 503 Command "HELO" is not allowed here, expected one of HELP, MAIL FROM, NOOP, QUIT, RSET
            C: MAIL <a@example.com>
            S: 501 Syntax: MAIL FROM:<address> [SIZE=<octets>]
            C: MAIL FROM:<a@example.com
            S: 501 Invalid email address format - use balanced angle brackets.
            C: MAIL FROM:<a@example.com> SIZE=10
            S: 501 No SMTP extensions allowed for plain SMTP.
            C: NOOP now
            S: 501 Syntactically invalid argument(s) 'now'
            C: AUTH PLAIN AGZvbwBmb28=
            S: 503 Command "AUTH PLAIN" is not allowed here, expected one of HELP, MAIL FROM, NOOP, QUIT, RSET
            C: MAIL FROM:<a@example.com>
            S: 250 OK
        ''')

    def test_client_input_in_replies_is_escaped(self):
        converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: FN\x1bORD\xff
            S: 500 unrecognized command "FN\\x1bORD\\xff"
        ''')

    def test_quit_closes_and_later_input_is_not_read(self):
        deliverer = RecordingDeliverer()
        smtp = converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: QUIT
            S: 221 localhost closing connection
        ''', deliverer=deliverer)
        self.assertTrue(smtp.closing)
        smtp.receive_data(b'HELO x\r\nNOOP\r\n')
        self.assertEqual(b'', smtp.data_to_send())


class AuthTest(unittest.TestCase):
    def ehlo(self, **options):
        options.setdefault('authenticator', DummyAuthenticator())
        return converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client
            S: 250-localhost
            S: 250-AUTH PLAIN
            S: 250 HELP
        ''', **options)

    def test_auth_plain(self):
        deliverer = RecordingDeliverer()
        smtp = self.ehlo(deliverer=deliverer)
        converse(self, '''
            C: AUTH PLAIN ''' + b64('\0foo\0bar') + '''
            S: 535 Bad username or password
            C: AUTH PLAIN x
            S: 501 Garbled data sent
            C: AUTH CRAM-MD5
            S: 504 Unrecognized authentication type
            C: AUTH PLAIN ''' + b64('\0foo\0foo') + '''
            S: 235 Authentication successful
            C: AUTH PLAIN ''' + b64('\0foo\0foo') + '''
            S: 503 Command "AUTH PLAIN" is not allowed here, expected one of HELP, MAIL FROM, NOOP, QUIT, RSET
            ''' + EMPTY_MESSAGE + '''
        ''', connection=smtp)
        self.assertEqual('foo', deliverer.messages[0].username)

    def test_auth_login_is_read_a_line_at_a_time(self):
        smtp = self.ehlo()
        converse(self, '''
            C: auth login
            S: 334 VXNlcm5hbWU6
        ''', connection=smtp)
        self.assertEqual(AUTH_LINE, smtp.reader)
        # (a line that would be a command is a credential here)
        converse(self, '''
            C: ''' + b64('QUIT') + '''
            S: 334 UGFzc3dvcmQ6
            C: ''' + b64('QUIT') + '''
            S: 235 Authentication successful
            C: AUTH LOGIN
            S: 503 Command "AUTH LOGIN" is not allowed here, expected one of HELP, MAIL FROM, NOOP, QUIT, RSET
        ''', connection=smtp)
        self.assertEqual(COMMAND_LINE, smtp.reader)
        self.assertFalse(smtp.closing)

    def test_auth_login_with_an_initial_response_bad_cancelled_garbled(self):
        converse(self, '''
            C: AUTH LOGIN ''' + b64('foo') + '''
            S: 334 UGFzc3dvcmQ6
            C: ''' + b64('bar') + '''
            S: 535 Bad username or password
            C: AUTH LOGIN
            S: 334 VXNlcm5hbWU6
            C: *
            S: 501 Authentication cancelled
            C: AUTH LOGIN
            S: 334 VXNlcm5hbWU6
            C: not base64!
            S: 501 Garbled data sent
            C: NOOP
            S: 250 OK
        ''', connection=self.ehlo())

    def test_an_overlong_credential_ends_the_exchange(self):
        smtp = self.ehlo()
        converse(self, '''
            C: AUTH LOGIN
            S: 334 VXNlcm5hbWU6
            C: ''' + 'x' * 3000 + '''
            S: 500 Line too long
            C: NOOP
            S: 250 OK
        ''', connection=smtp)

    def test_without_an_authenticator(self):
        converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client
            S: 250-localhost
            S: 250 HELP
            C: AUTH PLAIN ''' + b64('\0foo\0foo') + '''
            S: 535 AUTH not available
            C: AUTH LOGIN
            S: 535 AUTH not available
        ''')

    def test_too_many_auth_failures(self):
        converse(self, '''
            C: AUTH PLAIN ''' + b64('\0foo\0bar') + '''
            S: 535 Bad username or password
            C: AUTH LOGIN ''' + b64('foo') + '''
            S: 334 UGFzc3dvcmQ6
            C: ''' + b64('bar') + '''
            S: 535 Bad username or password
            S: 421 4.7.0 localhost Error: too many authentication failures
        ''', connection=self.ehlo(max_auth_failures=2))


class FramingTest(unittest.TestCase):
    def test_a_bare_lf_ends_a_command_and_many_commands_come_in_one_chunk(self):
        smtp = converse(self, 'S: 220 localhost Hello 127.0.0.1')
        smtp.receive_data(b'HELO a\nNOOP\r\nMAIL FROM:<a@example.com>\r\n'
                          b'RCPT TO:<b@example.com>\r\nDATA\r\nHi\r\n.\r\nNO')
        self.assertEqual(b'250 localhost\r\n250 OK\r\n250 OK\r\n250 OK\r\n'
                         + START_DATA.encode('ascii') + b'\r\n250 OK\r\n',
                         smtp.data_to_send())
        smtp.receive_data(b'OP\r\n')
        self.assertEqual(b'250 OK\r\n', smtp.data_to_send())

    def test_a_long_line_is_refused_and_the_connection_goes_on(self):
        converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: NOOP ''' + 'x' * 2044 + '''
            S: 500 Line too long
            C: NOOP
            S: 250 OK
        ''')
        smtp = SMTPConnection(RecordingDeliverer())
        smtp.start('127.0.0.1', 4567)
        smtp.data_to_send()
        for _ in range(100):                 # never buffered
            smtp.receive_data(b'x' * 1000)
        self.assertTrue(len(smtp._partial_line) <= 2049)
        smtp.receive_data(b'\r\nNOOP\r\n')
        self.assertEqual(b'500 Line too long\r\n250 OK\r\n', smtp.data_to_send())

    def test_the_reader_follows_the_state(self):
        smtp = converse(self, TO_RECIPIENT + '''
        ''')
        self.assertEqual(COMMAND_LINE, smtp.reader)
        converse(self, '''
            C: DATA
            S: ''' + START_DATA + '''
            C: QUIT
        ''', connection=smtp)
        # (QUIT was message data)
        self.assertEqual(MESSAGE_DATA, smtp.reader)
        self.assertFalse(smtp.closing)
        converse(self, '''
            C: .
            S: 250 OK
        ''', connection=smtp)
        self.assertEqual(COMMAND_LINE, smtp.reader)

    def test_too_big_a_message_is_thrown_away_and_answered_once(self):
        deliverer = RecordingDeliverer()
        smtp = converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: EHLO a
            S: 250-localhost
            S: 250-SIZE 10
            S: 250-AUTH PLAIN LOGIN
            S: 250 HELP
            C: MAIL FROM:<a@example.com> SIZE=11
            S: 552 message exceeds fixed maximum message size
            C: MAIL FROM:<a@example.com>
            S: 250 OK
            C: RCPT TO:<b@example.com>
            S: 250 OK
            C: DATA
            S: ''' + START_DATA + '''
            C: 0123456789
            C: 0123456789
            C: .
            S: 552 message exceeds fixed maximum message size
            C: NOOP
            S: 250 OK
        ''', deliverer=deliverer, policy=SizePolicy(10))
        self.assertEqual([], deliverer.messages)
        self.assertEqual(COMMAND_LINE, smtp.reader)

    def test_the_default_limit_applies_without_the_policys(self):
        converse(self, TO_RECIPIENT + '''
            C: DATA
            S: ''' + START_DATA + '''
            C: 0123456789
            C: .
            S: 552 message exceeds fixed maximum message size
        ''', default_max_message_size=5)

    def test_text_input_is_read_like_bytes(self):
        smtp = converse(self, 'S: 220 localhost Hello 127.0.0.1')
        smtp.receive_data(u'HELO a\r\nNOOP\r\n')
        self.assertEqual(b'250 localhost\r\n250 OK\r\n', smtp.data_to_send())


class EventsTest(unittest.TestCase):
    def test_each_accepted_message_is_an_event_once(self):
        deliverer = RecordingDeliverer()
        smtp = converse(self, HELO + '''
        ''', deliverer=deliverer)
        self.assertEqual([], smtp.take_events())
        converse(self, '''
            ''' + EMPTY_MESSAGE + '''
        ''', connection=smtp)
        self.assertEqual([(MESSAGE_ACCEPTED, deliverer.messages[0])],
                         smtp.take_events())
        self.assertEqual([], smtp.take_events())

    def test_a_refused_message_is_no_event(self):
        smtp = converse(self, TO_RECIPIENT + '''
            C: DATA
            S: ''' + START_DATA + '''
            C: .
            S: 550 Message content is not acceptable
        ''', policy=_Policy(accept_msgdata=False))
        self.assertEqual([], smtp.take_events())

    def test_close_is_the_closing_flag(self):
        smtp = SMTPConnection(RecordingDeliverer())
        smtp.start('127.0.0.1', 4567)
        self.assertFalse(smtp.closing)
        smtp.close()
        self.assertTrue(smtp.closing)
        self.assertEqual(b'220 localhost Hello 127.0.0.1\r\n', smtp.data_to_send())


class StartTLSTest(unittest.TestCase):
    """RFC 3207 in the core: the driver does the handshake when the reader
    says TLS_HANDSHAKE and calls tls_started."""

    def ehlo(self, **options):
        return converse(self, """
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client
            S: 250-localhost
            S: 250-STARTTLS
            S: 250 HELP
        """, extensions=['STARTTLS'], **options)

    def test_starttls_then_afresh_over_tls(self):
        deliverer = RecordingDeliverer()
        smtp = self.ehlo(deliverer=deliverer)
        converse(self, """
            C: STARTTLS
            S: 220 Ready to start TLS
        """, connection=smtp)
        self.assertEqual(TLS_HANDSHAKE, smtp.reader)
        smtp.tls_started('TLSv1.3', 'TLS_AES_256_GCM_SHA384')
        self.assertEqual(COMMAND_LINE, smtp.reader)
        converse(self, """
            C: MAIL FROM:<a@example.com>
            S: 503 Command "MAIL FROM" is not allowed here, expected one of EHLO, HELO, HELP, NOOP, QUIT, RSET
            C: EHLO client
            S: 250-localhost
            S: 250 HELP
            C: STARTTLS
            S: 503 Command "STARTTLS" is not allowed here, expected one of AUTH LOGIN, AUTH PLAIN, HELP, MAIL FROM, NOOP, QUIT, RSET
            C: HELP
            S: 214-Commands supported
            S: 214 AUTH DATA EHLO HELO HELP MAIL NOOP QUIT RCPT RSET STARTTLS
        """ + EMPTY_MESSAGE, connection=smtp)
        [message] = deliverer.messages
        self.assertEqual({'version': 'TLSv1.3', 'cipher': 'TLS_AES_256_GCM_SHA384'},
                         message.tls)

    def test_what_was_pipelined_after_starttls_is_never_read(self):
        deliverer = RecordingDeliverer()
        smtp = self.ehlo(deliverer=deliverer)
        smtp.receive_data(b'STARTTLS\r\nMAIL FROM:<evil@example.com>\r\n'
                          b'RCPT TO:<b@example.com>\r\nDATA\r\nx\r\n.\r\nQU')
        self.assertEqual(b'220 Ready to start TLS\r\n', smtp.data_to_send())
        smtp.receive_data(b'IT\r\n')          # (still in the clear)
        self.assertEqual(b'', smtp.data_to_send())
        self.assertEqual(len(b'MAIL FROM:<evil@example.com>\r\nRCPT TO:'
                             b'<b@example.com>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n'),
                         smtp.discarded_octets)
        smtp.tls_started('TLSv1.2', 'x')
        converse(self, """
            C: EHLO again
            S: 250-localhost
            S: 250 HELP
        """ + EMPTY_MESSAGE, connection=smtp)
        self.assertEqual(['a@example.com'],
                         [m.smtp_from for m in deliverer.messages])

    def test_only_after_ehlo_and_a_policy_may_refuse(self):
        converse(self, """
            S: 220 localhost Hello 127.0.0.1
            C: HELO client
            S: 250 localhost
            C: STARTTLS
            S: 503 Command "STARTTLS" is not allowed here, expected one of HELP, MAIL FROM, NOOP, QUIT, RSET
        """, extensions=['STARTTLS'])
        smtp = self.ehlo(policy=_Policy(accept_starttls=False,
                                        ehlo_lines=[]))
        converse(self, """
            C: STARTTLS
            S: 454 TLS not available due to temporary reason
            C: NOOP
            S: 250 OK
        """, connection=smtp)

    def test_requiring_tls_for_auth_and_mail(self):
        smtp = converse(self, """
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client
            S: 250-localhost
            S: 250-STARTTLS
            S: 250 HELP
            C: AUTH PLAIN """ + b64('\0foo\0foo') + """
            S: 538 5.7.11 Encryption required for requested authentication mechanism
            C: AUTH LOGIN
            S: 538 5.7.11 Encryption required for requested authentication mechanism
            C: MAIL FROM:<a@example.com>
            S: 530 5.7.0 Must issue a STARTTLS command first
            C: STARTTLS
            S: 220 Ready to start TLS
        """, extensions=['STARTTLS'], require_tls='all',
            authenticator=DummyAuthenticator())
        smtp.tls_started('TLSv1.3', 'x')
        converse(self, """
            C: EHLO client
            S: 250-localhost
            S: 250-AUTH PLAIN
            S: 250 HELP
            C: AUTH PLAIN """ + b64('\0foo\0foo') + """
            S: 235 Authentication successful
        """ + EMPTY_MESSAGE, connection=smtp)

    def test_requiring_tls_for_auth_only(self):
        converse(self, """
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client
            S: 250-localhost
            S: 250-SIZE 10
            S: 250-STARTTLS
            S: 250 HELP
        """ + EMPTY_MESSAGE, extensions=['STARTTLS'], require_tls='auth',
            policy=SizePolicy(10))

    def test_off_it_is_an_unknown_command_and_nothing_else_changes(self):
        converse(self, """
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client
            S: 250-localhost
            S: 250 HELP
            C: STARTTLS
            S: 500 unrecognized command "STARTTLS"
            C: HELP
            S: 214-Commands supported
            S: 214 AUTH DATA EHLO HELO HELP MAIL NOOP QUIT RCPT RSET
            C: HELP STARTTLS
            S: 214-Commands supported
            S: 214 AUTH DATA EHLO HELO HELP MAIL NOOP QUIT RCPT RSET
            C: DATA
            S: 503 Command "DATA" is not allowed here, expected one of AUTH LOGIN, AUTH PLAIN, HELP, MAIL FROM, NOOP, QUIT, RSET
        """)


class ExtensionsTest(unittest.TestCase):
    def test_ehlo_lists_the_extensions_that_are_on_in_a_fixed_order(self):
        converse(self, """
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client
            S: 250-localhost
            S: 250-SIZE 10
            S: 250-AUTH PLAIN LOGIN
            S: 250-PIPELINING
            S: 250-8BITMIME
            S: 250-STARTTLS
            S: 250 HELP
        """, extensions=['STARTTLS', '8BITMIME', 'PIPELINING'],
            policy=SizePolicy(10))

    def test_8bitmime_body_is_validated_and_recorded(self):
        deliverer = RecordingDeliverer()
        converse(self, """
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client
            S: 250-localhost
            S: 250-8BITMIME
            S: 250 HELP
            C: MAIL FROM:<a@example.com> BODY=8BIT
            S: 501 Invalid BODY: "8BIT" (7BIT or 8BITMIME)
            C: MAIL FROM:<a@example.com> body=8bitmime SIZE=20
            S: 250 OK
            C: RCPT TO:<b@example.com>
            S: 250 OK
            C: DATA
            S: """ + START_DATA + """
            C: gr\xc3\xbc\xc3\x9fe (UTF-8, sent as octets)
            C: .
            S: 250 OK
        """, deliverer=deliverer, extensions=['8BITMIME'])
        [message] = deliverer.messages
        self.assertEqual({'body': '8BITMIME', 'size': 20}, message.mail_options)

    def test_pipelining_a_refused_command_does_not_desynchronise_the_group(self):
        deliverer = RecordingDeliverer()
        smtp = converse(self, """
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client
            S: 250-localhost
            S: 250-PIPELINING
            S: 250 HELP
        """, deliverer=deliverer, extensions=['PIPELINING'],
            policy=_Policy(ehlo_lines=[], accept_rcpt_to=False))
        smtp.receive_data(b'MAIL FROM:<a@example.com>\r\nRCPT TO:<bad@example.com>'
                          b'\r\nFNORD\r\nRSET\r\nNOOP\r\n')
        self.assertEqual(b'250 OK\r\n550 relay not permitted\r\n'
                         b'500 unrecognized command "FNORD"\r\n250 Reset OK\r\n'
                         b'250 OK\r\n', smtp.data_to_send())

    def test_with_every_extension_off_the_replies_are_the_historical_ones(self):
        converse(self, """
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client
            S: 250-localhost
            S: 250 HELP
            C: MAIL FROM:<a@example.com> BODY=8BITMIME
            S: 501 Invalid extension: "BODY=8BITMIME"
            C: HELP
            S: 214-Commands supported
            S: 214 AUTH DATA EHLO HELO HELP MAIL NOOP QUIT RCPT RSET
        """)


class EnhancedStatusCodesTest(unittest.TestCase):
    """ENHANCEDSTATUSCODES (RFC 2034, RFC 3463): every reply but the
    greeting, HELO/EHLO and 3xx with its enhanced code."""

    def test_the_replies_of_a_dialogue(self):
        converse(self, """
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client
            S: 250-localhost
            S: 250-ENHANCEDSTATUSCODES
            S: 250-CHUNKING
            S: 250 HELP
            C: FNORD
            S: 500 5.5.1 unrecognized command "FNORD"
            C: DATA
            S: 503 5.5.1 Command "DATA" is not allowed here, expected one of AUTH LOGIN, AUTH PLAIN, HELP, MAIL FROM, NOOP, QUIT, RSET
            C: MAIL FROM:<a@example.com> SIZE=x
            S: 501 5.5.4 Invalid size: Please enter a number.
            C: MAIL <a@example.com>
            S: 501 5.5.4 Syntax: MAIL FROM:<address> [SIZE=<octets>]
            C: MAIL FROM:<a@example.com>
            S: 250 2.0.0 OK
            C: RCPT TO:<b@example.com>
            S: 250 2.0.0 OK
            C: BDAT 5
            C: abc
            S: 250 2.0.0 5 octets received
            C: RSET
            S: 250 2.0.0 Reset OK
            C: NOOP
            S: 250 2.0.0 OK
            C: HELP
            S: 214-2.0.0 Commands supported
            S: 214 2.0.0 AUTH BDAT DATA EHLO HELO HELP MAIL NOOP QUIT RCPT RSET
            C: HELP mail
            S: 214 2.0.0 MAIL FROM:<address> [SIZE=<octets>]
            C: AUTH PLAIN """ + b64('\0foo\0foo') + """
            S: 535 5.5.1 AUTH not available
            C: MAIL FROM:<a@example.com>
            S: 250 2.0.0 OK
            C: RCPT TO:<b@example.com>
            S: 250 2.0.0 OK
            C: DATA
            S: """ + START_DATA + """
            C: .
            S: 250 2.0.0 OK
            C: QUIT
            S: 221 2.0.0 localhost closing connection
        """, extensions=['ENHANCEDSTATUSCODES', 'CHUNKING'])

    def test_auth_and_a_policys_own_replies(self):
        smtp = converse(self, """
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client
            S: 250-localhost
            S: 250-ENHANCEDSTATUSCODES
            S: 250 HELP
            C: AUTH PLAIN """ + b64('\0foo\0bar') + """
            S: 535 5.7.8 Bad username or password
            C: AUTH LOGIN
            S: 334 VXNlcm5hbWU6
            C: ***
            S: 501 5.5.2 Garbled data sent
            C: AUTH PLAIN """ + b64('\0foo\0foo') + """
            S: 235 2.7.0 Authentication successful
            C: MAIL FROM:<a@example.com>
            S: 250 2.0.0 OK
            C: RCPT TO:<b@example.com>
            S: 553-5.0.0 no
            S: 553 5.0.0 not you
            C: RCPT TO:<c@example.com>
            S: 550 5.1.1 unknown user
        """, extensions=['ENHANCEDSTATUSCODES'], max_auth_failures=2,
            authenticator=DummyAuthenticator(),
            policy=_Recipients({'b@example.com': (553, ['no', 'not you']),
                                'c@example.com': (550, '5.1.1 unknown user')}))
        self.assertFalse(smtp.closing)


class EnhancedStatusCodesGreetingTest(unittest.TestCase):
    def test_no_code_for_a_policys_greeting_or_helo_reply(self):
        converse(self, """
            S: 554 go away
        """, extensions=['ENHANCEDSTATUSCODES'],
            policy=_Policy(accept_new_connection=(False, (554, 'go away'))))
        converse(self, """
            S: 220 localhost Hello 127.0.0.1
            C: HELO client
            S: 250 welcome
            C: NOOP
            S: 250 2.0.0 OK
        """, extensions=['ENHANCEDSTATUSCODES'],
            policy=_Policy(accept_helo=(True, (250, 'welcome'))))


class _Recipients(IMTAPolicy):
    """Refuses the recipients of ``replies`` with their replies."""

    def __init__(self, replies):
        IMTAPolicy.__init__(self)
        self.replies = replies

    def ehlo_lines(self, peer):
        return []

    def accept_rcpt_to(self, recipient, message):
        if recipient in self.replies:
            return False, self.replies[recipient]
        return True


class SMTPUTF8Test(unittest.TestCase):
    """SMTPUTF8 (RFC 6531): UTF-8 addresses once MAIL FROM says SMTPUTF8."""

    def test_utf8_addresses_with_the_keyword_only(self):
        deliverer = RecordingDeliverer()
        converse(self, (u"""
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client
            S: 250-localhost
            S: 250-8BITMIME
            S: 250-SMTPUTF8
            S: 250 HELP
            C: MAIL FROM:<j\xf6rg@ex\xe4mple.com>
            S: 501 Invalid character "\\xc3\\xa4" in domain "ex\\xc3\\xa4mple.com".
            C: MAIL FROM:<j\xf6rg@ex\xe4mple.com> SMTPUTF8 BODY=8BITMIME
            S: 250 OK
            C: RCPT TO:<\u8a66\u9a13@\u4f8b\u3048.jp>
            S: 250 OK
            C: DATA
            S: """ + START_DATA + u"""
            C: Subject: gr\xfc\xdfe
            C: .
            S: 250 OK
            C: MAIL FROM:<a@example.com>
            S: 250 OK
            C: RCPT TO:<\u8a66@\u4f8b.jp>
            S: 501 Invalid character "\\xe4\\xbe\\x8b" in domain "\\xe4\\xbe\\x8b.jp".
        """).encode('utf-8').decode('latin-1'), deliverer=deliverer,
            extensions=['SMTPUTF8'])
        [message] = deliverer.messages
        self.assertEqual({'smtputf8': True, 'body': '8BITMIME'},
                         message.mail_options)
        from pymta.compat import wire_bytes
        self.assertEqual(u'\u8a66\u9a13@\u4f8b\u3048.jp'.encode('utf-8'),
                         wire_bytes(message.smtp_to[0]))


class DSNTest(unittest.TestCase):
    """DSN (RFC 3461): the parameters are validated and recorded, so a test
    can check what its code asked for."""

    def test_parameters_are_validated_and_recorded(self):
        deliverer = RecordingDeliverer()
        converse(self, """
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client
            S: 250-localhost
            S: 250-DSN
            S: 250 HELP
            C: MAIL FROM:<a@example.com> RET=ALL
            S: 501 Invalid RET: "ALL" (FULL or HDRS)
            C: MAIL FROM:<a@example.com> RET=hdrs ENVID=QQ314159
            S: 250 OK
            C: RCPT TO:<b@example.com> NOTIFY=NEVER,DELAY
            S: 501 Invalid NOTIFY: "NEVER,DELAY"
            C: RCPT TO:<b@example.com> NOTIFY=success,failure ORCPT=rfc822;b+2Bx@example.com
            S: 250 OK
            C: RCPT TO:<c@example.com>
            S: 250 OK
            C: RCPT TO:<d@example.com> ORCPT=rfc822
            S: 501 Invalid ORCPT: "rfc822"
            C: DATA
            S: """ + START_DATA + """
            C: .
            S: 250 OK
        """, deliverer=deliverer, extensions=['DSN'])
        [message] = deliverer.messages
        self.assertEqual({'ret': 'HDRS', 'envid': 'QQ314159'}, message.mail_options)
        self.assertEqual({'b@example.com': {'notify': ('SUCCESS', 'FAILURE'),
                                            'orcpt': 'rfc822;b+2Bx@example.com'}},
                         message.rcpt_options)
        self.assertEqual(['b@example.com', 'c@example.com'], message.smtp_to)

    def test_off_the_parameters_are_refused_as_before(self):
        converse(self, """
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client
            S: 250-localhost
            S: 250 HELP
            C: MAIL FROM:<a@example.com> RET=FULL
            S: 501 Invalid extension: "RET=FULL"
            C: MAIL FROM:<a@example.com>
            S: 250 OK
            C: RCPT TO:<b@example.com> NOTIFY=NEVER
            S: 501 Syntactically invalid argument(s) 'NOTIFY=NEVER'
        """)


class ChunkingTest(unittest.TestCase):
    """CHUNKING (RFC 3030) in the core: BDAT <size> [LAST]."""

    def ehlo(self, **options):
        options.setdefault('deliverer', RecordingDeliverer())
        return converse(self, """
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client
            S: 250-localhost
            S: 250-CHUNKING
            S: 250 HELP
            C: MAIL FROM:<a@example.com>
            S: 250 OK
            C: RCPT TO:<b@example.com>
            S: 250 OK
        """, extensions=['CHUNKING'], **options)

    def test_chunks_then_the_last(self):
        deliverer = RecordingDeliverer()
        smtp = self.ehlo(deliverer=deliverer)
        # (each C: line is its text and CRLF: "BDAT 7" announces "Hello" CRLF)
        converse(self, """
            C: BDAT 7
            C: Hello
            S: 250 7 octets received
            C: DATA
            S: 503 Command "DATA" is not allowed here, expected one of BDAT, HELP, NOOP, QUIT, RSET
            C: BDAT 0
            S: 250 0 octets received
            C: BDAT 8 LAST
            C: .World
            S: 250 OK
            C: BDAT 3 LAST
            S: 503 Command "BDAT" is not allowed here, expected one of AUTH LOGIN, AUTH PLAIN, HELP, MAIL FROM, NOOP, QUIT, RSET
            C: x
            C: NOOP
            S: 250 OK
        """, connection=smtp)
        [message] = deliverer.messages
        # (no dot-stuffing; CRLF -> LF; the last line end dropped, as DATA)
        self.assertEqual('Hello\n.World', message.msg_data)

    def test_binary_octets_and_an_empty_message(self):
        deliverer = RecordingDeliverer()
        smtp = self.ehlo(deliverer=deliverer)
        smtp.receive_data(b'BDAT 10 LAST\r\n\x00\r\n.\r\n\xff\r\n\n')
        self.assertEqual(b'250 OK\r\n', smtp.data_to_send())
        smtp.receive_data(b'MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n'
                          b'BDAT 0 LAST\r\n')
        self.assertEqual(b'250 OK\r\n250 OK\r\n250 OK\r\n', smtp.data_to_send())
        from pymta.compat import wire_bytes
        self.assertEqual([b'\x00\n.\n\xff\n', b''],
                         [wire_bytes(m.msg_data) for m in deliverer.messages])

    def test_rset_between_chunks_and_the_size_limit_across_chunks(self):
        deliverer = RecordingDeliverer()
        smtp = self.ehlo(deliverer=deliverer,
                         policy=_Policy(ehlo_lines=[], max_message_size=10))
        converse(self, """
            C: BDAT 7
            C: 12345
            S: 250 7 octets received
            C: RSET
            S: 250 Reset OK
            C: MAIL FROM:<a@example.com>
            S: 250 OK
            C: RCPT TO:<b@example.com>
            S: 250 OK
            C: BDAT 7
            C: 12345
            S: 250 7 octets received
            C: BDAT 7 LAST
            C: 67890
            S: 552 message exceeds fixed maximum message size
            C: NOOP
            S: 250 OK
        """, connection=smtp)
        self.assertEqual([], deliverer.messages)

    def test_a_refused_bdat_has_its_octets_read_and_thrown_away(self):
        smtp = converse(self, """
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client
            S: 250-localhost
            S: 250-CHUNKING
            S: 250 HELP
            C: BDAT 6
            S: 503 Command "BDAT" is not allowed here, expected one of AUTH LOGIN, AUTH PLAIN, HELP, MAIL FROM, NOOP, QUIT, RSET
            C: QUIT
            C: NOOP
            S: 250 OK
        """, extensions=['CHUNKING'])
        self.assertFalse(smtp.closing)
        smtp = self.ehlo(policy=_Policy(accept_data=False, ehlo_lines=[]))
        converse(self, """
            C: BDAT 6 FIRST
            S: 501 Invalid argument: "FIRST" (LAST or nothing)
            C: QUIT
            C: BDAT 6 LAST
            S: 550 Administrative Prohibition
            C: QUIT
            C: NOOP
            S: 250 OK
        """, connection=smtp)

    def test_a_size_in_other_digits_is_refused_and_skips_nothing(self):
        # (RFC 3030: 1*DIGIT, the ASCII ones; Python 3's str.isdigit()
        # takes superscript two, which int() refuses, and others)
        for size in (u'\u00b2', u'\u0663', u'\uff13'):    # 2, 3, 3
            line = (u'BDAT %s LAST\r\n' % size).encode('utf-8')
            # refused in a transaction (501), and before one (503)
            smtp = self.ehlo()
            smtp.receive_data(line + b'NOOP\r\n')
            replies = smtp.data_to_send()
            self.assertTrue(replies.startswith(b'501 '), replies)
            self.assertTrue(replies.endswith(b'\r\n250 OK\r\n'), replies)
            smtp.receive_data(b'RSET\r\n' + line + b'NOOP\r\n')
            replies = smtp.data_to_send()
            self.assertTrue(replies.startswith(b'250 Reset OK\r\n503 '),
                            replies)
            self.assertTrue(replies.endswith(b'\r\n250 OK\r\n'), replies)
            self.assertFalse(smtp.closing)
        # the 250 of a message before it in the same input stays
        deliverer = RecordingDeliverer()
        smtp = self.ehlo(deliverer=deliverer)
        smtp.receive_data(b'BDAT 2 LAST\r\nhiBDAT \xc2\xb2\r\n')
        replies = smtp.data_to_send()
        self.assertTrue(replies.startswith(b'250 OK\r\n503 '), replies)
        self.assertEqual(1, len(deliverer.messages))

    def test_off_bdat_is_unknown_as_before(self):
        converse(self, """
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client
            S: 250-localhost
            S: 250 HELP
            C: BDAT 6 LAST
            S: 500 unrecognized command "BDAT"
        """)


class PolicyTest(unittest.TestCase):
    def test_a_refused_connection_is_told_and_closed(self):
        smtp = converse(self, 'S: 554 SMTP service not available',
                        policy=_Policy(accept_new_connection=False))
        self.assertTrue(smtp.closing)

    def test_close_before_the_reply_sends_nothing(self):
        smtp = converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: HELO a
        ''', policy=_Policy(accept_helo=_close(before=True)))
        self.assertTrue(smtp.closing)

    def test_a_custom_reply_then_close(self):
        smtp = converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: HELO a
            S: 250-first
            S: 250 second
        ''', policy=_Policy(accept_helo=_close(after=True,
                                                reply=(250, ['first', 'second']))))
        self.assertTrue(smtp.closing)

    def test_a_rejected_recipient_and_a_policy_fault(self):
        logging.getLogger('pymta').disabled = True
        self.addCleanup(setattr, logging.getLogger('pymta'), 'disabled', False)
        converse(self, HELO + '''
            C: MAIL FROM:<a@example.com>
            S: 451 Temporary Local Problem: Please come back later
            C: RSET
            S: 250 Reset OK
        ''', policy=_Policy(accept_from=ValueError('boom')))
        converse(self, HELO + '''
            C: MAIL FROM:<a@example.com>
            S: 250 OK
            C: RCPT TO:<b@example.com>
            S: 550 relay not permitted
            C: DATA
            S: 503 Command "DATA" is not allowed here, expected one of HELP, NOOP, QUIT, RCPT TO, RSET
        ''', policy=_Policy(accept_rcpt_to=False))

    def test_too_many_errors(self):
        smtp = converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: FNORD
            S: 500 unrecognized command "FNORD"
            C: DATA
            S: 503 Command "DATA" is not allowed here, expected one of EHLO, HELO, HELP, NOOP, QUIT, RSET
            S: 421 4.7.0 localhost Error: too many errors
        ''', max_errors=2)
        self.assertTrue(smtp.closing)


if __name__ == '__main__':
    unittest.main()
