# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""examples/debugging_server.py run the way a user runs it: as a program that
prints the messages it receives and stops on Ctrl-C (SIGINT) or SIGTERM."""

from __future__ import absolute_import

import signal
import smtplib
import socket
import sys
import unittest

from .mta_support import EXAMPLE_SCRIPT, TIMEOUT, ServerProgram, \
    wait_for_exit


class DebuggingServerExampleTest(ServerProgram, unittest.TestCase):
    command = [sys.executable, EXAMPLE_SCRIPT]

    def test_prints_each_message_with_its_envelope(self):
        process, output = self.start('127.0.0.1', '0')
        port = self.listening_port(output)
        connection = smtplib.SMTP('127.0.0.1', port, timeout=TIMEOUT)
        connection.helo('client.example')
        connection.sendmail('me@example.com',
                            ['you@example.com', 'them@example.com'],
                            # (bytes go out as they are: CRLF line ends)
                            u'Subject: hi\r\n\r\nHello \u00e9\r\n.dot'
                            .encode('utf-8'))
        connection.quit()
        printed = output.read_until(b'END MESSAGE ------------\n')
        lines = printed.decode('utf-8').split('\n')
        self.assertEqual('---------- MESSAGE FOLLOWS ----------', lines[0])
        self.assertTrue(lines[1].startswith('Peer:       127.0.0.1:'), lines)
        self.assertEqual(['HELO:       client.example',
                          'Sender:     <me@example.com>',
                          'Recipients: <you@example.com>, <them@example.com>',
                          '-------------- BODY -----------------',
                          'Subject: hi', '', u'Hello \u00e9', '.dot',
                          '------------ END MESSAGE ------------', ''],
                         lines[2:])
        self.assertEqual(b'', self.assert_stops_cleanly(process, output,
                                                        signal.SIGINT))

    def test_sigterm_stops_it_cleanly(self):
        process, output = self.start('127.0.0.1', '0')
        self.listening_port(output)
        self.assertEqual(b'', self.assert_stops_cleanly(process, output,
                                                        signal.SIGTERM))

    def test_defaults_are_localhost_and_port_8025(self):
        process, output = self.start()
        try:
            first_line = output.read_until(b'\n', timeout=30.0)
        except AssertionError:
            if not output.at_eof:
                raise
            first_line = None
        if first_line is not None:
            self.assertTrue(b' listening on localhost:8025 ' in first_line,
                            first_line)
            self.assert_stops_cleanly(process, output, signal.SIGINT)
            return
        # another program has the port: then the error names it
        self.assertEqual(1, wait_for_exit(process))
        self.assertTrue('localhost:8025' in self.stderr_text(),
                        self.stderr_text())

    def test_help(self):
        process, output = self.start('--help')
        text = output.read_to_eof(TIMEOUT).decode('utf-8')
        self.assertEqual(0, wait_for_exit(process))
        self.assertTrue(text.startswith('usage: '), text)
        self.assertTrue('[host] [port]' in text, text)

    def test_a_port_in_use_is_a_clear_error(self):
        blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(blocker.close)
        blocker.bind(('127.0.0.1', 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        process, output = self.start('127.0.0.1', str(port))
        output.read_to_eof(TIMEOUT)
        self.assertEqual(1, wait_for_exit(process))
        self.assertTrue('127.0.0.1:%d' % port in self.stderr_text(),
                        self.stderr_text())
        self.assertFalse('Traceback' in self.stderr_text())
