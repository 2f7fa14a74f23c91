# -*- coding: utf-8 -*-
"""Property test of SPEC section 6: a recorded dialogue fed to an
SMTPConnection in arbitrary chunks always gives the same octets back and the
same delivered messages as the dialogue fed at once; so does the legacy
SMTPCommandParser over it."""
from __future__ import absolute_import, print_function

import base64
import random
import unittest

import six

from pymta.command_parser import SMTPCommandParser
from pymta.connection import SMTPConnection
import pymta.test_util as test_util
from .core_support import RecordingChannel, RecordingDeliverer

try:
    from hypothesis import HealthCheck, given, settings, strategies
except ImportError:
    given = None


def b64(value):
    return base64.b64encode(value)


def native(data):
    if six.PY2:
        return data
    return data.decode('utf-8', 'surrogateescape')


EIGHT_BIT = b'\xe4\xf6\xfc \xc3\xa4\xe2\x82\xac \x80\xff'

# greeting is automatic
DIALOGUE = (
    b'EHLO client.example.com\r\n'
    b'MAIL FROM:<sender@example.com>\r\n'
    b'RCPT TO:<first@example.com>\r\n'
    b'RCPT TO:<second@example.com>\r\n'
    b'DATA\r\n'
    b'Subject: split test\r\n'
    b'\r\n'
    b'..a stuffed line\r\n'
    b'8bit: ' + EIGHT_BIT + b'\r\n'
    b'last line\r\n'
    b'.\r\n'
    b'MAIL FROM:<>\r\n'
    b'RCPT TO:<third@example.com>\r\n'
    b'DATA\r\n'
    b'second message\r\n'
    b'.\r\n'
    b'QUIT\r\n'
)

EXPECTED_REPLIES = [
    '220 localhost Hello 127.0.0.1',
    '250-localhost',
    '250-AUTH PLAIN',
    '250 HELP',
    '250 OK',
    '250 OK',
    '250 OK',
    '354 Enter message, ending with "." on a line by itself',
    '250 OK',
    '250 OK',
    '250 OK',
    '354 Enter message, ending with "." on a line by itself',
    '250 OK',
    '221 localhost closing connection',
]

EXPECTED_MESSAGES = [
    ('client.example.com', 'sender@example.com', ['first@example.com', 'second@example.com'],
     native(b'Subject: split test\n\n.a stuffed line\n8bit: ' + EIGHT_BIT + b'\nlast line'), None),
    ('client.example.com', '', ['third@example.com'], 'second message', None),
]

# A second dialogue: AUTH LOGIN (auth-login mode), bare LF command lines,
# an empty message, a dot-only stuffed line and a rejected command.
LOGIN_DIALOGUE = (
    b'EHLO [127.0.0.1]\n'
    b'AUTH LOGIN\r\n' + b64(b'foo') + b'\r\n' + b64(b'foo') + b'\r\n'
    b'NOOP\n'
    b'MAIL FROM:<a@example.com> SIZE=20\r\n'
    b'RCPT TO:<postmaster>\r\n'
    b'DATA\r\n'
    b'.\r\n'
    b'MAIL FROM:<b@example.com>\r\n'
    b'DATA\r\n'
    b'RCPT TO:<c@example.com>\r\n'
    b'DATA\r\n'
    b'..\r\n'
    b'...\r\n'
    b'.\r\n'
    b'QUIT\r\n'
)

LOGIN_EXPECTED_MESSAGES = [
    ('[127.0.0.1]', 'a@example.com', ['postmaster'], '', 'foo'),
    ('[127.0.0.1]', 'b@example.com', ['c@example.com'], '.\n..', 'foo'),
]


def run_dialogue(chunks, extensions=()):
    """Feed ``chunks`` to an SMTPConnection as a server does; (the reply
    octets as latin-1 text, the messages, whether it closed)."""
    deliverer = RecordingDeliverer()
    connection = SMTPConnection(deliverer,
                                authenticator=test_util.DummyAuthenticator(),
                                extensions=extensions)
    connection.start('127.0.0.1', 4567)
    wire = [connection.data_to_send()]
    for chunk in chunks:
        connection.receive_data(chunk)
        wire.append(connection.data_to_send())
    return (b''.join(wire).decode('latin-1'), _messages(deliverer),
            connection.closing)


def run_dialogue_through_the_parser(chunks):
    """The same through the legacy SMTPCommandParser and a channel."""
    channel = RecordingChannel(fail_after_close=True)
    deliverer = RecordingDeliverer()
    parser = SMTPCommandParser(channel, '127.0.0.1', 4567, deliverer,
                               authenticator=test_util.DummyAuthenticator(),
                               primary_hostname='localhost')
    for chunk in chunks:
        parser.process_new_data(chunk)
    return ''.join(channel.written), _messages(deliverer), channel.closed


def _messages(deliverer):
    return [(m.smtp_helo, m.smtp_from, list(m.smtp_to), m.msg_data, m.username,
             m.peer.remote_ip, m.peer.remote_port) for m in deliverer.messages]


def split_at(data, positions):
    positions = sorted(set(p for p in positions if 0 < p < len(data)))
    chunks = []
    start = 0
    for position in positions:
        chunks.append(data[start:position])
        start = position
    chunks.append(data[start:])
    return chunks


class SplitDialogueMixin(object):
    dialogue = None
    extensions = ()

    def setUp(self):
        self.reference = run_dialogue([self.dialogue], self.extensions)

    def check_split(self, positions):
        chunks = split_at(self.dialogue, positions)
        self.assertEqual(self.dialogue, b''.join(chunks))
        result = run_dialogue(chunks, self.extensions)
        if result != self.reference:
            self.assertEqual(self.reference[0], result[0], 'replies differ for split %r' % (chunks,))
            self.assertEqual(self.reference[1], result[1], 'messages differ for split %r' % (chunks,))
            self.assertEqual(self.reference, result, 'close differs for split %r' % (chunks,))

    def test_every_single_split_point(self):
        for position in range(1, len(self.dialogue)):
            self.check_split([position])

    def test_seeded_random_multi_splits(self):
        rng = random.Random(20241125)
        for _ in range(300):
            count = rng.randint(2, 40)
            self.check_split([rng.randint(1, len(self.dialogue) - 1) for _ in range(count)])

    def test_one_byte_at_a_time(self):
        self.check_split(range(1, len(self.dialogue)))

    def test_every_pair_of_adjacent_split_points(self):
        for position in range(1, len(self.dialogue) - 1):
            self.check_split([position, position + 1])

    def test_the_legacy_parser_gives_the_same(self):
        if self.extensions:
            return      # (the legacy parser has no extensions)
        rng = random.Random(20261201)
        for positions in [[]] + [[rng.randint(1, len(self.dialogue) - 1)
                                  for _ in range(rng.randint(1, 30))]
                                 for _ in range(50)]:
            chunks = split_at(self.dialogue, positions)
            self.assertEqual(self.reference,
                             run_dialogue_through_the_parser(chunks), chunks)



def _hypothesis_splits_method():
    """A fresh test function for each class (hypothesis wants one executor
    per test function)."""
    if given is None:
        def test_hypothesis_splits(self):
            self.skipTest('hypothesis is not installed (the seeded random test still runs)')
        return test_hypothesis_splits

    @settings(max_examples=200, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(strategies.data())
    def test_hypothesis_splits(self, data):
        positions = data.draw(strategies.lists(
            strategies.integers(min_value=1, max_value=len(self.dialogue) - 1),
            max_size=30))
        self.check_split(positions)
    return test_hypothesis_splits


class SplitDialogueTest(SplitDialogueMixin, unittest.TestCase):
    dialogue = DIALOGUE
    test_hypothesis_splits = _hypothesis_splits_method()

    def test_reference_run_is_right(self):
        wire, messages, closed = self.reference
        self.assertEqual(''.join(line + '\r\n' for line in EXPECTED_REPLIES), wire)
        self.assertEqual([m + ('127.0.0.1', 4567) for m in EXPECTED_MESSAGES], messages)
        self.assertTrue(closed)

    def test_text_input_gives_same_result(self):
        # the dialogue without its 8-bit octets, fed as text and as bytes
        ascii_dialogue = self.dialogue.replace(EIGHT_BIT, b'plain ascii')
        text = ascii_dialogue.decode('ascii')
        self.assertEqual(run_dialogue([ascii_dialogue]), run_dialogue([text]))
        chunks = split_at(text, range(3, len(text), 7))
        self.assertEqual(run_dialogue([ascii_dialogue]), run_dialogue(chunks))


class SplitLoginDialogueTest(SplitDialogueMixin, unittest.TestCase):
    dialogue = LOGIN_DIALOGUE
    test_hypothesis_splits = _hypothesis_splits_method()

    def test_reference_run_is_right(self):
        wire, messages, closed = self.reference
        lines = wire.split('\r\n')
        self.assertEqual('', lines.pop())
        self.assertEqual(['220 localhost Hello 127.0.0.1', '250-localhost', '250-AUTH PLAIN',
                          '250 HELP', '334 VXNlcm5hbWU6', '334 UGFzc3dvcmQ6',
                          '235 Authentication successful', '250 OK', '250 OK', '250 OK',
                          '354 Enter message, ending with "." on a line by itself', '250 OK',
                          '250 OK'], lines[:13])
        self.assertTrue(lines[13].startswith('503 Command "DATA" is not allowed here'), lines)
        self.assertEqual(['250 OK', '354 Enter message, ending with "." on a line by itself',
                          '250 OK', '221 localhost closing connection'], lines[14:])
        self.assertEqual([m + ('127.0.0.1', 4567) for m in LOGIN_EXPECTED_MESSAGES], messages)
        self.assertTrue(closed)


# CHUNKING: BDAT chunks (binary, a terminator-like line inside, a chunk of
# 0 octets), RSET between chunks, a refused BDAT whose octets are skipped.
CHUNK_DIALOGUE = (
    b'EHLO client.example.com\r\n'
    b'BDAT 5\r\nQUIT\n'
    b'MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n'
    b'BDAT 9\r\nSubject: '
    b'BDAT 0\r\n'
    b'BDAT 12\r\nx\r\n.\r\n\x00\xff\r\n\r\n'
    b'BDAT 4 LAST\r\nend\n'
    b'MAIL FROM:<c@example.com>\r\nRCPT TO:<d@example.com>\r\n'
    b'BDAT 3\r\nabc'
    b'RSET\r\n'
    b'MAIL FROM:<e@example.com>\r\nRCPT TO:<f@example.com>\r\n'
    b'BDAT 0 LAST\r\n'
    b'QUIT\r\n'
)


class SplitChunkingDialogueTest(SplitDialogueMixin, unittest.TestCase):
    dialogue = CHUNK_DIALOGUE
    extensions = ('CHUNKING',)
    test_hypothesis_splits = _hypothesis_splits_method()

    def test_reference_run_is_right(self):
        wire, messages, closed = self.reference
        lines = wire.split('\r\n')
        self.assertEqual('', lines.pop())
        self.assertEqual(['220 localhost Hello 127.0.0.1', '250-localhost',
                          '250-AUTH PLAIN', '250-CHUNKING', '250 HELP'], lines[:5])
        self.assertTrue(lines[5].startswith('503 Command "BDAT" is not allowed'))
        self.assertEqual(['250 OK', '250 OK', '250 9 octets received',
                          '250 0 octets received', '250 12 octets received',
                          '250 OK', '250 OK', '250 OK', '250 3 octets received',
                          '250 Reset OK', '250 OK', '250 OK', '250 OK',
                          '221 localhost closing connection'], lines[6:])
        self.assertEqual([
            ('client.example.com', 'a@example.com', ['b@example.com'],
             native(b'Subject: x\n.\n\x00\xff\n\nend'), None, '127.0.0.1', 4567),
            ('client.example.com', 'e@example.com', ['f@example.com'], '', None,
             '127.0.0.1', 4567)], messages)
        self.assertTrue(closed)


if __name__ == '__main__':
    unittest.main()
