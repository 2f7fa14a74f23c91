# -*- coding: utf-8 -*-
"""pymta.replies: the reply table, the one formatter, the escaping of
client input, and the enhanced status codes (ENHANCEDSTATUSCODES)."""
from __future__ import absolute_import

import socket
import unittest

from pymta.replies import ENHANCED_CODES, REPLIES, enhanced_reply_for, \
    printable, reply_bytes, reply_for, reply_line, reply_lines, \
    with_enhanced_code
from pymta.sockets import say_goodbye


class ReplyTableTest(unittest.TestCase):
    def test_formatting(self):
        self.assertEqual('250 OK\r\n', reply_line(250, 'OK'))
        self.assertEqual('250\r\n', reply_line(250, None))
        self.assertEqual(['250-a\r\n', '250-b\r\n', '250 c\r\n'],
                         reply_lines(250, ['a', 'b', 'c']))
        self.assertEqual(b'221 h closing connection\r\n',
                         reply_bytes(*reply_for('closing', host='h')))
        self.assertEqual('a\\x1bb', printable('a\x1bb'))
        self.assertEqual('plain', printable('plain'))

    def test_every_enhanced_code_belongs_to_a_reply_of_its_class(self):
        for name, code in ENHANCED_CODES.items():
            self.assertTrue(name in REPLIES, name)
            self.assertEqual(str(REPLIES[name][0])[0], code[0], name)
        for name, (code, text) in REPLIES.items():
            if name not in ENHANCED_CODES and code // 100 != 3 and \
                    name not in ('greeting', 'helo_ok', 'ehlo_ok'):
                # (their texts carry the code already)
                self.assertTrue(text.split()[0].count('.') == 2, name)

    def test_with_enhanced_code(self):
        self.assertEqual('5.1.1 no', with_enhanced_code(550, 'no', '5.1.1'))
        self.assertEqual('5.0.0 no', with_enhanced_code(550, 'no'))
        self.assertEqual('5.7.1 mine', with_enhanced_code(550, '5.7.1 mine'))
        self.assertEqual(['2.0.0 a', '2.0.0 b'],
                         with_enhanced_code(250, ['a', 'b'], '2.0.0'))
        self.assertEqual('go ahead', with_enhanced_code(354, 'go ahead'))
        self.assertEqual('4.0.0', with_enhanced_code(421, None))
        self.assertEqual((250, '2.0.0 OK'), enhanced_reply_for('ok'))
        self.assertEqual(reply_for('greeting', host='h', ip='i'),
                         enhanced_reply_for('greeting', host='h', ip='i'))

    def test_a_goodbye_with_its_enhanced_code(self):
        for enhanced, expected in ((False, b'421 h Timeout, closing '
                                           b'transmission channel\r\n'),
                                   (True, b'421 4.4.2 h Timeout, closing '
                                          b'transmission channel\r\n')):
            ours, theirs = socket.socketpair()
            self.addCleanup(ours.close)
            self.addCleanup(theirs.close)
            say_goodbye(ours, 'h', 'idle_timeout', enhanced)
            self.assertEqual(expected, theirs.recv(1000))


if __name__ == '__main__':
    unittest.main()
