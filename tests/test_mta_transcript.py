# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""The transcript (``pymta.transcript``) of whole sessions over real
sockets: smtplib against an in-process ``SMTPTestServer``, on the serial
path and with a thread per connection; the records are read in this
process."""

from __future__ import absolute_import

import os
import smtplib
import unittest

from pymta.authenticators import AcceptAnyAuthenticator
from pymta.testing import SMTPTestServer
from .mta_support import TIMEOUT
from .transcript_support import capture_transcript


PASSWORD = 'Open-Sesame-4711'


class TranscriptOverSocketsTest(unittest.TestCase):
    threaded = False

    def setUp(self):
        self.capture = capture_transcript(self)

    def server(self, **options):
        server = SMTPTestServer(threaded=self.threaded, **options)
        server.start()
        self.addCleanup(server.stop)
        return server

    def client(self, server):
        client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
        self.addCleanup(client.close)
        peer = '127.0.0.1:%d' % client.sock.getsockname()[1]
        return client, peer

    def transcript_of(self, peer):
        """The lines of ``peer``'s connection once it is closed."""
        self.assertTrue(self.capture.closed.wait(TIMEOUT),
                        self.capture.lines())
        return [line[len(peer) + 1:] for line in self.capture.lines(peer)]

    def test_a_whole_session(self):
        server = self.server(authenticator=AcceptAnyAuthenticator)
        client, peer = self.client(server)
        client.ehlo('client.example')
        client.login('alice', PASSWORD)
        client.sendmail('alice@example.com', ['bob@example.com'],
                        'Subject: hi\n\nHello Bob!\n')
        client.quit()
        transcript = self.transcript_of(peer)
        self.assertEqual('connected', transcript[0])
        self.assertTrue(transcript[1].startswith('> 220 '), transcript)
        ehlo_reply = [line for line in transcript[3:]
                      if line.startswith('> 250-') or line == '> 250 HELP']
        self.assertEqual('> 250-AUTH PLAIN LOGIN', ehlo_reply[1])
        # (smtplib of Python 3.13 sends 'mail from:', earlier 'mail FROM:')
        self.assertEqual([line.lower() for line in transcript[2:]], [
            line.lower() for line in ['< ehlo client.example'] + ehlo_reply + [
            '< AUTH PLAIN ***',
            '> 235 Authentication successful',
            'authenticated as alice (PLAIN)',
            '< mail FROM:<alice@example.com>',
            '> 250 OK',
            '< rcpt TO:<bob@example.com>',
            '> 250 OK',
            '< data',
            '> 354 Enter message, ending with "." on a line by itself',
            '< <message data: 27 octets>',
            '> 250 OK',
            '< quit',
            transcript[-2],
            'closed (by the server)',
        ]])
        self.assertTrue(transcript[-2].startswith('> 221 '), transcript)
        everything = self.capture.everything()
        self.assertFalse(PASSWORD in everything)
        self.assertFalse('Hello Bob' in everything)
        message, = server.wait_for_messages(1)
        self.assertEqual(PASSWORD, message.password)

    def test_the_client_goes_away(self):
        server = self.server()
        client, peer = self.client(server)
        client.noop()
        client.close()
        self.assertEqual([
            'connected', '> 220 ' + self.capture.lines(peer)[1].split(
                ' > 220 ', 1)[1], '< noop', '> 250 OK',
            'closed (the client closed the connection)'],
            self.transcript_of(peer))

    def test_the_command_timeout(self):
        server = self.server(session_timeout=0.3)
        client, peer = self.client(server)
        client.ehlo('client.example')
        # (the client says nothing more: the server gives up on it)
        self.assertEqual(
            'closed (the command timeout is up, 421 sent)',
            self.transcript_of(peer)[-1])
        self.assertEqual(421, client.getreply()[0])

    def test_the_server_stops(self):
        server = self.server()
        client, peer = self.client(server)
        client.noop()
        server.stop()
        self.assertEqual('closed (the server stops, 421 sent)',
                         self.transcript_of(peer)[-1])

    def test_starttls(self):
        try:
            server = self.server(tls=True)
        except RuntimeError as e:     # no openssl command
            if os.environ.get('CI'):
                raise
            self.skipTest(str(e))
        client, peer = self.client(server)
        client.ehlo('client.example')
        client.starttls()
        client.ehlo('client.example')
        client.quit()
        transcript = self.transcript_of(peer)
        self.assertTrue('< STARTTLS' in transcript, transcript)
        started = [line for line in transcript
                   if line.startswith('TLS started: ')]
        self.assertEqual(1, len(started), transcript)
        version = started[0][len('TLS started: '):].split(', ')[0]
        self.assertTrue(version.startswith('TLS'), started)
        after = transcript[transcript.index(started[0]) + 1:]
        self.assertEqual('< ehlo client.example', after[0])
        self.assertFalse('> 250-STARTTLS' in after, after)


class ThreadedTranscriptOverSocketsTest(TranscriptOverSocketsTest):
    threaded = True


if __name__ == '__main__':
    unittest.main()
