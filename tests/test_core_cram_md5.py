# -*- coding: utf-8 -*-
"""AUTH CRAM-MD5 (RFC 2195) in the sans-I/O core: every state and reply of
the exchange, on the wire (SMTPConnection) and through the legacy session;
input split at every octet; the AUTH facts on the messages;
AcceptAnyAuthenticator; pymta.cram_md5."""
from __future__ import absolute_import, print_function

import pickle
import random
import re
import unittest

from pymta.api import IAuthenticator, IMTAPolicy
from pymta.authenticators import AcceptAnyAuthenticator
from pymta.command_parser import SMTPCommandParser
from pymta.compat import b64decode, compare_digest
from pymta.connection import SMTPConnection
from pymta.cram_md5 import cram_md5_digest, digest_matches, new_challenge
import pymta.cram_md5
from pymta.dialogue import Dialogue
from pymta.model import Message, Peer
from pymta.states import AUTH_LINE, COMMAND_LINE
import pymta.test_util as test_util
from .core_support import RecordingAuthenticator, RecordingChannel, \
    RecordingDeliverer, b64, converse


# RFC 2195's example
RFC_CHALLENGE = '<1896.697170952@postoffice.reston.mci.net>'
RFC_CHALLENGE_B64 = 'PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+'
RFC_ANSWER_B64 = 'dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw'
RFC_DIGEST = 'b913a602c7eda7a495b4e6e7334d3890'

#: the challenge the tests' dialogues send (see fixed_challenge)
CHALLENGE = '<4711.1700000000@localhost>'
CHALLENGE_B64 = b64(CHALLENGE)
AUTH_OK = '235 Authentication successful'
AUTH_BAD = '535 Bad username or password'
GARBLED = '501 Garbled data sent'
CANCELLED = '501 Authentication cancelled'
UNKNOWN_MECHANISM = '504 Unrecognized authentication type'


def fixed_challenge(hostname):
    return '<4711.1700000000@%s>' % hostname


def answer(username, password, challenge=CHALLENGE):
    """The client's line: base64 of ``username SP digest``."""
    return b64(username + ' ' + cram_md5_digest(password, challenge))


class SecretsAuthenticator(IAuthenticator):
    """Knows the passwords of ``secrets``; records every CRAM-MD5 call;
    raises ``exception`` if given."""

    def __init__(self, secrets=None, exception=None):
        self.secrets = secrets if secrets is not None else {'tim': 'secret'}
        self.exception = exception
        self.calls = []

    def authenticate(self, username, password, peer):
        return self.secrets.get(username) == password

    def authenticate_cram_md5(self, username, challenge, digest, peer):
        self.calls.append((username, challenge, digest, peer.remote_ip))
        if self.exception is not None:
            raise self.exception
        return digest_matches(self.secrets.get(username), challenge, digest)


class RecordingSecretsAuthenticator(SecretsAuthenticator):
    records_password = True


class CramMd5Policy(IMTAPolicy):
    """Offers CRAM-MD5 first (the default offers PLAIN and LOGIN)."""

    def auth_methods(self, peer):
        return ('CRAM-MD5', 'PLAIN', 'LOGIN')


def new_connection(authenticator=None, policy=None, **options):
    """A started SMTPConnection whose dialogue sends CHALLENGE."""
    if authenticator is None:
        authenticator = SecretsAuthenticator()
    if policy is None:
        policy = CramMd5Policy()
    deliverer = options.pop('deliverer', None) or RecordingDeliverer()
    connection = SMTPConnection(deliverer, policy=policy,
                                authenticator=authenticator, **options)
    connection.deliverer = deliverer
    connection.dialogue.cram_md5_challenge = fixed_challenge
    connection.start('127.0.0.1', 4567)
    return connection


EHLO = '''
    S: 220 localhost Hello 127.0.0.1
    C: EHLO client.example
    S: 250-localhost
    S: 250-AUTH CRAM-MD5 PLAIN LOGIN
    S: 250 HELP
'''


class CramMd5ModuleTest(unittest.TestCase):
    def test_the_example_of_rfc_2195(self):
        self.assertEqual(RFC_CHALLENGE, b64decode(RFC_CHALLENGE_B64))
        self.assertEqual(RFC_DIGEST, cram_md5_digest('tanstaaftanstaaf',
                                                     RFC_CHALLENGE))
        self.assertEqual('tim ' + RFC_DIGEST, b64decode(RFC_ANSWER_B64))
        self.assertTrue(digest_matches('tanstaaftanstaaf', RFC_CHALLENGE,
                                       RFC_DIGEST))
        self.assertTrue(digest_matches('tanstaaftanstaaf', RFC_CHALLENGE,
                                       RFC_DIGEST.upper()))

    def test_digest_matches_only_the_right_password_and_challenge(self):
        self.assertFalse(digest_matches('tanstaaf', RFC_CHALLENGE, RFC_DIGEST))
        self.assertFalse(digest_matches('tanstaaftanstaaf', CHALLENGE,
                                        RFC_DIGEST))
        self.assertFalse(digest_matches(None, RFC_CHALLENGE, RFC_DIGEST))
        self.assertFalse(digest_matches('tanstaaftanstaaf', RFC_CHALLENGE,
                                        RFC_DIGEST[:-1]))

    def test_compare_digest(self):
        self.assertTrue(compare_digest(b'abc', b'abc'))
        self.assertFalse(compare_digest(b'abc', b'abd'))
        self.assertFalse(compare_digest(b'abc', b'abcd'))

    def test_a_challenge_is_random_digits_a_timestamp_and_the_host(self):
        challenge = new_challenge('mx.example.com')
        match = re.match(r'^<([0-9]+)\.([0-9]+)@mx\.example\.com>$', challenge)
        self.assertTrue(match, challenge)
        self.assertTrue(int(match.group(2)) > 1600000000, challenge)

    def test_challenges_are_not_predictable(self):
        # (seeding the random module changes nothing: the digits come from
        # os.urandom)
        challenges = set()
        for _ in range(50):
            random.seed(1)
            challenges.add(new_challenge('localhost').split('.')[0])
        self.assertEqual(50, len(challenges))

    def test_the_digits_come_from_os_urandom(self):
        calls = []

        def urandom(count):
            calls.append(count)
            return b'\x00' * (count - 1) + b'\x2a'
        original = pymta.cram_md5.os.urandom
        pymta.cram_md5.os.urandom = urandom
        try:
            challenge = new_challenge('localhost')
        finally:
            pymta.cram_md5.os.urandom = original
        self.assertEqual([8], calls)
        self.assertTrue(challenge.startswith('<42.'), challenge)

    def test_the_dialogue_uses_new_challenge(self):
        self.assertTrue(Dialogue.cram_md5_challenge is new_challenge)


class CramMd5ExchangeTest(unittest.TestCase):
    def test_ok(self):
        authenticator = SecretsAuthenticator()
        connection = converse(self, EHLO + '''
            C: AUTH CRAM-MD5
            S: 334 %s
            C: %s
            S: 235 Authentication successful
            C: MAIL FROM:<tim@example.com>
            S: 250 OK
            C: RCPT TO:<b@example.com>
            S: 250 OK
            C: DATA
            S: 354 Enter message, ending with "." on a line by itself
            C: Hi
            C: .
            S: 250 OK
        ''' % (CHALLENGE_B64, answer('tim', 'secret')),
            new_connection(authenticator))
        self.assertEqual([('tim', CHALLENGE, cram_md5_digest('secret', CHALLENGE),
                           '127.0.0.1')], authenticator.calls)
        message, = connection.deliverer.messages
        self.assertEqual('tim', message.username)
        self.assertEqual('CRAM-MD5', message.auth_mechanism)
        # (records_password is off)
        self.assertEqual(None, message.password)
        self.assertEqual(None, message.cram_md5)

    def test_the_states_and_readers_of_the_exchange(self):
        connection = new_connection()
        dialogue = connection.dialogue
        connection.receive_data(b'EHLO client.example\r\n')
        connection.receive_data(b'AUTH CRAM-MD5\r\n')
        self.assertEqual('auth_cram_md5_response', dialogue.state.current())
        # (SPEC 4: the exchange happens inside the AUTH command)
        self.assertEqual('initialized', dialogue.state.state())
        self.assertEqual(AUTH_LINE, connection.reader)
        self.assertEqual(set(), dialogue.get_all_allowed_smtp_commands())
        connection.receive_data(answer('tim', 'secret').encode('ascii') +
                                b'\r\n')
        self.assertEqual('authenticated', dialogue.state.current())
        self.assertTrue(dialogue.state.is_set('authenticated'))
        self.assertEqual(COMMAND_LINE, connection.reader)

    def test_the_rfc_example_with_its_challenge(self):
        connection = new_connection(SecretsAuthenticator(
            {'tim': 'tanstaaftanstaaf'}))
        connection.dialogue.cram_md5_challenge = lambda hostname: RFC_CHALLENGE
        converse(self, EHLO + '''
            C: AUTH CRAM-MD5
            S: 334 %s
            C: %s
            S: 235 Authentication successful
        ''' % (RFC_CHALLENGE_B64, RFC_ANSWER_B64), connection)

    def test_a_new_challenge_for_every_exchange(self):
        connection = new_connection()
        del connection.dialogue.cram_md5_challenge   # the real one
        connection.receive_data(b'EHLO client.example\r\n')
        connection.data_to_send()
        challenges = []
        for _ in range(3):
            connection.receive_data(b'AUTH CRAM-MD5\r\n')
            reply = connection.data_to_send()
            self.assertTrue(reply.startswith(b'334 '), reply)
            challenge = b64decode(reply[4:-2].decode('ascii'))
            self.assertTrue(re.match(r'^<[0-9]+\.[0-9]+@localhost>$',
                                     challenge), challenge)
            challenges.append(challenge)
            connection.receive_data(b'*\r\n')
            self.assertEqual(b'501 Authentication cancelled\r\n',
                             connection.data_to_send())
        self.assertEqual(3, len(set(challenges)))
        # the answer to the last one counts
        connection.receive_data(b'AUTH CRAM-MD5\r\n')
        challenge = b64decode(connection.data_to_send()[4:-2].decode('ascii'))
        connection.receive_data(answer('tim', 'secret', challenge).encode(
            'ascii') + b'\r\n')
        self.assertEqual(b'235 Authentication successful\r\n',
                         connection.data_to_send())

    def test_the_answer_to_an_old_challenge_fails(self):
        converse(self, EHLO + '''
            C: AUTH CRAM-MD5
            S: 334 %s
            C: %s
            S: 535 Bad username or password
        ''' % (CHALLENGE_B64, answer('tim', 'secret', RFC_CHALLENGE)),
            new_connection())

    def test_bad_password_then_retry(self):
        connection = converse(self, EHLO + '''
            C: AUTH CRAM-MD5
            S: 334 %s
            C: %s
            S: 535 Bad username or password
            C: NOOP
            S: 250 OK
            C: AUTH CRAM-MD5
            S: 334 %s
            C: %s
            S: 535 Bad username or password
            C: AUTH CRAM-MD5
            S: 334 %s
            C: %s
            S: 235 Authentication successful
        ''' % (CHALLENGE_B64, answer('tim', 'wrong'), CHALLENGE_B64,
               answer('nobody', 'secret'), CHALLENGE_B64,
               answer('tim', 'secret')), new_connection())
        self.assertEqual('authenticated', connection.dialogue.state.current())

    def test_hex_digits_in_upper_case(self):
        line = b64('tim ' + cram_md5_digest('secret', CHALLENGE).upper())
        converse(self, EHLO + '''
            C: AUTH CRAM-MD5
            S: 334 %s
            C: %s
            S: 235 Authentication successful
        ''' % (CHALLENGE_B64, line), new_connection())

    def test_a_user_name_with_blanks(self):
        connection = new_connection(SecretsAuthenticator({'tim t': 'pw'}))
        converse(self, EHLO + '''
            C: AUTH CRAM-MD5
            S: 334 %s
            C: %s
            S: 235 Authentication successful
        ''' % (CHALLENGE_B64, answer('tim t', 'pw')), connection)
        self.assertEqual('tim t', connection.dialogue._message.username)

    def test_cancel(self):
        authenticator = SecretsAuthenticator()
        connection = converse(self, EHLO + '''
            C: AUTH CRAM-MD5
            S: 334 %s
            C: *
            S: 501 Authentication cancelled
            C: NOOP
            S: 250 OK
        ''' % CHALLENGE_B64, new_connection(authenticator))
        self.assertEqual([], authenticator.calls)
        self.assertEqual('initialized', connection.dialogue.state.current())

    def test_garbled_answers_end_the_exchange(self):
        digest = cram_md5_digest('secret', CHALLENGE)
        for line in ('a', '!!!!', b64('tim'), b64('tim ' + digest[:-1]),
                     b64('tim ' + digest + '0'), b64('tim ' + 'g' * 32),
                     b64(' ' + digest), b64('tim\t' + digest),
                     answer('tim', 'secret') + ' x', ''):
            authenticator = SecretsAuthenticator()
            connection = converse(self, EHLO + '''
                C: AUTH CRAM-MD5
                S: 334 %s
                C: %s
                S: 501 Garbled data sent
                C: NOOP
                S: 250 OK
            ''' % (CHALLENGE_B64, line), new_connection(authenticator))
            self.assertEqual([], authenticator.calls, line)
            self.assertEqual('initialized',
                             connection.dialogue.state.current())

    def test_an_initial_response_is_a_501(self):
        # (RFC 4954: CRAM-MD5 has none)
        converse(self, EHLO + '''
            C: AUTH CRAM-MD5 %s
            S: 501 Syntactically invalid argument(s) '%s'
            C: NOOP
            S: 250 OK
        ''' % (answer('tim', 'secret'), answer('tim', 'secret')),
            new_connection())

    def test_mechanism_case_insensitive(self):
        converse(self, EHLO + '''
            C: auth cram-md5
            S: 334 %s
            C: %s
            S: 235 Authentication successful
        ''' % (CHALLENGE_B64, answer('tim', 'secret')), new_connection())

    def test_out_of_order(self):
        connection = converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: AUTH CRAM-MD5
            S: 503 Command "AUTH CRAM-MD5" is not allowed here, expected one of EHLO, HELO, HELP, NOOP, QUIT, RSET
            C: HELO client.example
            S: 250 localhost
            C: AUTH CRAM-MD5
            S: 503 Command "AUTH CRAM-MD5" is not allowed here, expected one of HELP, MAIL FROM, NOOP, QUIT, RSET
        ''', new_connection())
        self.assertEqual(COMMAND_LINE, connection.reader)

    def test_a_second_auth_is_503(self):
        connection = converse(self, EHLO + '''
            C: AUTH CRAM-MD5
            S: 334 %s
            C: %s
            S: 235 Authentication successful
            C: AUTH CRAM-MD5
            S: 503 Command "AUTH CRAM-MD5" is not allowed here, expected one of HELP, MAIL FROM, NOOP, QUIT, RSET
            C: AUTH PLAIN %s
            S: 503 Command "AUTH PLAIN" is not allowed here, expected one of HELP, MAIL FROM, NOOP, QUIT, RSET
        ''' % (CHALLENGE_B64, answer('tim', 'secret'), b64('\0tim\0secret')),
            new_connection())
        self.assertEqual('tim', connection.dialogue._message.username)

    def test_after_mail_from_is_503(self):
        connection = converse(self, EHLO + '''
            C: MAIL FROM:<a@example.com>
            S: 250 OK
            C: AUTH CRAM-MD5
            S: 503 Command "AUTH CRAM-MD5" is not allowed here, expected one of HELP, NOOP, QUIT, RCPT TO, RSET
        ''', new_connection())
        self.assertEqual('sender_known', connection.dialogue.state.current())

    def test_a_line_too_long_ends_the_exchange(self):
        authenticator = SecretsAuthenticator()
        connection = new_connection(authenticator)
        converse(self, EHLO + '''
            C: AUTH CRAM-MD5
            S: 334 %s
            C: %s
            S: 500 Line too long
            C: NOOP
            S: 250 OK
        ''' % (CHALLENGE_B64, 'A' * 3000), connection)
        self.assertEqual([], authenticator.calls)
        self.assertEqual('initialized', connection.dialogue.state.current())

    def test_an_authenticator_that_raises_gets_451(self):
        authenticator = SecretsAuthenticator(exception=RuntimeError('boom'))
        connection = converse(self, EHLO + '''
            C: AUTH CRAM-MD5
            S: 334 %s
            C: %s
            S: 451 Temporary Local Problem: Please come back later
            C: NOOP
            S: 250 OK
        ''' % (CHALLENGE_B64, answer('tim', 'secret')),
            new_connection(authenticator))
        self.assertEqual('initialized', connection.dialogue.state.current())
        authenticator.exception = None
        converse(self, '''
            C: AUTH CRAM-MD5
            S: 334 %s
            C: %s
            S: 235 Authentication successful
        ''' % (CHALLENGE_B64, answer('tim', 'secret')), connection)

    def test_max_auth_failures(self):
        connection = converse(self, EHLO + '''
            C: AUTH PLAIN %s
            S: 535 Bad username or password
            C: AUTH CRAM-MD5
            S: 334 %s
            C: %s
            S: 535 Bad username or password
            S: 421 4.7.0 localhost Error: too many authentication failures
        ''' % (b64('\0tim\0wrong'), CHALLENGE_B64, answer('tim', 'wrong')),
            new_connection(max_auth_failures=2))
        self.assertTrue(connection.closing)

    def test_garbled_and_cancelled_answers_count_as_errors(self):
        connection = converse(self, EHLO + '''
            C: AUTH CRAM-MD5
            S: 334 %s
            C: x
            S: 501 Garbled data sent
            C: AUTH CRAM-MD5
            S: 334 %s
            C: *
            S: 501 Authentication cancelled
            S: 421 4.7.0 localhost Error: too many errors
        ''' % (CHALLENGE_B64, CHALLENGE_B64),
            new_connection(max_errors=2))
        self.assertTrue(connection.closing)

    def test_require_tls_auth_refuses_it_in_the_clear(self):
        converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client.example
            S: 250-localhost
            S: 250 HELP
            C: AUTH CRAM-MD5
            S: 538 5.7.11 Encryption required for requested authentication mechanism
        ''', new_connection(require_tls='auth'))

    def test_pipelined_commands_after_the_answer(self):
        connection = new_connection(extensions=('PIPELINING',))
        connection.receive_data(b'EHLO client.example\r\n')
        connection.data_to_send()
        # a client that knows the challenge (the test does) could send all
        # at once: the line after AUTH is the answer, the rest commands
        connection.receive_data(
            b'AUTH CRAM-MD5\r\n' + answer('tim', 'secret').encode('ascii') +
            b'\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n'
            b'DATA\r\nHi\r\n.\r\nQUIT\r\n')
        self.assertEqual(
            ('334 %s\r\n235 Authentication successful\r\n250 OK\r\n'
             '250 OK\r\n354 Enter message, ending with "." on a line by '
             'itself\r\n250 OK\r\n221 localhost closing connection\r\n' %
             CHALLENGE_B64).encode('ascii'), connection.data_to_send())
        self.assertEqual('tim', connection.deliverer.messages[0].username)

    def test_a_command_pipelined_behind_auth_is_read_as_the_answer(self):
        # (RFC 4954: AUTH ends a pipelined group; what follows it before
        # the challenge is the answer)
        connection = new_connection(extensions=('PIPELINING',))
        connection.receive_data(b'EHLO client.example\r\n')
        connection.data_to_send()
        connection.receive_data(b'AUTH CRAM-MD5\r\nNOOP\r\nNOOP\r\n')
        self.assertEqual(('334 %s\r\n501 Garbled data sent\r\n250 OK\r\n' %
                          CHALLENGE_B64).encode('ascii'),
                         connection.data_to_send())


class CramMd5PolicyTest(unittest.TestCase):
    def test_the_default_policy_does_not_offer_it(self):
        authenticator = SecretsAuthenticator()
        converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client.example
            S: 250-localhost
            S: 250-AUTH PLAIN LOGIN
            S: 250 HELP
            C: AUTH CRAM-MD5
            S: 550 Administrative Prohibition
            C: AUTH PLAIN %s
            S: 235 Authentication successful
        ''' % b64('\0tim\0secret'),
            new_connection(authenticator, policy=IMTAPolicy()))
        self.assertEqual([], authenticator.calls)

    def test_without_a_policy(self):
        connection = SMTPConnection(RecordingDeliverer(),
                                    authenticator=SecretsAuthenticator())
        connection.dialogue.cram_md5_challenge = fixed_challenge
        connection.start('127.0.0.1', 4567)
        converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client.example
            S: 250-localhost
            S: 250-AUTH PLAIN
            S: 250 HELP
            C: AUTH CRAM-MD5
            S: 334 %s
            C: %s
            S: 235 Authentication successful
        ''' % (CHALLENGE_B64, answer('tim', 'secret')), connection)

    def test_the_default_hook_asks_auth_methods(self):
        policy = CramMd5Policy()
        message = Message(Peer('127.0.0.1', 4567))
        self.assertTrue(policy.accept_auth_cram_md5(message))
        self.assertFalse(IMTAPolicy().accept_auth_cram_md5(message))

    def test_the_hook_gets_the_message(self):
        calls = []

        class Policy(CramMd5Policy):
            def accept_auth_cram_md5(self, message):
                calls.append((message.smtp_helo, message.peer.remote_ip))
                return True
        converse(self, EHLO + '''
            C: AUTH CRAM-MD5
            S: 334 %s
        ''' % CHALLENGE_B64, new_connection(policy=Policy()))
        self.assertEqual([('client.example', '127.0.0.1')], calls)

    def test_a_custom_refusal(self):
        class Policy(CramMd5Policy):
            def accept_auth_cram_md5(self, message):
                return (False, (504, 'Not for you'))
        connection = converse(self, EHLO + '''
            C: AUTH CRAM-MD5
            S: 504 Not for you
        ''', new_connection(policy=Policy()))
        self.assertEqual(COMMAND_LINE, connection.reader)

    def test_a_custom_reply_to_accept_does_not_replace_the_challenge(self):
        class Policy(CramMd5Policy):
            def accept_auth_cram_md5(self, message):
                return (True, (334, 'something else'))
        converse(self, EHLO + '''
            C: AUTH CRAM-MD5
            S: 334 %s
            C: %s
            S: 235 Authentication successful
        ''' % (CHALLENGE_B64, answer('tim', 'secret')),
            new_connection(policy=Policy()))

    def test_a_policy_that_raises_gets_451(self):
        class Policy(CramMd5Policy):
            def accept_auth_cram_md5(self, message):
                raise RuntimeError('boom')
        connection = converse(self, EHLO + '''
            C: AUTH CRAM-MD5
            S: 451 Temporary Local Problem: Please come back later
            C: NOOP
            S: 250 OK
        ''', new_connection(policy=Policy()))
        self.assertEqual('initialized', connection.dialogue.state.current())

    def test_close_before_response(self):
        from pymta.api import PolicyDecision

        class Policy(CramMd5Policy):
            def accept_auth_cram_md5(self, message):
                decision = PolicyDecision(True)
                decision._close_connection_before_response = True
                return decision
        connection = converse(self, EHLO + '''
            C: AUTH CRAM-MD5
        ''', new_connection(policy=Policy()))
        self.assertTrue(connection.closing)


class WithoutCramMd5Test(unittest.TestCase):
    """An authenticator without authenticate_cram_md5 (every legacy one),
    or none: AUTH CRAM-MD5 does not exist, every reply is as before."""

    def test_it_is_an_unknown_mechanism_in_every_state(self):
        for authenticator in (RecordingAuthenticator(),
                              test_util.DummyAuthenticator(), None):
            connection = SMTPConnection(RecordingDeliverer(), policy=CramMd5Policy(),
                                        authenticator=authenticator)
            connection.start('127.0.0.1', 4567)
            converse(self, '''
                S: 220 localhost Hello 127.0.0.1
                C: AUTH CRAM-MD5
                S: 504 Unrecognized authentication type
                C: EHLO client.example
                S: 250-localhost
                S: 250-AUTH CRAM-MD5 PLAIN LOGIN
                S: 250 HELP
                C: AUTH CRAM-MD5
                S: 504 Unrecognized authentication type
                C: AUTH
                S: 501 Syntax: AUTH LOGIN [<base64 username>] | AUTH PLAIN <base64 of [authzid]\\0username\\0password>
                C: HELP AUTH
                S: 214 AUTH LOGIN [<base64 username>] | AUTH PLAIN <base64 of [authzid]\\0username\\0password>
            ''', connection)
            self.assertFalse('AUTH CRAM-MD5' in
                             connection.dialogue.get_all_allowed_internal_commands())

    def test_an_iauthenticator_subclass_without_it(self):
        class Authenticator(IAuthenticator):
            def authenticate(self, username, password, peer):
                return True
        connection = SMTPConnection(RecordingDeliverer(),
                                    authenticator=Authenticator())
        connection.start('127.0.0.1', 4567)
        converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client.example
            S: 250-localhost
            S: 250-AUTH PLAIN
            S: 250 HELP
            C: AUTH CRAM-MD5
            S: 504 Unrecognized authentication type
        ''', connection)

    def test_with_it_help_and_syntax_name_it(self):
        converse(self, EHLO + '''
            C: AUTH
            S: 501 Syntax: AUTH CRAM-MD5 | AUTH LOGIN [<base64 username>] | AUTH PLAIN <base64 of [authzid]\\0username\\0password>
            C: HELP AUTH
            S: 214 AUTH CRAM-MD5 | AUTH LOGIN [<base64 username>] | AUTH PLAIN <base64 of [authzid]\\0username\\0password>
        ''', new_connection())

    def test_with_extensions_too(self):
        connection = SMTPConnection(RecordingDeliverer(), policy=CramMd5Policy(),
                                    authenticator=RecordingAuthenticator(),
                                    extensions=('ENHANCEDSTATUSCODES',))
        connection.start('127.0.0.1', 4567)
        converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client.example
            S: 250-localhost
            S: 250-AUTH CRAM-MD5 PLAIN LOGIN
            S: 250-ENHANCEDSTATUSCODES
            S: 250 HELP
            C: AUTH CRAM-MD5
            S: 504 5.5.4 Unrecognized authentication type
        ''', connection)


class EnhancedStatusCodesTest(unittest.TestCase):
    def test_every_reply_of_the_exchange(self):
        connection = new_connection(extensions=('ENHANCEDSTATUSCODES',),
                                    max_auth_failures=10)
        converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client.example
            S: 250-localhost
            S: 250-AUTH CRAM-MD5 PLAIN LOGIN
            S: 250-ENHANCEDSTATUSCODES
            S: 250 HELP
            C: AUTH CRAM-MD5 x
            S: 501 5.5.4 Syntactically invalid argument(s) 'x'
            C: AUTH CRAM-MD5
            S: 334 %(challenge)s
            C: *
            S: 501 5.0.0 Authentication cancelled
            C: AUTH CRAM-MD5
            S: 334 %(challenge)s
            C: x
            S: 501 5.5.2 Garbled data sent
            C: AUTH CRAM-MD5
            S: 334 %(challenge)s
            C: %(wrong)s
            S: 535 5.7.8 Bad username or password
            C: AUTH CRAM-MD5
            S: 334 %(challenge)s
            C: %(right)s
            S: 235 2.7.0 Authentication successful
            C: AUTH CRAM-MD5
            S: 503 5.5.1 Command "AUTH CRAM-MD5" is not allowed here, expected one of HELP, MAIL FROM, NOOP, QUIT, RSET
        ''' % {'challenge': CHALLENGE_B64, 'wrong': answer('tim', 'wrong'),
               'right': answer('tim', 'secret')}, connection)

    def test_refused_by_the_policy(self):
        converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client.example
            S: 250-localhost
            S: 250-AUTH PLAIN LOGIN
            S: 250-ENHANCEDSTATUSCODES
            S: 250 HELP
            C: AUTH CRAM-MD5
            S: 550 5.7.1 Administrative Prohibition
        ''', new_connection(policy=IMTAPolicy(),
                            extensions=('ENHANCEDSTATUSCODES',)))


class LegacySessionTest(unittest.TestCase):
    """Through SMTPSession (CommandParserHelper) and SMTPCommandParser."""

    def test_the_session(self):
        helper = test_util.CommandParserHelper(
            policy=CramMd5Policy(), authenticator=SecretsAuthenticator())
        helper.session._dialogue.cram_md5_challenge = fixed_challenge
        helper.ehlo()
        code, text = helper.send('AUTH CRAM-MD5', expected_first_digit=3)
        self.assertEqual((334, CHALLENGE_B64), (int(code), text))
        self.assertEqual('auth_login', helper.command_parser.mode)
        self.assertEqual('initialized', helper.session.state.state())
        code, text = helper._handle_auth_credentials(answer('tim', 'secret'))
        self.assertEqual((235, 'Authentication successful'), (int(code), text))
        self.assertEqual('command', helper.command_parser.mode)
        self.assertEqual('authenticated', helper.session.state.state())

    def test_the_session_bad_answer(self):
        helper = test_util.CommandParserHelper(
            policy=CramMd5Policy(), authenticator=SecretsAuthenticator())
        helper.ehlo()
        helper.send('AUTH CRAM-MD5', expected_first_digit=3)
        code, text = helper._handle_auth_credentials(answer('tim', 'secret'))
        # (the real challenge: the test's answer is to another one)
        self.assertEqual((535, 'Bad username or password'), (int(code), text))
        self.assertEqual('initialized', helper.session.state.state())

    def test_the_parser(self):
        channel = RecordingChannel()
        deliverer = RecordingDeliverer()
        parser = SMTPCommandParser(channel, '127.0.0.1', 4567, deliverer,
                                   policy=CramMd5Policy(),
                                   authenticator=SecretsAuthenticator(),
                                   primary_hostname='localhost')
        parser._connection.dialogue.cram_md5_challenge = fixed_challenge
        parser.process_new_data(b'EHLO client.example\r\nAUTH CRAM-MD5\r\n')
        self.assertTrue(parser.is_in_auth_login_mode())
        parser.process_new_data(answer('tim', 'secret').encode('ascii') +
                                b'\r\n')
        self.assertTrue(parser.is_in_command_mode())
        self.assertEqual('220 localhost Hello 127.0.0.1\r\n'
                         '250-localhost\r\n250-AUTH CRAM-MD5 PLAIN LOGIN\r\n'
                         '250 HELP\r\n334 %s\r\n'
                         '235 Authentication successful\r\n' % CHALLENGE_B64,
                         ''.join(channel.written))


def run_dialogue(chunks, through_parser=False):
    """Feed ``chunks`` to a connection (or the legacy parser) with the
    fixed challenge: (reply octets as text, messages, closed?)."""
    deliverer = RecordingDeliverer()
    authenticator = RecordingSecretsAuthenticator({'tim': 'secret',
                                                   'ann': 'pw'})
    if through_parser:
        channel = RecordingChannel(fail_after_close=True)
        parser = SMTPCommandParser(channel, '127.0.0.1', 4567, deliverer,
                                   policy=CramMd5Policy(),
                                   authenticator=authenticator,
                                   primary_hostname='localhost')
        parser._connection.dialogue.cram_md5_challenge = fixed_challenge
        for chunk in chunks:
            parser.process_new_data(chunk)
        wire, closed = ''.join(channel.written), channel.closed
    else:
        connection = new_connection(authenticator, deliverer=deliverer)
        wire = [connection.data_to_send()]
        for chunk in chunks:
            connection.receive_data(chunk)
            wire.append(connection.data_to_send())
        wire, closed = b''.join(wire).decode('latin-1'), connection.closing
    return wire, [(m.smtp_from, m.username, m.auth_mechanism, m.password,
                   m.cram_md5, m.msg_data) for m in deliverer.messages], closed


# garbled, cancelled and bad answers, then a good one; pipelined commands
# behind the answer; a message; RSET; a second message
SPLIT_DIALOGUE = (
    b'EHLO client.example\r\n'
    b'AUTH CRAM-MD5\r\n!\r\n'
    b'AUTH CRAM-MD5\r\n*\r\n'
    b'AUTH CRAM-MD5\n' + answer('tim', 'wrong').encode('ascii') + b'\n'
    b'AUTH CRAM-MD5\r\n' + answer('tim', 'secret').encode('ascii') + b'\r\n'
    b'MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n'
    b'one\r\n.\r\n'
    b'MAIL FROM:<c@example.com>\r\nRSET\r\n'
    b'MAIL FROM:<d@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n'
    b'two\r\n.\r\n'
    b'QUIT\r\n'
)

SPLIT_REPLIES = [
    '220 localhost Hello 127.0.0.1', '250-localhost',
    '250-AUTH CRAM-MD5 PLAIN LOGIN', '250 HELP',
    '334 ' + CHALLENGE_B64, GARBLED,
    '334 ' + CHALLENGE_B64, CANCELLED,
    '334 ' + CHALLENGE_B64, AUTH_BAD,
    '334 ' + CHALLENGE_B64, AUTH_OK,
    '250 OK', '250 OK', '354 Enter message, ending with "." on a line by itself',
    '250 OK', '250 OK', '250 Reset OK', '250 OK', '250 OK',
    '354 Enter message, ending with "." on a line by itself', '250 OK',
    '221 localhost closing connection']


def split_at(data, positions):
    positions = sorted(set(p for p in positions if 0 < p < len(data)))
    starts = [0] + positions
    ends = positions + [len(data)]
    return [data[start:end] for start, end in zip(starts, ends)]


class SplitCramMd5DialogueTest(unittest.TestCase):
    def setUp(self):
        self.reference = run_dialogue([SPLIT_DIALOGUE])

    def test_the_reference_run(self):
        wire, messages, closed = self.reference
        self.assertEqual(''.join(line + '\r\n' for line in SPLIT_REPLIES), wire)
        cram_md5 = {'challenge': CHALLENGE,
                    'digest': cram_md5_digest('secret', CHALLENGE)}
        self.assertEqual([('a@example.com', 'tim', 'CRAM-MD5', None, cram_md5,
                           'one'),
                          ('d@example.com', 'tim', 'CRAM-MD5', None, cram_md5,
                           'two')], messages)
        self.assertTrue(closed)

    def check_split(self, positions, through_parser=False):
        chunks = split_at(SPLIT_DIALOGUE, positions)
        self.assertEqual(SPLIT_DIALOGUE, b''.join(chunks))
        self.assertEqual(self.reference, run_dialogue(chunks, through_parser),
                         chunks)

    def test_every_single_split_point(self):
        for position in range(1, len(SPLIT_DIALOGUE)):
            self.check_split([position])

    def test_every_pair_of_adjacent_split_points(self):
        for position in range(1, len(SPLIT_DIALOGUE) - 1):
            self.check_split([position, position + 1])

    def test_one_octet_at_a_time(self):
        self.check_split(range(1, len(SPLIT_DIALOGUE)))

    def test_seeded_random_multi_splits(self):
        rng = random.Random(20250914)
        for _ in range(200):
            self.check_split([rng.randint(1, len(SPLIT_DIALOGUE) - 1)
                              for _ in range(rng.randint(2, 40))])

    def test_the_legacy_parser_gives_the_same(self):
        rng = random.Random(20250915)
        for _ in range(30):
            self.check_split([rng.randint(1, len(SPLIT_DIALOGUE) - 1)
                              for _ in range(rng.randint(0, 30))],
                             through_parser=True)


class AuthFactsOnTheMessageTest(unittest.TestCase):
    """Message.auth_mechanism, .password, .cram_md5: plain data that
    survives RSET, the next message and pickling."""

    def deliver_two(self, authenticator, auth_lines, policy=None):
        connection = new_connection(authenticator, policy=policy)
        connection.receive_data(b'EHLO client.example\r\n')
        for line in auth_lines:
            connection.receive_data(line.encode('ascii') + b'\r\n')
        self.assertEqual('authenticated', connection.dialogue.state.current(),
                         connection.data_to_send())
        connection.receive_data(
            b'MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n'
            b'DATA\r\none\r\n.\r\nMAIL FROM:<x@example.com>\r\nRSET\r\n'
            b'MAIL FROM:<c@example.com>\r\nRCPT TO:<b@example.com>\r\n'
            b'DATA\r\ntwo\r\n.\r\n')
        messages = connection.deliverer.messages
        self.assertEqual(2, len(messages))
        return messages

    def facts(self, message):
        copy = pickle.loads(pickle.dumps(message, 2))
        facts = (copy.username, copy.auth_mechanism, copy.password,
                 copy.cram_md5)
        self.assertEqual(facts, (message.username, message.auth_mechanism,
                                 message.password, message.cram_md5))
        return facts

    def test_without_auth(self):
        message = Message(Peer('127.0.0.1', 4567))
        self.assertEqual((None, None, None, None), self.facts(message))

    def test_plain_and_login_without_records_password(self):
        for lines, mechanism in (
                (['AUTH PLAIN ' + b64('\0tim\0secret')], 'PLAIN'),
                (['AUTH LOGIN', b64('tim'), b64('secret')], 'LOGIN'),
                (['AUTH LOGIN ' + b64('tim'), b64('secret')], 'LOGIN')):
            for message in self.deliver_two(SecretsAuthenticator(), lines):
                self.assertEqual(('tim', mechanism, None, None),
                                 self.facts(message))

    def test_records_password(self):
        for lines, mechanism in (
                (['AUTH PLAIN ' + b64('\0tim\0secret')], 'PLAIN'),
                (['AUTH LOGIN', b64('tim'), b64('secret')], 'LOGIN')):
            messages = self.deliver_two(RecordingSecretsAuthenticator(), lines)
            for message in messages:
                self.assertEqual(('tim', mechanism, 'secret', None),
                                 self.facts(message))

    def test_records_the_cram_md5_answer(self):
        messages = self.deliver_two(RecordingSecretsAuthenticator(),
                                    ['AUTH CRAM-MD5', answer('tim', 'secret')])
        cram_md5 = {'challenge': CHALLENGE,
                    'digest': cram_md5_digest('secret', CHALLENGE)}
        for message in messages:
            self.assertEqual(('tim', 'CRAM-MD5', None, cram_md5),
                             self.facts(message))
            self.assertTrue(digest_matches('secret', **message.cram_md5))
        # (each message has its own dict)
        self.assertFalse(messages[0].cram_md5 is messages[1].cram_md5)

    def test_the_legacy_dummy_authenticator_records_no_password(self):
        for message in self.deliver_two(test_util.DummyAuthenticator(),
                                        ['AUTH PLAIN ' + b64('\0tim\0tim')]):
            self.assertEqual(('tim', 'PLAIN', None, None), self.facts(message))

    def test_a_failed_auth_records_nothing(self):
        connection = new_connection(RecordingSecretsAuthenticator())
        connection.receive_data(
            b'EHLO client.example\r\nAUTH PLAIN ' +
            b64('\0tim\0wrong').encode('ascii') + b'\r\n'
            b'MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n'
            b'DATA\r\none\r\n.\r\n')
        message, = connection.deliverer.messages
        self.assertEqual((None, None, None, None), self.facts(message))


class AcceptAnyAuthenticatorTest(unittest.TestCase):
    def test_the_interface(self):
        authenticator = AcceptAnyAuthenticator()
        self.assertTrue(isinstance(authenticator, IAuthenticator))
        self.assertTrue(authenticator.records_password)
        self.assertFalse(IAuthenticator.records_password)
        self.assertTrue(authenticator.authenticate('a', 'b', None))
        self.assertTrue(authenticator.authenticate_cram_md5('a', 'c', 'd', None))

    def test_every_mechanism_with_any_credentials(self):
        digest = '0' * 32
        for lines, facts in (
                (['AUTH PLAIN ' + b64('\0anyone\0whatever')],
                 ('anyone', 'PLAIN', 'whatever', None)),
                (['AUTH PLAIN ' + b64('boss\0anyone\0')],
                 ('anyone', 'PLAIN', '', None)),
                (['AUTH LOGIN', b64('anyone'), b64('whatever')],
                 ('anyone', 'LOGIN', 'whatever', None)),
                (['AUTH CRAM-MD5', b64('anyone ' + digest)],
                 ('anyone', 'CRAM-MD5', None,
                  {'challenge': CHALLENGE, 'digest': digest}))):
            connection = new_connection(AcceptAnyAuthenticator())
            connection.receive_data(b'EHLO client.example\r\n')
            connection.data_to_send()
            for line in lines:
                connection.receive_data(line.encode('ascii') + b'\r\n')
            self.assertTrue(connection.data_to_send().endswith(
                b'235 Authentication successful\r\n'), lines)
            connection.receive_data(
                b'MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n'
                b'DATA\r\none\r\n.\r\n')
            message, = connection.deliverer.messages
            self.assertEqual(facts, (message.username, message.auth_mechanism,
                                     message.password, message.cram_md5))

    def test_a_garbled_cram_md5_answer_is_still_garbled(self):
        converse(self, EHLO + '''
            C: AUTH CRAM-MD5
            S: 334 %s
            C: %s
            S: 501 Garbled data sent
        ''' % (CHALLENGE_B64, b64('anyone')),
            new_connection(AcceptAnyAuthenticator()))


if __name__ == '__main__':
    unittest.main()
