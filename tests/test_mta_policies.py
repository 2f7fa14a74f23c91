# -*- coding: utf-8 -*-
"""Every fault of pymta.policies through a real server, driven by smtplib:
the exception a sending application sees, and a server that serves the
next connection as usual. ``FaultsTest`` runs the test helper's server (a
thread of this process, one policy instance: counting is global there, the
helper's probe connection first); ``FaultsInServerProcessTest`` one fault
family per server process, on the serial and on the fork path.

smtplib on Python 2.7 answers a 421 in the middle of a session with RSET
on the closed connection, so there the application sees
SMTPServerDisconnected where Python 3 raises the exception of the command
with code 421."""
from __future__ import absolute_import

import os
import shutil
import smtplib
import tempfile
import threading
import time
import unittest

from pymta.compat import PY2
from pymta.policies import Delay, Drop, FaultPolicy, Greylisting, Reject, \
    Reply, Shutdown421, TempFail
from pymta.test_util import DummyAuthenticator, SMTPTestHelper, \
    self_signed_certificate
from .mta_support import FAULT_SECONDS, TIMEOUT, OnForkPath, RawClient, \
    ServerTestCase


SENDER = 'sender@example.com'
RECIPIENT = 'recipient@example.com'
MESSAGE = 'Subject: fault injection\r\n\r\nHello\r\n'
TEMPFAIL = 'Temporary failure, please try again later'
SHUTDOWN = 'Service not available, closing transmission channel'
GREYLISTED = '4.7.1 Greylisted, please try again later'

_now = getattr(time, 'monotonic', time.time)


def after_421(exception_type):
    """What smtplib raises for a 421 in the middle of a session (see the
    module docstring)."""
    return smtplib.SMTPServerDisconnected if PY2 else exception_type


def _close_quietly(client):
    try:
        client.close()
    except Exception:
        pass


class _SMTPLibAssertions(object):
    def raises_exactly(self, exception_type, function, *args, **kwargs):
        """The exception ``function(*args, **kwargs)`` raises, which must be
        of ``exception_type`` itself (not a subclass)."""
        try:
            function(*args, **kwargs)
        except Exception as error:
            self.assertEqual(exception_type, type(error), repr(error))
            return error
        self.fail('%s not raised' % (exception_type.__name__,))

    def smtp(self, port, timeout=TIMEOUT):
        """A client; the one before it is closed first (the serial path
        serves one connection at a time)."""
        self.close_clients()
        client = smtplib.SMTP('127.0.0.1', port, timeout=timeout)
        self.clients.append(client)
        return client

    def close_clients(self):
        if not hasattr(self, 'clients'):
            self.clients = []
            self.addCleanup(self.close_clients)
        while self.clients:
            _close_quietly(self.clients.pop())

    def send(self, client, recipients=(RECIPIENT,)):
        return client.sendmail(SENDER, list(recipients), MESSAGE)


class FaultsTest(_SMTPLibAssertions, unittest.TestCase):
    def serve(self, *faults, **options):
        """A test helper's server with ``FaultPolicy(*faults)``."""
        self.policy = FaultPolicy(*faults)
        self.helper = SMTPTestHelper(policy_class=self.policy,
                                     authenticator_class=DummyAuthenticator,
                                     **options)
        self.helper.start_mta()
        self.addCleanup(self.helper.stop_mta)
        return self.policy

    def client(self, timeout=TIMEOUT):
        return self.smtp(self.helper.listen_port, timeout)

    def received(self):
        """The messages delivered since the last call."""
        messages = []
        queue = self.helper.get_received_messages()
        while not queue.empty():
            messages.append(queue.get_nowait())
        return messages

    def assert_healthy(self):
        """A new connection sends a message as usual."""
        self.received()
        client = self.client()
        self.assertEqual({}, self.send(client))
        self.assertEqual(221, client.quit()[0])
        self.assertEqual([[RECIPIENT]],
                         [message.smtp_to for message in self.received()])

    # --- replies ------------------------------------------------------------
    def test_the_nth_connection_refused_the_probe_is_the_first(self):
        policy = self.serve(TempFail('connect', nth=2))
        error = self.raises_exactly(smtplib.SMTPConnectError, self.client)
        self.assertEqual((421, b'Service not available, try again later'),
                         (error.smtp_code, error.smtp_error))
        self.assertEqual(2, policy.faults[0].count)
        self.assert_healthy()
        self.assertEqual(3, policy.faults[0].count)
        self.serve(Reject('connect', nth=2))
        error = self.raises_exactly(smtplib.SMTPConnectError, self.client)
        self.assertEqual(554, error.smtp_code)
        self.assert_healthy()

    def test_helo_and_ehlo_refused(self):
        self.serve(Reject(('EHLO', 'HELO'), nth=(1, 2)))
        error = self.raises_exactly(smtplib.SMTPHeloError, self.send,
                                    self.client())
        self.assertEqual((550, b'Rejected'),
                         (error.smtp_code, error.smtp_error))
        self.assert_healthy()

    def test_ehlo_alone_refused_smtplib_falls_back_to_helo(self):
        self.serve(Reject('EHLO'))
        client = self.client()
        self.assertEqual({}, self.send(client))
        self.assertEqual(0, client.does_esmtp)
        self.assertEqual(1, len(self.received()))

    def test_auth_refused(self):
        self.serve(TempFail('AUTH'))
        client = self.client()
        error = self.raises_exactly(smtplib.SMTPAuthenticationError,
                                    client.login, 'user', 'user')
        self.assertEqual((451, TEMPFAIL.encode('ascii')),
                         (error.smtp_code, error.smtp_error))
        # the session goes on without AUTH
        self.assertEqual({}, self.send(client))
        self.assert_healthy()

    def test_mail_from_refused(self):
        self.serve(TempFail('MAIL FROM', nth=1))
        client = self.client()
        error = self.raises_exactly(smtplib.SMTPSenderRefused, self.send,
                                    client)
        self.assertEqual((451, TEMPFAIL.encode('ascii'), SENDER),
                         (error.smtp_code, error.smtp_error, error.sender))
        # a retry in the same session goes through
        self.assertEqual({}, self.send(client))
        self.assertEqual(1, len(self.received()))
        self.assert_healthy()

    def test_rcpt_to_refused(self):
        self.serve(Reject('RCPT TO', 553, 'No such user', nth=1))
        error = self.raises_exactly(smtplib.SMTPRecipientsRefused, self.send,
                                    self.client())
        self.assertEqual({RECIPIENT: (553, b'No such user')},
                         error.recipients)
        self.assert_healthy()

    def test_one_of_two_recipients_refused_sendmail_says_which(self):
        self.serve(TempFail('RCPT TO', nth=2))
        refused = self.send(self.client(), [RECIPIENT, 'other@example.com'])
        self.assertEqual({'other@example.com': (451, TEMPFAIL.encode('ascii'))},
                         refused)
        self.assertEqual([[RECIPIENT]],
                         [message.smtp_to for message in self.received()])

    def test_data_refused(self):
        self.serve(Reject('DATA', nth=1))
        error = self.raises_exactly(smtplib.SMTPDataError, self.send,
                                    self.client())
        self.assertEqual((550, b'Rejected'),
                         (error.smtp_code, error.smtp_error))
        self.assert_healthy()

    def test_the_nth_message_refused_at_its_end(self):
        self.serve(TempFail('message', nth=2))
        client = self.client()
        self.assertEqual({}, self.send(client))
        error = self.raises_exactly(smtplib.SMTPDataError, self.send, client)
        self.assertEqual(451, error.smtp_code)
        self.assertEqual({}, self.send(client))
        self.assertEqual(2, len(self.received()))
        self.assert_healthy()

    def test_a_reply_that_accepts(self):
        self.serve(Reply('message', 250, ['queued as 42', 'thank you']))
        client = self.client()
        self.send(client)
        self.assertEqual(1, len(self.received()))
        client.mail(SENDER)
        client.rcpt(RECIPIENT)
        self.assertEqual((250, b'queued as 42\nthank you'),
                         client.data(MESSAGE))

    def test_starttls_refused(self):
        directory = tempfile.mkdtemp(prefix='pymta-test-policies-')
        self.addCleanup(shutil.rmtree, directory, True)
        try:
            files = self_signed_certificate(directory)
        except RuntimeError as e:
            # (.ci/packages installs openssl; CI must run this test)
            if os.environ.get('CI'):
                raise
            raise unittest.SkipTest(str(e))
        self.serve(TempFail('STARTTLS', 454, 'TLS not available now'),
                   tls=list(files))
        client = self.client()
        client.ehlo()
        self.assertTrue(client.has_extn('starttls'))
        error = self.raises_exactly(smtplib.SMTPResponseException,
                                    client.starttls)
        self.assertEqual((454, b'TLS not available now'),
                         (error.smtp_code, error.smtp_error))
        # an application that goes on in the clear can
        self.assertEqual({}, self.send(client))
        self.assertEqual(None, self.received()[0].tls)

    def test_a_random_fraction_with_a_seed(self):
        self.serve(Reject('MAIL FROM', rate=0.5, seed=1))
        twin = Reject('MAIL FROM', rate=0.5, seed=1)
        expected = [twin.selected() for _ in range(10)]
        self.assertTrue(True in expected and False in expected, expected)
        client = self.client()
        refused = []
        for _ in range(10):
            try:
                self.send(client)
                refused.append(False)
            except smtplib.SMTPSenderRefused as error:
                self.assertEqual(550, error.smtp_code)
                refused.append(True)
        self.assertEqual(expected, refused)
        self.assertEqual(expected.count(False), len(self.received()))

    # --- 421 ----------------------------------------------------------------
    def test_421_at_mail_from(self):
        self.serve(Shutdown421('MAIL FROM', nth=1))
        error = self.raises_exactly(after_421(smtplib.SMTPSenderRefused),
                                    self.send, self.client())
        if not PY2:
            self.assertEqual((421, SHUTDOWN.encode('ascii')),
                             (error.smtp_code, error.smtp_error))
        self.assert_healthy()

    def test_421_at_rcpt_to(self):
        self.serve(Shutdown421('RCPT TO', nth=1))
        error = self.raises_exactly(after_421(smtplib.SMTPRecipientsRefused),
                                    self.send, self.client())
        if not PY2:
            self.assertEqual({RECIPIENT: (421, SHUTDOWN.encode('ascii'))},
                             error.recipients)
        self.assert_healthy()

    def test_421_at_the_end_of_the_message(self):
        self.serve(Shutdown421('message', nth=1))
        error = self.raises_exactly(after_421(smtplib.SMTPDataError),
                                    self.send, self.client())
        if not PY2:
            self.assertEqual(421, error.smtp_code)
        self.assertEqual([], self.received())
        self.assert_healthy()

    def test_after_the_421_the_server_closes_the_connection(self):
        self.serve(Shutdown421('HELO', nth=1))
        client = RawClient(self.helper.listen_port)
        self.addCleanup(client.close)
        self.assertEqual(220, client.read_reply()[0])
        client.send(b'HELO client.example.com\r\n')
        self.assertEqual((421, [SHUTDOWN]), client.read_reply())
        self.assertEqual(b'', client.read_to_eof())
        self.assert_healthy()

    # --- drops ----------------------------------------------------------------
    def test_drop_the_nth_connection_before_the_greeting(self):
        self.serve(Drop('connect', nth=2))
        error = self.raises_exactly(smtplib.SMTPServerDisconnected,
                                    self.client)
        self.assertTrue('unexpectedly closed' in str(error), error)
        self.assert_healthy()

    def test_drop_after_the_greeting(self):
        self.serve(Drop('connect', before_reply=False, nth=2))
        client = self.client()
        self.raises_exactly(smtplib.SMTPServerDisconnected, client.ehlo)
        self.assert_healthy()

    def test_drop_at_each_command_before_its_reply(self):
        for command in ('EHLO', 'AUTH', 'MAIL FROM', 'RCPT TO', 'DATA',
                        'message'):
            self.serve(Drop(command, nth=1))
            client = self.client()
            if command == 'AUTH':
                self.raises_exactly(smtplib.SMTPServerDisconnected,
                                    client.login, 'user', 'user')
            else:
                self.raises_exactly(smtplib.SMTPServerDisconnected,
                                    self.send, client)
            self.assertEqual([], self.received(), command)
            self.assert_healthy()
            self.helper.stop_mta()

    def test_drop_after_the_message_was_accepted(self):
        self.serve(Drop('message', before_reply=False, nth=1))
        client = self.client()
        self.assertEqual({}, self.send(client))
        self.assertEqual(1, len(self.received()))
        self.raises_exactly(smtplib.SMTPServerDisconnected, client.quit)
        self.assert_healthy()

    # --- delays ---------------------------------------------------------------
    def test_a_real_delay(self):
        self.serve(Delay('HELO', 0.2))
        client = self.client()
        started = _now()
        self.assertEqual(250, client.helo('client.example.com')[0])
        self.assertTrue(_now() - started >= 0.2, _now() - started)

    def test_a_server_slower_than_the_clients_timeout(self):
        released = threading.Event()
        self.serve(Delay('MAIL FROM', 600, nth=1,
                         sleep=lambda seconds: released.wait(TIMEOUT)))
        # (runs before the server stops)
        self.addCleanup(released.set)
        client = self.client(timeout=0.5)
        client.ehlo()
        error = self.raises_exactly(smtplib.SMTPServerDisconnected,
                                    client.mail, SENDER)
        self.assertTrue('timed out' in str(error), error)
        released.set()
        self.assert_healthy()

    # --- greylisting ------------------------------------------------------------
    def test_greylisting(self):
        now = [1000.0]
        self.serve(Greylisting(300, clock=lambda: now[0]))
        client = self.client()
        error = self.raises_exactly(smtplib.SMTPRecipientsRefused, self.send,
                                    client)
        self.assertEqual({RECIPIENT: (451, GREYLISTED.encode('ascii'))},
                         error.recipients)
        now[0] += 299
        self.assertRaises(smtplib.SMTPRecipientsRefused, self.send, client)
        self.assertEqual([], self.received())
        now[0] += 1
        self.assertEqual({}, self.send(client))
        self.assertEqual(1, len(self.received()))
        self.assert_healthy()


class FaultsInServerProcessTest(_SMTPLibAssertions, ServerTestCase):
    """One fault family per server (``mta_support.FAULT_POLICIES``), in a
    process of its own. On the fork path each worker has its own policy;
    none of these tests depends on which worker serves a connection."""

    use_multiprocessing = False

    def server(self, policy):
        return self.start_server(self.use_multiprocessing, policy=policy)

    def test_connect_refused(self):
        server = self.server('faults-reject-connect')
        for _ in range(2):
            error = self.raises_exactly(smtplib.SMTPConnectError, self.smtp,
                                        server.port)
            self.assertEqual((554, b'Service not available'),
                             (error.smtp_code, error.smtp_error))

    def test_rcpt_to_tempfailed(self):
        server = self.server('faults-tempfail-rcpt')
        client = self.smtp(server.port)
        error = self.raises_exactly(smtplib.SMTPRecipientsRefused, self.send,
                                    client)
        self.assertEqual({RECIPIENT: (451, TEMPFAIL.encode('ascii'))},
                         error.recipients)
        self.assertEqual(250, client.noop()[0])
        self.assertRaises(smtplib.SMTPRecipientsRefused, self.send,
                          self.smtp(server.port))
        self.assertEqual([], server.messages())

    def test_dropped_at_data(self):
        server = self.server('faults-drop-data')
        self.raises_exactly(smtplib.SMTPServerDisconnected, self.send,
                            self.smtp(server.port))
        client = self.smtp(server.port)
        self.assertEqual(250, client.ehlo()[0])
        self.assertEqual(250, client.mail(SENDER)[0])
        self.assertEqual(250, client.rcpt(RECIPIENT)[0])
        self.assertEqual([], server.messages())

    def test_dropped_after_the_message(self):
        server = self.server('faults-drop-after-message')
        client = self.smtp(server.port)
        self.assertEqual({}, self.send(client))
        self.raises_exactly(smtplib.SMTPServerDisconnected, client.quit)
        self.assertEqual({}, self.send(self.smtp(server.port)))
        self.assertEqual(2, len(server.messages()))

    def test_421_at_mail_from(self):
        server = self.server('faults-shutdown-mail')
        error = self.raises_exactly(after_421(smtplib.SMTPSenderRefused),
                                    self.send, self.smtp(server.port))
        if not PY2:
            self.assertEqual(421, error.smtp_code)
        self.assertEqual(250, self.smtp(server.port).ehlo()[0])

    def test_delayed_helo(self):
        server = self.server('faults-delay-helo')
        client = self.smtp(server.port)
        started = _now()
        self.assertEqual(250, client.helo('client.example.com')[0])
        self.assertTrue(_now() - started >= FAULT_SECONDS)
        self.assertEqual({}, self.send(client))

    def test_greylisted(self):
        server = self.server('faults-greylisting')
        client = self.smtp(server.port)
        for _ in range(2):
            error = self.raises_exactly(smtplib.SMTPRecipientsRefused,
                                        self.send, client)
            self.assertEqual({RECIPIENT: (451, GREYLISTED.encode('ascii'))},
                             error.recipients)
        self.assertEqual([], server.messages())


class FaultsOnForkPathTest(OnForkPath, FaultsInServerProcessTest):
    pass


if __name__ == '__main__':
    unittest.main()
