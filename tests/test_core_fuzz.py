# -*- coding: utf-8 -*-
"""Issue 11 (hardening), issue 13 (the extensions): a property test of the
sans-I/O core.

Random sequences of commands (valid and invalid verbs, random arguments,
random octets with NUL, 8-bit, CR and LF, message data, AUTH LOGIN
exchanges, overlong lines) are split at random points and fed to an
SMTPCommandParser with a policy (whose decisions are drawn too), an
authenticator and the error and size limits on. Whatever arrives:

- no exception escapes ``process_new_data``;
- every line written is a reply line: ``^[2-5][0-9][0-9][ -]``, ended by
  CRLF, with no other CR or LF; a multi-line reply has ``-`` on all but its
  last line and the same code on all of them;
- nothing is written after the connection was closed;
- every line is printable ASCII (but the policy's custom texts, which are
  sent as the policy wrote them).

A second test feeds the same and the extensions' commands (BDAT chunks of
every size, STARTTLS with commands behind it, the MAIL and RCPT parameters
of 8BITMIME, SMTPUTF8 and DSN) to an SMTPConnection with a random set of
extensions on and a random ``require_tls``, driven as the server drives it.

Short by default (a few hundred examples, derandomized: the same every
run); ``PYMTA_FUZZ_EXAMPLES=1000000`` makes a long (random) run.
"""
from __future__ import absolute_import, print_function

import base64
import os
import re
import unittest

from pymta.api import IMTAPolicy, PolicyDecision
from pymta.command_parser import SMTPCommandParser
from .core_support import PymtaLog, RecordingChannel, RecordingDeliverer

try:
    from hypothesis import HealthCheck, given, settings, strategies as st
except ImportError:
    given = None


LONG_RUN_EXAMPLES = os.environ.get('PYMTA_FUZZ_EXAMPLES')
EXAMPLES = int(LONG_RUN_EXAMPLES or 300)

_REPLY_LINE = re.compile(r'^([2-5][0-9][0-9])([ -])([\x20-\x7e]*)$')
_ANY_REPLY_LINE = re.compile(r'^([2-5][0-9][0-9])([ -])([^\r\n]*)$')
_ENHANCED_PREFIX = re.compile(r'^[245]\.[0-9]+\.[0-9]+ ')

#: the policy's custom texts (one has a TAB: sent as the policy wrote it)
CUSTOM_TEXT = 'custom\treply'
CUSTOM_LINES = ['custom one', 'custom\ttwo']
CUSTOM_TEXTS = frozenset([CUSTOM_TEXT] + CUSTOM_LINES)

DECISIONS = ('accept', 'accept', 'accept', 'none', 'reject', 'custom',
             'custom_multi', 'close_before', 'close_after', 'raise',
             'not_a_decision')
POLICY_METHODS = ('accept_new_connection', 'accept_helo', 'accept_ehlo',
                  'accept_auth_plain', 'accept_auth_login', 'accept_from',
                  'accept_rcpt_to', 'accept_data', 'accept_msgdata',
                  'accept_starttls')


class FuzzPolicy(IMTAPolicy):
    """Answers each method as ``decisions`` says (default: accept)."""

    def __init__(self, decisions, max_size):
        IMTAPolicy.__init__(self)
        self.decisions = decisions
        self.max_size = max_size

    def max_message_size(self, peer):
        return self.max_size

    def _decide(self, method_name):
        kind = self.decisions.get(method_name, 'accept')
        if kind == 'accept':
            return True
        if kind == 'none':
            return None
        if kind == 'reject':
            return False
        if kind == 'custom':
            return (False, (553, CUSTOM_TEXT))
        if kind == 'custom_multi':
            return (True, (250, list(CUSTOM_LINES)))
        if kind == 'raise':
            raise RuntimeError('a policy fault the fuzz test asked for')
        if kind == 'not_a_decision':
            return 'nonsense'
        decision = PolicyDecision(True)
        if kind == 'close_before':
            decision._close_connection_before_response = True
        else:
            decision._close_connection_after_response = True
        return decision

    def accept_new_connection(self, peer):
        return self._decide('accept_new_connection')

    def accept_helo(self, helo_string, message):
        return self._decide('accept_helo')

    def accept_ehlo(self, ehlo_string, message):
        return self._decide('accept_ehlo')

    def accept_auth_plain(self, username, password, message):
        return self._decide('accept_auth_plain')

    def accept_auth_login(self, username, message):
        return self._decide('accept_auth_login')

    def accept_from(self, sender, message):
        return self._decide('accept_from')

    def accept_rcpt_to(self, new_recipient, message):
        return self._decide('accept_rcpt_to')

    def accept_data(self, message):
        return self._decide('accept_data')

    def accept_msgdata(self, msgdata, message):
        return self._decide('accept_msgdata')

    def accept_starttls(self, message):
        return self._decide('accept_starttls')


class UserIsPassword(object):
    def authenticate(self, username, password, peer):
        if username == 'raise':
            raise RuntimeError('an authenticator fault the fuzz test asked for')
        return username == password


def check_wire(channel):
    """The written lines obey the reply rules; returns them."""
    assert channel.writes_after_close == 0, channel.written
    text = ''.join(channel.written)
    assert text == '' or text.endswith('\r\n'), repr(text)
    lines = text.split('\r\n')[:-1]
    continuation_code = None
    for line in lines:
        match = _ANY_REPLY_LINE.match(line)
        assert match is not None, repr(line)
        code, separator, rest = match.groups()
        # (with ENHANCEDSTATUSCODES a custom text follows the code)
        if _ENHANCED_PREFIX.sub('', rest) not in CUSTOM_TEXTS:
            assert _REPLY_LINE.match(line) is not None, repr(line)
        if continuation_code is not None:
            assert code == continuation_code, (continuation_code, line)
        continuation_code = code if separator == '-' else None
    # the last reply is complete
    assert continuation_code is None, lines
    return lines


if given is not None:
    def b64(octets):
        return base64.b64encode(octets)

    CREDENTIALS = st.sampled_from([b'user', b'raise', b'', b'\xff\x00',
                                   b'a' * 60])
    ADDRESSES = st.sampled_from([
        b'<a@example.com>', b'<>', b'<postmaster>', b'a@b.com',
        b'<a@b\xff.com>', b'<j\xc3\xb6rg@example.com>', b'<a@b', b'a@b>',
        b'<a@[127.0.0.1]>', b'<a\x00@[127.0.0.1]>', b'<a@b..c>', b'<@>',
        b'<a@b.com> SIZE=10', b'<a@b.com> SIZE=100000', b'<a@b.com> SIZE=',
        b'<a@b.com> SIZE=-1', b'<a@b.com> FNORD=1', b'<a@b.com> X\x1b=\xff',
        b'<a@b.com> junk', b'<a@b.com> <c@d.com>'])
    VERBS = st.sampled_from([
        b'HELO', b'EHLO', b'MAIL FROM:', b'RCPT TO:', b'DATA', b'RSET',
        b'NOOP', b'HELP', b'QUIT', b'AUTH PLAIN', b'AUTH LOGIN', b'AUTH',
        b'AUTH CRAM-MD5', b'MAIL', b'RCPT', b'VRFY', b'helo', b'mail from:',
        b'rcpt\tto:', b'MAIL\rFROM:', b'\x1b[31m', b'\xff\xfe', b'', b'\x00',
        b'HELP MAIL'])
    ARGUMENTS = st.one_of(
        st.just(b''), ADDRESSES, st.binary(max_size=24),
        st.sampled_from([b'client.example.com', b'[127.0.0.1]', b'a b',
                         b'x\x1b[0m', b'*', b'!!!!', b'=', b'AAAA',
                         # digits that are not ASCII (superscript two,
                         # Arabic-Indic three): str.isdigit() takes them
                         b'\xc2\xb2', b'\xd9\xa3', b'SIZE=\xc2\xb2']),
        st.tuples(CREDENTIALS, CREDENTIALS).map(
            lambda pair: b64(b'\0' + pair[0] + b'\0' + pair[1])),
        CREDENTIALS.map(b64))
    SEPARATORS = st.sampled_from([b'', b' ', b' ', b' ', b'  ', b'\t',
                                  b'\r', b'\x0b'])
    LINE_ENDS = st.sampled_from([b'\r\n', b'\r\n', b'\r\n', b'\n', b'\r\r\n'])

    COMMAND_LINES = st.builds(lambda verb, separator, argument, end:
                              verb + separator + argument + end,
                              VERBS, SEPARATORS, ARGUMENTS, LINE_ENDS)
    AUTH_LOGIN_LINES = st.one_of(
        CREDENTIALS.map(lambda value: b64(value) + b'\r\n'),
        st.sampled_from([b'*\r\n', b'!!\r\n', b'\r\n',
                         b64(b'user') + b' x\r\n']))
    MESSAGE_DATA = st.builds(
        lambda body, end: body + end,
        st.one_of(st.binary(max_size=200),
                  st.sampled_from([b'', b'.', b'..', b'Subject: x\r\n\r\nHi',
                                   b'a\r\n..b\r\n.c', b'x' * 150])),
        st.sampled_from([b'\r\n.\r\n', b'\r\n.\r\n', b'\n.\n', b'.\r\n',
                         b'']))
    TRANSACTION = st.just(b'EHLO x\r\nMAIL FROM:<a@b.com>\r\n'
                          b'RCPT TO:<c@d.com>\r\nDATA\r\n')
    # well-formed commands, so that the dialogue gets somewhere
    VALID_LINES = st.one_of(
        st.sampled_from([b'EHLO client.example.com\r\n', b'HELO x\r\n',
                         b'MAIL FROM:<a@b.com>\r\n', b'RCPT TO:<c@d.com>\r\n',
                         b'DATA\r\n', b'RSET\r\n', b'NOOP\r\n',
                         b'AUTH LOGIN\r\n', b'HELP\r\n']),
        st.tuples(CREDENTIALS, CREDENTIALS).map(
            lambda pair: b'AUTH PLAIN ' + b64(b'\0' + pair[0] + b'\0' +
                                              pair[1]) + b'\r\n'),
        CREDENTIALS.map(lambda user: b'AUTH LOGIN ' + b64(user) + b'\r\n'),
        st.builds(lambda verb, address: verb + address + b'\r\n',
                  st.sampled_from([b'MAIL FROM:', b'RCPT TO:']), ADDRESSES))
    # EHLO, then an AUTH LOGIN exchange or AUTH PLAIN
    AUTH_EXCHANGES = st.builds(
        lambda kind, user, password: b'EHLO x\r\n' + (
            b'AUTH LOGIN\r\n' + b64(user) + b'\r\n' + b64(password) + b'\r\n'
            if kind == 'login' else
            b'AUTH LOGIN ' + b64(user) + b'\r\n' + b64(password) + b'\r\n'
            if kind == 'login-initial' else
            b'AUTH PLAIN ' + b64(b'\0' + user + b'\0' + password) + b'\r\n'),
        st.sampled_from(['login', 'login-initial', 'plain']),
        CREDENTIALS, CREDENTIALS)
    # random octets in the addresses' domains and local parts
    RANDOM_ADDRESSES = st.builds(
        lambda local, domain, mail_or_rcpt:
            b'HELO x\r\nMAIL FROM:<' + local + b'@' + domain + b'>\r\n'
            if mail_or_rcpt else
            b'EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<' + local + b'@' + domain +
            b'>\r\n',
        st.one_of(st.just(b'a'), st.binary(min_size=1, max_size=8)),
        st.builds(lambda prefix, suffix: prefix + b'.com' + suffix,
                  st.binary(max_size=8), st.sampled_from([b'', b'.', b'\xff'])),
        st.booleans())
    PIECES = st.one_of(
        VALID_LINES, VALID_LINES, VALID_LINES, COMMAND_LINES, COMMAND_LINES,
        AUTH_LOGIN_LINES, AUTH_EXCHANGES, MESSAGE_DATA, TRANSACTION,
        RANDOM_ADDRESSES,
        st.binary(max_size=40),
        st.sampled_from([b'x' * 2100 + b'\r\n', b'y' * 5000,
                         b'AUTH LOGIN\r\n', b'\r\n', b'.\r\n']))
    # the extensions' commands and parameters (issue 13)
    EXTENSION_PIECES = st.one_of(
        st.sampled_from([
            b'EHLO x\r\nMAIL FROM:<a@b.com>\r\nRCPT TO:<c@d.com>\r\n',
            b'BDAT 5\r\nabcde', b'BDAT 0\r\n', b'BDAT 0 LAST\r\n',
            b'BDAT 3 LAST\r\n.\r\n', b'BDAT 7 last\r\n\x00\r\n.\r\n\xff',
            b'BDAT\r\n', b'BDAT x\r\n', b'BDAT 4 FIRST\r\nQUIT', b'BDAT 99\r\n',
            b'BDAT -1\r\n', b'BDAT 2 LAST x\r\nab', b'STARTTLS\r\n',
            b'BDAT \xc2\xb2\r\nab', b'BDAT \xd9\xa3 LAST\r\nabc',
            b'BDAT \xef\xbc\x93\r\n',
            b'STARTTLS x\r\n', b'STARTTLS\r\nMAIL FROM:<evil@b.com>\r\n',
            b'MAIL FROM:<a@b.com> BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=x\r\n',
            b'MAIL FROM:<j\xc3\xb6rg@\xc3\xa4.com> SMTPUTF8\r\n',
            b'MAIL FROM:<a@b.com> BODY=9BIT RET=ALL SMTPUTF8=1\r\n',
            b'RCPT TO:<c@d.com> NOTIFY=NEVER ORCPT=rfc822;x@y\r\n',
            b'RCPT TO:<c@\xc3\xa4.com> NOTIFY=SUCCESS,NEVER ORCPT=;\r\n']),
        st.builds(lambda size, last, body: (
            b'BDAT ' + str(size).encode('ascii') + (b' LAST' if last else b'') +
            b'\r\n' + body), st.integers(0, 40), st.booleans(),
            st.binary(max_size=40)))
    POLICIES = st.one_of(
        st.none(),
        st.builds(FuzzPolicy,
                  st.dictionaries(st.sampled_from(POLICY_METHODS),
                                  st.sampled_from(DECISIONS), max_size=4),
                  st.one_of(st.none(), st.integers(0, 300))))

    _HEALTH_CHECKS = [getattr(HealthCheck, name) for name in (
        'too_slow', 'data_too_large', 'filter_too_much', 'large_base_example')
        if hasattr(HealthCheck, name)]
    _SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                         derandomize=not LONG_RUN_EXAMPLES,
                         suppress_health_check=_HEALTH_CHECKS)


def run_session(pieces, split_points, policy, authenticator, limits):
    """Feed ``pieces`` (joined, then cut at ``split_points``); returns the
    channel."""
    channel = RecordingChannel(fail_after_close=True)
    parser = SMTPCommandParser(channel, '127.0.0.1', 4567,
                               RecordingDeliverer(), policy=policy,
                               authenticator=authenticator,
                               primary_hostname='localhost', **limits)
    data = b''.join(pieces)
    start = 0
    for position in sorted(set(p % (len(data) + 1) for p in split_points)):
        parser.process_new_data(data[start:position])
        start = position
    parser.process_new_data(data[start:])
    return channel


def run_connection(pieces, split_points, policy, authenticator, limits,
                   extensions):
    """The same through an SMTPConnection with ``extensions`` on, driven as
    the server drives it (a TLS handshake that always succeeds); returns a
    channel holding what was sent."""
    from pymta.connection import SMTPConnection
    from pymta.states import TLS_HANDSHAKE
    channel = RecordingChannel(fail_after_close=True)
    connection = SMTPConnection(RecordingDeliverer(), policy=policy,
                                authenticator=authenticator,
                                extensions=extensions, **limits)
    connection.start('127.0.0.1', 4567)

    def send():
        octets = connection.data_to_send()
        if octets:
            channel.write(octets)
        if connection.closing and not channel.closed:
            channel.close()
        if connection.reader is TLS_HANDSHAKE and not connection.closing:
            connection.tls_started('TLSv1.3', 'TLS_AES_128_GCM_SHA256')
    send()
    data = b''.join(pieces)
    start = 0
    for position in sorted(set(p % (len(data) + 1) for p in split_points)) + \
            [len(data)]:
        connection.receive_data(data[start:position])
        start = position
        send()
    return channel


class CoreFuzzTest(unittest.TestCase):
    if given is None:
        def test_random_dialogues(self):
            self.skipTest('hypothesis is not installed')
    else:
        @_SETTINGS
        @given(pieces=st.lists(PIECES, max_size=30),
               split_points=st.lists(st.integers(0, 100000), max_size=12),
               policy=POLICIES,
               authenticator=st.sampled_from([UserIsPassword(),
                                              UserIsPassword(), None]),
               max_errors=st.one_of(st.none(), st.integers(1, 30)),
               max_auth_failures=st.one_of(st.none(), st.integers(1, 4)),
               default_max_message_size=st.one_of(st.none(),
                                                  st.integers(0, 300)))
        def test_random_dialogues(self, pieces, split_points, policy,
                                  authenticator, max_errors,
                                  max_auth_failures, default_max_message_size):
            limits = dict(max_errors=max_errors,
                          max_auth_failures=max_auth_failures,
                          default_max_message_size=default_max_message_size)
            with PymtaLog():
                channel = run_session(pieces, split_points, policy,
                                      authenticator, limits)
            check_wire(channel)

    if given is not None:
        @_SETTINGS
        @given(pieces=st.lists(st.one_of(PIECES, EXTENSION_PIECES,
                                         EXTENSION_PIECES), max_size=30),
               split_points=st.lists(st.integers(0, 100000), max_size=12),
               policy=POLICIES,
               authenticator=st.sampled_from([UserIsPassword(), None]),
               max_errors=st.one_of(st.none(), st.integers(1, 30)),
               default_max_message_size=st.one_of(st.none(),
                                                  st.integers(0, 300)),
               extensions=st.sets(st.sampled_from([
                   'PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES',
                   'DSN', 'CHUNKING', 'STARTTLS'])),
               require_tls=st.sampled_from([None, 'auth', 'all']))
        def test_random_dialogues_with_the_extensions(
                self, pieces, split_points, policy, authenticator, max_errors,
                default_max_message_size, extensions, require_tls):
            limits = dict(max_errors=max_errors, require_tls=require_tls,
                          default_max_message_size=default_max_message_size)
            with PymtaLog():
                channel = run_connection(pieces, split_points, policy,
                                         authenticator, limits, extensions)
            check_wire(channel)

    def test_check_wire_finds_bad_replies(self):
        # the checker itself: each rule catches what it should
        for written in (['220 ok\r\n', '250-a\r\n'], ['250-a\r\n251 b\r\n'],
                        ['500 "\x1b"\r\n'], ['600 x\r\n'], ['250 a\rb\r\n'],
                        ['250 a\r\n', '250'], ['250x\r\n']):
            channel = RecordingChannel()
            for text in written:
                channel.write(text)
            self.assertRaises(AssertionError, check_wire, channel)
        channel = RecordingChannel()
        channel.close()
        channel.write('250 OK\r\n')
        self.assertRaises(AssertionError, check_wire, channel)
        channel = RecordingChannel()
        for text in ('250-a\r\n', '250-%s\r\n' % CUSTOM_LINES[1], '250 b\r\n',
                     '553 %s\r\n' % CUSTOM_TEXT):
            channel.write(text)
        self.assertEqual(4, len(check_wire(channel)))


if __name__ == '__main__':
    unittest.main()
