# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""The opt-in SMTP extensions over real sockets (issue 13): PIPELINING
(RFC 2920), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), ENHANCEDSTATUSCODES
(RFC 2034), DSN (RFC 3461) and CHUNKING (RFC 3030), with smtplib and a raw client, on the
serial path and (in the fork environments) the fork path; off, nothing
changes."""

from __future__ import absolute_import

import smtplib
import unittest

from pymta.mta import PythonMTA
from pymta.test_util import BlackholeDeliverer
from .mta_support import TIMEOUT, OnForkPath, ServerTestCase


class ExtensionsTest(ServerTestCase):
    use_multiprocessing = False

    def smtp(self, server):
        client = smtplib.SMTP('127.0.0.1', server.port, timeout=TIMEOUT)
        self.addCleanup(client.close)
        return client

    def test_8bitmime_with_smtplib(self):
        server = self.start_server(self.use_multiprocessing,
                                   extensions=['8BITMIME', 'PIPELINING'])
        client = self.smtp(server)
        client.ehlo('client.example.com')
        self.assertTrue(client.has_extn('8bitmime'))
        self.assertTrue(client.has_extn('pipelining'))
        body = u'Subject: 8 bit\r\n\r\ngr\xfc\xdfe\r\n'.encode('utf-8')
        client.sendmail('a@example.com', ['b@example.com'], body,
                        mail_options=['BODY=8BITMIME'])
        client.quit()
        [message] = server.messages()
        self.assertEqual({'body': '8BITMIME', 'size': len(body)},
                         message.mail_options)

    def test_a_pipelined_group_with_a_refused_recipient(self):
        server = self.start_server(self.use_multiprocessing,
                                   extensions=['PIPELINING'])
        client = self.raw(server)
        self.assertEqual(220, client.read_reply()[0])
        client.send(b'EHLO client.example.com\r\n')
        self.assertTrue('PIPELINING' in client.read_reply()[1])
        client.send(b'MAIL FROM:<a@example.com>\r\nRCPT TO:<bad@example.com>\r\n'
                    b'RCPT TO:<good@example.com>\r\nDATA\r\n')
        self.assertEqual([250, 550, 250, 354],
                         [client.read_reply()[0] for _ in range(4)])
        client.send(b'pipelined\r\n.\r\nQUIT\r\n')
        self.assertEqual([250, 221], [client.read_reply()[0] for _ in range(2)])
        [message] = server.messages()
        self.assertEqual(['good@example.com'], message.smtp_to)

    def test_bdat_chunks_over_the_wire(self):
        server = self.start_server(self.use_multiprocessing,
                                   extensions=['CHUNKING'])
        client = self.raw(server)
        self.assertEqual(220, client.read_reply()[0])
        client.send(b'EHLO client.example.com\r\n')
        self.assertTrue('CHUNKING' in client.read_reply()[1])
        client.send(b'MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n')
        self.assertEqual([250, 250], [client.read_reply()[0] for _ in range(2)])
        big = b'x' * 70000 + b'\r\n'
        client.send(b'BDAT %d\r\n' % len(big) + big[:1000])
        client.send(big[1000:])
        self.assertEqual((250, ['%d octets received' % len(big)]),
                         client.read_reply())
        client.send(b'BDAT 6 LAST\r\n.\r\n\x00\r\n')
        self.assertEqual(250, client.read_reply()[0])
        client.send(b'QUIT\r\n')
        self.assertEqual(221, client.read_reply()[0])
        [message] = server.messages()
        self.assertEqual(70000 + 4, len(message.msg_data), repr(message.msg_data[-12:]))
        self.assertTrue(message.msg_data.endswith('x\n.\n\x00'))

    def test_enhanced_status_codes_with_smtplib(self):
        server = self.start_server(self.use_multiprocessing,
                                   extensions=['ENHANCEDSTATUSCODES'],
                                   session_timeout=0.5)
        client = self.smtp(server)
        client.ehlo('client.example.com')
        self.assertTrue(client.has_extn('enhancedstatuscodes'))
        self.assertEqual((250, b'2.0.0 OK'), client.docmd('NOOP'))
        self.assertEqual((550, b'5.7.1 relay not permitted'),
                         client.docmd('MAIL', 'FROM:<a@example.com>') and
                         client.docmd('RCPT', 'TO:<bad@example.com>'))
        # (then the idle time out: the 421 carries its code too)
        client.sock.settimeout(TIMEOUT)
        self.assertTrue(client.getreply()[1].startswith(b'4.4.2 '))

    def test_dsn_with_smtplib(self):
        server = self.start_server(self.use_multiprocessing,
                                   extensions=['DSN'])
        client = self.smtp(server)
        client.ehlo('client.example.com')
        self.assertTrue(client.has_extn('dsn'))
        client.sendmail('a@example.com', ['b@example.com', 'c@example.com'],
                        b'Subject: dsn\r\n\r\nx\r\n',
                        mail_options=['RET=HDRS', 'ENVID=QQ1'],
                        rcpt_options=['NOTIFY=SUCCESS,FAILURE'])
        client.quit()
        [message] = server.messages()
        self.assertEqual('HDRS', message.mail_options['ret'])
        self.assertEqual('QQ1', message.mail_options['envid'])
        self.assertEqual(dict((address, {'notify': ('SUCCESS', 'FAILURE')})
                              for address in ('b@example.com', 'c@example.com')),
                         message.rcpt_options)

    def test_smtputf8_with_send_message(self):
        if not hasattr(smtplib.SMTP, 'send_message'):
            self.skipTest('Python 2.7: smtplib has no send_message '
                          '(test_core_connection sends UTF-8 addresses)')
        from email.message import EmailMessage
        server = self.start_server(self.use_multiprocessing,
                                   extensions=['SMTPUTF8'])
        client = self.smtp(server)
        message = EmailMessage()
        message['From'] = u'J\xf6rg <j\xf6rg@ex\xe4mple.com>'
        message['To'] = u'\u8a66\u9a13@\u4f8b\u3048.jp'
        message['Subject'] = u'gr\xfc\xdfe'
        message.set_content(u'Hall\xf6chen')
        client.send_message(message)
        client.quit()
        [received] = server.messages()
        self.assertEqual(u'j\xf6rg@ex\xe4mple.com', received.smtp_from)
        self.assertEqual([u'\u8a66\u9a13@\u4f8b\u3048.jp'], received.smtp_to)
        self.assertTrue(received.mail_options['smtputf8'])

    def test_off_by_default(self):
        server = self.start_server(self.use_multiprocessing)
        client = self.smtp(server)
        client.ehlo('client.example.com')
        self.assertFalse(client.has_extn('8bitmime'))
        self.assertFalse(client.has_extn('pipelining'))
        self.assertFalse(client.has_extn('chunking'))
        self.assertFalse(client.has_extn('enhancedstatuscodes'))
        self.assertFalse(client.has_extn('dsn'))
        self.assertFalse(client.has_extn('smtputf8'))
        self.assertEqual((250, b'OK'), client.docmd('NOOP'))
        self.assertEqual((500, b'unrecognized command "BDAT"'),
                         client.docmd('BDAT', '0 LAST'))
        self.assertEqual((501, b'Invalid extension: "BODY=8BITMIME"'),
                         client.docmd('MAIL', 'FROM:<a@example.com> BODY=8BITMIME'))


class ForkPathExtensionsTest(OnForkPath, ExtensionsTest):
    pass


class ExtensionOptionsTest(unittest.TestCase):
    def test_unknown_extensions_and_starttls_are_refused(self):
        for extensions in (['FNORD'], ['STARTTLS'], ['PIPELINING', 'x']):
            self.assertRaises(ValueError, PythonMTA, '127.0.0.1', 0,
                              BlackholeDeliverer, extensions=extensions)
        server = PythonMTA('127.0.0.1', 0, BlackholeDeliverer,
                           extensions=('8BITMIME', 'PIPELINING'))
        self.assertEqual(('8BITMIME', 'PIPELINING'), server.extensions)
        # (one name is one name, not its letters)
        self.assertEqual(('PIPELINING',), PythonMTA(
            '127.0.0.1', 0, BlackholeDeliverer,
            extensions='PIPELINING').extensions)
        self.assertEqual((), PythonMTA('127.0.0.1', 0, BlackholeDeliverer,
                                       extensions=()).extensions)


if __name__ == '__main__':
    unittest.main()
