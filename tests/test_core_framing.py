# -*- coding: utf-8 -*-
"""pymta.framing: a command line into command and argument, message data
until <CRLF>.<CRLF> (SPEC section 6), on their own."""
from __future__ import absolute_import

import unittest

from pymta.framing import MAX_COMMAND_LINE_OCTETS, MessageCollector, \
    ParserImplementation


def collect(chunks, max_size=None):
    """Feed ``chunks`` (each from position 0); (the collector, where the
    data ended in the last chunk or -1)."""
    collector = MessageCollector(max_size)
    end = -1
    for chunk in chunks:
        assert end < 0, 'data after the end'
        end = collector.feed(chunk, 0)
    return collector, end


class ParserImplementationTest(unittest.TestCase):
    def test_lines(self):
        parse = ParserImplementation().parse
        for line, expected in (
                ('NOOP', ('NOOP', None)),
                ('  helo  foo  ', ('helo', 'foo')),
                ('MAIL FROM:<a@x> SIZE=1', ('MAIL FROM', '<a@x> SIZE=1')),
                ('mail  from : <a@x>', ('mail  from', '<a@x>')),
                ('RCPT TO:', ('RCPT TO', None)),
                ('RCPT TO:a@x, b@y', ('RCPT TO', 'a@x, b@y')),
                ('AUTH PLAIN abc', ('AUTH PLAIN', 'abc')),
                ('auth login', ('auth login', None)),
                ('AUTH', ('AUTH', None)),
                ('', ('', None)),
                ('MAIL <a@x>', ('MAIL', '<a@x>'))):
            self.assertEqual(expected, parse(line), line)

    def test_the_line_limit(self):
        self.assertEqual(2048, MAX_COMMAND_LINE_OCTETS)


class MessageCollectorTest(unittest.TestCase):
    def test_the_end_of_data_and_what_follows(self):
        collector, end = collect([b'Subject: x\r\n\r\nhi\r\n.\r\nNOOP\r\n'])
        self.assertEqual(len(b'Subject: x\r\n\r\nhi\r\n.\r\n'), end)
        self.assertEqual('Subject: x\n\nhi', collector.message_text())

    def test_a_dot_right_away_is_an_empty_message(self):
        collector, end = collect([b'.\r\n'])
        self.assertEqual(3, end)
        self.assertEqual('', collector.message_text())

    def test_the_terminator_split_over_chunks(self):
        data = b'a\r\n..b\r\n.\r\n'
        for cut in range(1, len(data)):
            collector, end = collect([data[:cut], data[cut:]])
            self.assertEqual(len(data) - cut, end, cut)
            self.assertEqual('a\n.b', collector.message_text())

    def test_dot_stuffing_after_a_bare_lf_too(self):
        collector, _ = collect([b'a\n..b\r\n..\r\n.\r\n'])
        self.assertEqual('a\n.b\n.', collector.message_text())

    def test_one_dot_before_other_characters_is_kept(self):
        # (docs/behaviour.md: only '..' is undone; RFC 5321 would drop it)
        collector, _ = collect([b'.x\r\na\r\n.b\r\n...\r\n.\r\n'])
        self.assertEqual('.x\na\n.b\n..', collector.message_text())

    def test_a_dot_inside_a_line_or_without_crlf_does_not_end(self):
        collector, end = collect([b'a.\r\n.b\r\n\n.\n'])
        self.assertEqual(-1, end)

    def test_feeding_from_a_position(self):
        collector = MessageCollector(None)
        chunk = b'DATA\r\nhi\r\n.\r\nQUIT\r\n'
        self.assertEqual(len(chunk) - len(b'QUIT\r\n'), collector.feed(chunk, 6))
        self.assertEqual('hi', collector.message_text())

    def test_past_the_limit_nothing_is_kept(self):
        chunk = b'x' * 98 + b'\r\n'
        collector, end = collect([chunk] * 100 + [b'.\r\n'], max_size=1000)
        self.assertTrue(collector.is_too_big)
        self.assertEqual(3, end)
        self.assertEqual([], collector._chunks)

    def test_exactly_the_limit_is_not_too_big(self):
        # (the line end before the final dot belongs to the terminator)
        collector, _ = collect([b'x' * 10 + b'\r\n.\r\n'], max_size=10)
        self.assertFalse(collector.is_too_big)
        self.assertEqual('x' * 10, collector.message_text())
        collector, _ = collect([b'x' * 11 + b'\r\n.\r\n'], max_size=10)
        self.assertTrue(collector.is_too_big)

    def test_eight_bit_octets_are_kept(self):
        collector, _ = collect([b'\xe4\xff\r\n.\r\n'])
        text = collector.message_text()
        from pymta.compat import wire_bytes
        self.assertEqual(b'\xe4\xff', wire_bytes(text))


if __name__ == '__main__':
    unittest.main()
