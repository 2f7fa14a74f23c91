# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""TLS over real sockets (issue 13): STARTTLS (RFC 3207) and implicit TLS
(RFC 8314) with smtplib, a raw client and ``openssl s_client``, on the
serial path and (in the fork environments) the fork path; handshakes that
fail or stall end their connection only."""

from __future__ import absolute_import

import os
import shutil
import smtplib
import ssl
import subprocess
import tempfile
import unittest

from pymta.test_util import self_signed_certificate
from .mta_support import TIMEOUT, OnForkPath, RawClient, ServerTestCase, \
    deliver_interleaved, swaks_or_skip


MESSAGE = b'Subject: over TLS\r\n\r\nHello\r\n'


class _Certificate(object):
    """One certificate for the whole module."""
    directory = None
    files = None

    @classmethod
    def get(cls):
        if cls.files is None:
            cls.directory = tempfile.mkdtemp(prefix='pymta-test-tls-')
            try:
                cls.files = self_signed_certificate(cls.directory)
            except RuntimeError as e:
                # (.ci/packages installs openssl; CI must run these tests)
                if os.environ.get('CI'):
                    raise
                raise unittest.SkipTest(str(e))
        return cls.files


def tearDownModule():
    if _Certificate.directory is not None:
        shutil.rmtree(_Certificate.directory, ignore_errors=True)


def client_context():
    """A client context that trusts the test certificate (Python 3), or
    None (Python 2.7's smtplib takes none and checks no certificate)."""
    if not hasattr(smtplib.SMTP, 'send_message'):
        return None
    return ssl.create_default_context(cafile=_Certificate.get()[0])


def starttls(client):
    context = client_context()
    if context is None:
        return client.starttls()
    return client.starttls(context=context)


class TLSTest(ServerTestCase):
    use_multiprocessing = False

    def server(self, **options):
        return self.start_server(self.use_multiprocessing,
                                 tls=list(_Certificate.get()), **options)

    def smtp(self, server):
        client = smtplib.SMTP('127.0.0.1', server.port, timeout=TIMEOUT)
        self.addCleanup(client.close)
        return client

    def test_starttls_then_auth_and_a_message(self):
        server = self.server()
        client = self.smtp(server)
        client.ehlo('client.example.com')
        self.assertTrue(client.has_extn('starttls'))
        self.assertEqual(220, starttls(client)[0])
        client.ehlo('client.example.com')
        self.assertFalse(client.has_extn('starttls'))
        client.login('joe', 'joe')
        client.sendmail('a@example.com', ['b@example.com'], MESSAGE)
        client.quit()
        [message] = server.messages()
        self.assertEqual(('client.example.com', 'a@example.com', 'joe'),
                         (message.smtp_helo, message.smtp_from,
                          message.username))
        self.assertTrue(message.tls['version'].startswith('TLSv1'),
                        message.tls)
        self.assertTrue(message.tls['cipher'])

    def test_implicit_tls(self):
        server = self.server(implicit_tls=True)
        context = client_context()
        if context is None:
            client = smtplib.SMTP_SSL('127.0.0.1', server.port,
                                      timeout=TIMEOUT)
        else:
            client = smtplib.SMTP_SSL('127.0.0.1', server.port,
                                      timeout=TIMEOUT, context=context)
        self.addCleanup(client.close)
        client.ehlo('client.example.com')
        self.assertFalse(client.has_extn('starttls'))
        client.sendmail('a@example.com', ['b@example.com'], MESSAGE)
        client.quit()
        [message] = server.messages()
        self.assertTrue(message.tls['version'].startswith('TLSv1'))

    def test_without_tls_nothing_changes(self):
        server = self.start_server(self.use_multiprocessing)
        client = self.smtp(server)
        client.ehlo('client.example.com')
        self.assertFalse(client.has_extn('starttls'))
        self.assertEqual((500, b'unrecognized command "STARTTLS"'),
                         client.docmd('STARTTLS'))
        client.sendmail('a@example.com', ['b@example.com'], MESSAGE)
        self.assertEqual(None, server.messages()[0].tls)

    def tls_client(self, raw):
        """Wrap the raw client's socket in TLS (the server's certificate is
        not checked: this is about the server)."""
        context = ssl.SSLContext(getattr(ssl, 'PROTOCOL_TLS_CLIENT', None) or
                                 ssl.PROTOCOL_SSLv23)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        raw.sock = context.wrap_socket(raw.sock)
        return raw

    def test_commands_pipelined_after_starttls_are_never_executed(self):
        server = self.server()
        client = self.raw(server)
        self.assertEqual(220, client.read_reply()[0])
        client.send(b'EHLO client.example.com\r\n')
        self.assertEqual(250, client.read_reply()[0])
        # the injection: everything after STARTTLS in the same packet
        client.send(b'STARTTLS\r\nMAIL FROM:<evil@example.com>\r\n'
                    b'RCPT TO:<b@example.com>\r\nDATA\r\ninjected\r\n.\r\n')
        self.assertEqual((220, ['Ready to start TLS']), client.read_reply())
        self.tls_client(client)
        client.send(b'RCPT TO:<b@example.com>\r\n')
        code, lines = client.read_reply()
        self.assertEqual(503, code)
        self.assertTrue(lines[0].startswith('Command "RCPT TO" is not allowed'),
                        lines)
        client.send(b'EHLO client.example.com\r\nMAIL FROM:<a@example.com>\r\n'
                    b'RCPT TO:<b@example.com>\r\nDATA\r\n')
        for code in (250, 250, 250, 354):
            self.assertEqual(code, client.read_reply()[0])
        client.send(b'over TLS\r\n.\r\nQUIT\r\n')
        self.assertEqual(250, client.read_reply()[0])
        self.assertEqual(221, client.read_reply()[0])
        self.assertEqual(['a@example.com'],
                         [m.smtp_from for m in server.messages()])

    def assert_still_serving(self, server):
        client = self.smtp(server)
        self.assertEqual(250, client.ehlo('next.example.com')[0])
        client.quit()

    def raw_after_starttls(self, server):
        """A raw client that said EHLO and STARTTLS and got the 220."""
        client = self.raw(server)
        self.assertEqual(220, client.read_reply()[0])
        client.send(b'EHLO x\r\n')
        client.read_reply()
        client.send(b'STARTTLS\r\n')
        self.assertEqual(220, client.read_reply()[0])
        return client

    def test_garbage_instead_of_a_client_hello(self):
        server = self.server(implicit_tls=True)
        client = self.raw(server)
        client.send(b'EHLO this is not TLS\r\n' * 20)
        self.assertEqual(b'', closed_by_server(client))
        starttls_server = self.server()
        client = self.raw_after_starttls(starttls_server)
        client.send(b'\x16\x03\x01\x00\x05hello' + b'\0' * 100)
        closed_by_server(client)
        self.assert_still_serving(starttls_server)

    def test_plaintext_under_tls_ends_only_that_session_quietly(self):
        server = self.server()
        client = self.tls_client(self.raw_after_starttls(server))
        client.send(b'NOOP\r\n')
        self.assertEqual(250, client.read_reply()[0])
        # (beside TLS, into the socket under it: a broken record)
        os.write(client.sock.fileno(), b'MAIL FROM:<a@example.com>\r\n')
        closed_by_server(client)
        self.assert_still_serving(server)
        # the client's error, not the server's: no error with a traceback
        # in the server's log (its standard error, INFO and above)
        log = server.stderr_text()
        self.assertFalse('Traceback' in log, log)
        self.assertFalse('error while serving' in log, log)

    def test_a_handshake_that_never_comes_times_out(self):
        server = self.server(implicit_tls=True, session_timeout=0.5)
        client = self.raw(server)
        # (says nothing: the server waits for a ClientHello, 0.5 s)
        self.assertEqual(b'', closed_by_server(client))
        client = RawClient(server.port)
        self.addCleanup(client.close)
        self.tls_client(client)
        client.send(b'EHLO x\r\n')
        self.assertEqual(220, client.read_reply()[0])

    def test_openssl_s_client_starttls(self):
        dialogue = (b'EHLO s-client.example.com\nMAIL FROM:<a@example.com>\n'
                    b'RCPT TO:<b@example.com>\nDATA\nvia openssl\n.\nQUIT\n')
        server = self.server()
        process = subprocess.Popen(
            ['openssl', 's_client', '-starttls', 'smtp', '-crlf', '-quiet',
             '-connect', '127.0.0.1:%d' % server.port,
             '-CAfile', _Certificate.get()[0], '-verify_return_error'],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        self.addCleanup(_kill, process)
        out, err = process.communicate(dialogue)
        self.assertEqual(0, process.returncode, err)
        self.assertTrue(b'221 ' in out, out)
        [message] = server.messages()
        self.assertEqual('via openssl', message.msg_data)
        self.assertTrue(message.tls is not None)

    def swaks(self, server, *arguments):
        swaks = swaks_or_skip(self)
        if '--tls' in arguments or '--tls-on-connect' in arguments:
            support = subprocess.Popen([swaks, '--support'],
                                       stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT)
            if b'TLS supported' not in support.communicate()[0]:
                if os.environ.get('CI'):
                    self.fail('swaks has no TLS (Net::SSLeay): .ci/packages '
                              'installs it; CI must run the swaks TLS tests')
                self.skipTest('swaks has no TLS (apt-get install '
                              'libnet-ssleay-perl)')
        command = [swaks, '--server',
                   '127.0.0.1:%d' % server.port, '--timeout', '10',
                   '--helo', 'swaks.example', '--from', 'swaks@example.com',
                   '--to', 'to@example.com', '--body', 'sent by swaks'] + \
            list(arguments)
        process = subprocess.Popen(command, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
        self.addCleanup(_kill, process)
        output = process.communicate()[0].decode('utf-8', 'replace')
        return process.returncode, output

    def test_swaks_tls(self):
        server = self.server()
        code, output = self.swaks(server, '--tls', '--auth', 'PLAIN',
                                  '--auth-user', 'joe',
                                  '--auth-password', 'joe')
        self.assertEqual(0, code, output)
        self.assertTrue('TLS started' in output, output)
        [message] = server.messages()
        self.assertEqual(('swaks@example.com', 'joe'),
                         (message.smtp_from, message.username))
        self.assertTrue(message.tls is not None)

    def test_swaks_tls_on_connect(self):
        server = self.server(implicit_tls=True)
        code, output = self.swaks(server, '--tls-on-connect')
        self.assertEqual(0, code, output)
        self.assertTrue(server.messages()[0].tls is not None)

    def test_swaks_pipelining_over_tls(self):
        server = self.server()
        code, output = self.swaks(server, '--tls', '--pipeline')
        # (pymta does not offer PIPELINING yet: swaks says so and sends
        # one command at a time)
        self.assertEqual(0, code, output)
        self.assertEqual(1, len(server.messages()))

    def test_a_server_that_requires_tls(self):
        server = self.server(require_tls='all')
        code, output = self.swaks(server, '--auth', 'PLAIN', '--auth-user',
                                  'joe', '--auth-password', 'joe')
        self.assertNotEqual(0, code, output)
        client = self.smtp(server)
        client.ehlo('client.example.com')
        self.assertFalse(client.has_extn('auth'))
        self.assertEqual(538, client.docmd('AUTH', 'PLAIN AGpvZQBqb2U=')[0])
        self.assertEqual(530, client.docmd('MAIL', 'FROM:<a@example.com>')[0])
        client.quit()       # (the serial path serves one client at a time)
        code, output = self.swaks(server, '--tls', '--auth', 'PLAIN',
                                  '--auth-user', 'joe',
                                  '--auth-password', 'joe')
        self.assertEqual(0, code, output)
        [message] = server.messages()
        self.assertEqual('joe', message.username)


class TestHelperTLSTest(unittest.TestCase):
    def test_the_test_helper_takes_the_server_options(self):
        from pymta.test_util import SMTPTestHelper
        helper = SMTPTestHelper(tls=_Certificate.get(),
                                extensions=['ENHANCEDSTATUSCODES'])
        hostname, port = helper.start_mta()
        self.addCleanup(helper.stop_mta)
        client = smtplib.SMTP('127.0.0.1', port, timeout=TIMEOUT)
        self.addCleanup(client.close)
        client.ehlo('client.example.com')
        starttls(client)
        client.ehlo('client.example.com')
        self.assertEqual((250, b'2.0.0 OK'), client.docmd('NOOP'))
        client.sendmail('a@example.com', ['b@example.com'], MESSAGE)
        client.quit()
        message = helper.get_received_messages().get(timeout=TIMEOUT)
        self.assertTrue(message.tls['version'].startswith('TLS'))


class TLSOptionsTest(unittest.TestCase):
    def test_require_tls_needs_tls_and_a_known_value(self):
        from pymta.mta import PythonMTA
        from pymta.test_util import BlackholeDeliverer
        self.assertRaises(ValueError, PythonMTA, '127.0.0.1', 0,
                          BlackholeDeliverer, require_tls='auth')
        self.assertRaises(ValueError, PythonMTA, '127.0.0.1', 0,
                          BlackholeDeliverer, tls=_Certificate.get(),
                          require_tls='yes')
        PythonMTA('127.0.0.1', 0, BlackholeDeliverer, tls=_Certificate.get(),
                  require_tls='all')

    def test_the_certificate_forms(self):
        from pymta.tls import server_context
        certfile, keyfile = _Certificate.get()
        context = server_context((certfile, keyfile))
        self.assertTrue(isinstance(context, ssl.SSLContext))
        self.assertTrue(server_context(context) is context)
        self.assertEqual(None, server_context(None))
        with open(certfile) as cert, open(keyfile) as key:
            both = cert.read() + key.read()
        combined = os.path.join(_Certificate.directory, 'both.pem')
        with open(combined, 'w') as pem:
            pem.write(both)
        self.assertTrue(isinstance(server_context(combined), ssl.SSLContext))
        # (errors that name the file: the ssl module's do not)
        missing = os.path.join(_Certificate.directory, 'missing.pem')
        for tls in (missing, (certfile, missing), _Certificate.directory):
            try:
                server_context(tls)
            except (IOError, OSError) as e:
                self.assertTrue(
                    (missing if tls != _Certificate.directory
                     else _Certificate.directory) in str(e), str(e))
            else:
                self.fail('no error for %r' % (tls,))
        for tls in (certfile, (keyfile, certfile)):
            try:
                server_context(tls)
            except ssl.SSLError as e:
                self.assertTrue('cannot load the certificate %s' % (
                    tls if tls == certfile else keyfile) in str(e), str(e))
            else:
                self.fail('no error for %r' % (tls,))


def _kill(process):
    if process.poll() is None:
        process.kill()
        process.wait()


def closed_by_server(client):
    """What arrives until the server closes the connection (a reset
    counts as closed)."""
    try:
        return client.read_to_eof()
    except (IOError, OSError):
        return b''


class ForkPathTLSTest(OnForkPath, TLSTest):
    pass


class MultiplexingTLSTest(TLSTest):
    """Every TLS test again with multiplexing (one worker, or the serving
    thread, with room for four connections), and what only multiplexing
    can get wrong: a handshake must not hold up the other sessions of its
    loop."""

    server_defaults = {'connections_per_worker': 4, 'max_workers': 1,
                       'min_spare_workers': 1}

    def test_a_stalled_handshake_holds_up_no_other_session(self):
        for implicit_tls in (True, False):
            server = self.server(implicit_tls=implicit_tls)

            def connected():
                """A raw client, where the handshake is due."""
                client = self.raw(server)
                if not implicit_tls:
                    self.assertEqual(220, client.read_reply()[0])
                    client.send(b'EHLO x\r\nSTARTTLS\r\n')
                    self.assertEqual([250, 220],
                                     [client.read_reply()[0]
                                      for _ in range(2)])
                return client
            stalled = connected()
            # the first octets of a ClientHello, the rest never comes
            stalled.send(b'\x16\x03\x01\x02')
            client = connected()
            self.tls_client(client)
            if implicit_tls:
                self.assertEqual(220, client.read_reply()[0])
            client.send(b'EHLO y\r\nMAIL FROM:<a@example.com>\r\n'
                        b'RCPT TO:<b@example.com>\r\nDATA\r\n')
            self.assertEqual([250, 250, 250, 354],
                             [client.read_reply()[0] for _ in range(4)])
            client.send(b'while another handshake stalls\r\n.\r\nQUIT\r\n')
            self.assertEqual([250, 221],
                             [client.read_reply()[0] for _ in range(2)])
            self.assertEqual(['a@example.com'],
                             [m.smtp_from for m in server.messages()])

    def test_commands_in_separate_tls_records_sent_at_once(self):
        # (each send is a TLS record of its own; the loop must serve every
        # one of them, also those TLS has decrypted and the poller cannot
        # see)
        server = self.server(implicit_tls=True)
        client = self.tls_client(self.raw(server))
        self.assertEqual(220, client.read_reply()[0])
        commands = [b'EHLO client.example.com\r\n'] + \
            [b'NOOP\r\n'] * 20 + [b'MAIL FROM:<a@example.com>\r\n',
                                  b'RCPT TO:<b@example.com>\r\n',
                                  b'DATA\r\n']
        for command in commands:
            client.send(command)
        self.assertEqual([250] * 23 + [354],
                         [client.read_reply()[0] for _ in commands])
        # a message larger than one TLS record, in one send
        client.send(b"x" * 60 + b"\r\n")
        client.send((b"y" * 998 + b"\r\n") * 20 + b'.\r\nQUIT\r\n')
        self.assertEqual([250, 221],
                         [client.read_reply()[0] for _ in range(2)])
        [message] = server.messages()
        self.assertEqual(62 + 1000 * 20, len(message.msg_bytes))

    def test_many_tls_sessions_at_once(self):
        server = self.server(implicit_tls=True)
        clients = [self.tls_client(self.raw(server)) for _ in range(4)]
        for client in clients:
            self.assertEqual(220, client.read_reply()[0])
        deliver_interleaved(self, clients, 'c%d@example.com')
        self.assertEqual(['c%d@example.com' % n for n in range(4)],
                         sorted(m.smtp_from for m in server.messages()))


class MultiplexingForkPathTLSTest(OnForkPath, MultiplexingTLSTest):
    pass


if __name__ == '__main__':
    unittest.main()
