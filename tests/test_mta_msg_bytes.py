# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Issue 14 (item 4) over real sockets: ``Message.msg_bytes`` holds the
octets as the client sent them, ``as_email()`` parses them, with smtplib
and a raw client (BDAT), on the serial path and (in the fork environments)
the fork path. The server runs in a process of its own; its deliverer
pickles each message into a spool, so every message here also crossed a
pickle."""

from __future__ import absolute_import

import unittest
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import six

from pymta.compat import native_from_wire

from .mta_support import OnForkPath, ServerProcessPerClass, ServerTestCase, \
    smtp_client


class MsgBytesTests(ServerProcessPerClass):
    """The tests; a subclass sets ``use_multiprocessing``. One server (with
    CHUNKING) per class; each test starts with an empty spool."""

    server_options = {'extensions': ['CHUNKING']}

    def send(self, msg):
        connection = smtp_client(self, self.server.port)
        self.assertEqual({}, connection.sendmail(
            'from@example.com', ['to@example.com'], msg))
        connection.quit()
        [message] = self.server.messages()
        return message

    def test_a_crlf_message(self):
        message = self.send('Subject: crlf\r\n\r\nline 1\r\nline 2')
        # smtplib ends the last line with CRLF: kept
        self.assertEqual(b'Subject: crlf\r\n\r\nline 1\r\nline 2\r\n',
                         message.msg_bytes)
        self.assertEqual('Subject: crlf\n\nline 1\nline 2', message.msg_data)

    def test_bytes_with_bare_lf(self):
        octets = b'Subject: bare\n\nline 1\nline 2\n'
        message = self.send(octets)
        if six.PY2:
            # Python 2's smtplib makes every line end a CRLF
            sent = octets.replace(b'\n', b'\r\n')
        else:
            # Python 3's sends bytes as they are and adds a CRLF
            sent = octets + b'\r\n'
        self.assertEqual(sent, message.msg_bytes)
        self.assertEqual(native_from_wire(sent.replace(b'\r\n', b'\n')[:-1]),
                         message.msg_data)

    def test_lines_starting_with_a_dot(self):
        octets = b'.first\r\nSubject: dots\r\n\r\n.\r\n..two\r\n...\r\nend .'
        message = self.send(octets)
        self.assertEqual(octets + b'\r\n', message.msg_bytes)
        self.assertEqual('.first\nSubject: dots\n\n.\n..two\n...\nend .',
                         message.msg_data)

    def test_eight_bit_content(self):
        octets = (u'Subject: gr\xfc\xdfe\r\n\r\n\u20ac \U0001f600\r\n'
                  .encode('utf-8') + b'K\xe4se \xff\xfe\x80\r\n')
        message = self.send(octets)
        self.assertEqual(octets, message.msg_bytes)
        self.assertEqual(native_from_wire(octets.replace(b'\r\n', b'\n')[:-1]),
                         message.msg_data)

    def test_bdat_chunks_as_they_are(self):
        first = b'Subject: chunks\r\n\r\n..not stuffed\nbare lf\r'
        last = b'\n.\r\n\xff no final line end'
        client = self.raw(self.server)
        self.assertEqual(220, client.read_reply()[0])
        client.send(b'EHLO client.example.com\r\n')
        self.assertTrue('CHUNKING' in client.read_reply()[1])
        client.send(b'MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n')
        self.assertEqual([250, 250], [client.read_reply()[0] for _ in range(2)])
        client.send(b'BDAT %d\r\n' % len(first) + first)
        self.assertEqual(250, client.read_reply()[0])
        client.send(b'BDAT %d LAST\r\n' % len(last) + last)
        self.assertEqual(250, client.read_reply()[0])
        client.send(b'QUIT\r\n')
        self.assertEqual(221, client.read_reply()[0])
        [message] = self.server.messages()
        self.assertEqual(first + last, message.msg_bytes)
        self.assertEqual(native_from_wire(
            b'Subject: chunks\n\n..not stuffed\nbare lf\n.\n\xff no final '
            b'line end'), message.msg_data)

    def test_as_email_of_a_mime_message(self):
        mime = MIMEMultipart()
        mime['Subject'] = 'With an attachment'
        mime.attach(MIMEText(u'Gr\xfc\xdfe\n.dot line\n', 'plain', 'utf-8'))
        attachment = MIMEApplication(b'\x00\x01binary\xff\r\n.', 'octet-stream')
        attachment.add_header('Content-Disposition', 'attachment',
                              filename='data.bin')
        mime.attach(attachment)
        message = self.send(mime.as_string())
        parsed = message.as_email()
        self.assertEqual('With an attachment', parsed['Subject'])
        self.assertEqual('multipart/mixed', parsed.get_content_type())
        text, binary = parsed.get_payload()
        self.assertEqual(u'Gr\xfc\xdfe\n.dot line\n',
                         text.get_payload(decode=True).decode('utf-8'))
        self.assertEqual('data.bin', binary.get_filename())
        self.assertEqual(b'\x00\x01binary\xff\r\n.',
                         binary.get_payload(decode=True))


class SerialPathMsgBytesTest(MsgBytesTests, ServerTestCase):
    use_multiprocessing = False


class ForkPathMsgBytesTest(OnForkPath, MsgBytesTests, ServerTestCase):
    pass


if __name__ == '__main__':
    unittest.main()
