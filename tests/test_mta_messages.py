# -*- coding: utf-8 -*-
"""Issue 14, items 1, 2, 3 and 5: test servers that serve several clients
at once (``threaded=True``), a mailbox per server (``collect_messages``),
messages from the fork path's workers back in the server's process, and
``wait_for_messages`` woken by delivery."""
from __future__ import absolute_import

import logging
import os
import smtplib
import socket
import threading
import unittest

from pymta.api import IMTAPolicy
from pymta.compat import queue
from pymta.mailbox import Mailbox, MessageWaitTimeout
from pymta.model import Message, Peer
from pymta.mta import PythonMTA
from pymta.test_util import BlackholeDeliverer, DebuggingMTA, \
    SMTPTestCase, SMTPTestHelper
from .mta_support import TIMEOUT, OnForkPath, RawClient, \
    skip_unless_fork_path_possible


def _message(number):
    return Message(Peer('127.0.0.1', number), smtp_from='%d@example.com'
                   % number)


def _send(port, sender='a@example.com', text='Subject: hi\n\nhello\n'):
    client = smtplib.SMTP('127.0.0.1', port, timeout=TIMEOUT)
    try:
        client.sendmail(sender, ['b@example.com'], text)
    finally:
        client.quit()


def _open_fds():
    return sorted(int(name) for name in os.listdir('/proc/self/fd'))


# --- the mailbox on its own ---------------------------------------------------
class MailboxTest(unittest.TestCase):
    def test_reads_like_a_list(self):
        mailbox = Mailbox()
        self.assertEqual(0, len(mailbox))
        self.assertFalse(mailbox)
        first, second = _message(1), _message(2)
        mailbox.append(first)
        mailbox.append(second)
        self.assertTrue(mailbox)
        self.assertEqual([first, second], list(mailbox))
        self.assertEqual(second, mailbox[-1])
        self.assertEqual([first, second], mailbox.snapshot())
        self.assertEqual('<Mailbox: 2 message(s)>', repr(mailbox))

    def test_returns_at_once_when_the_messages_are_there(self):
        mailbox = Mailbox()
        mailbox.append(_message(1))
        self.assertEqual(1, len(mailbox.wait_for_messages(1, timeout=0)))
        self.assertEqual([], Mailbox().wait_for_messages(0, timeout=0))

    def test_a_delivery_in_another_thread_wakes_the_waiter(self):
        mailbox = Mailbox()
        waiting = threading.Event()
        result = []

        def wait():
            waiting.set()
            result.append(mailbox.wait_for_messages(2, timeout=TIMEOUT))
        waiter = threading.Thread(target=wait)
        waiter.start()
        self.assertTrue(waiting.wait(TIMEOUT))
        mailbox.append(_message(1))
        mailbox.append(_message(2))
        waiter.join(TIMEOUT)
        self.assertFalse(waiter.is_alive())
        self.assertEqual(['1@example.com', '2@example.com'],
                         [m.smtp_from for m in result[0]])

    def test_several_waiters_all_wake(self):
        mailbox = Mailbox()
        results = queue.Queue()
        waiters = [threading.Thread(
            target=lambda: results.put(len(mailbox.wait_for_messages(
                1, timeout=TIMEOUT)))) for _ in range(4)]
        for waiter in waiters:
            waiter.start()
        mailbox.append(_message(1))
        for waiter in waiters:
            waiter.join(TIMEOUT)
        self.assertEqual([1, 1, 1, 1],
                         [results.get(timeout=TIMEOUT) for _ in waiters])

    def test_a_timeout_says_what_was_expected(self):
        mailbox = Mailbox()
        mailbox.append(_message(1))
        try:
            mailbox.wait_for_messages(3, timeout=0.01)
        except MessageWaitTimeout as e:
            self.assertTrue(isinstance(e, AssertionError))
            self.assertEqual('expected 3 message(s) within 0.01 s, '
                             '1 arrived', str(e))
        else:
            self.fail('no timeout')

    def test_clear_counts_from_here(self):
        mailbox = Mailbox()
        mailbox.append(_message(1))
        mailbox.clear()
        self.assertEqual(0, len(mailbox))
        self.assertRaises(MessageWaitTimeout, mailbox.wait_for_messages, 1,
                          0.01)
        mailbox.append(_message(2))
        self.assertEqual(['2@example.com'], [
            m.smtp_from for m in mailbox.wait_for_messages(1, timeout=0)])


# --- concurrent test helpers --------------------------------------------------
class BlockingPolicy(IMTAPolicy):
    """HELO 'block' waits until the test sets ``release`` (a policy that
    takes its time, without a sleep); counts the connections it saw."""

    def __init__(self):
        self.blocked = threading.Event()
        self.release = threading.Event()
        self.connections = 0
        self._lock = threading.Lock()

    def accept_new_connection(self, peer):
        with self._lock:
            self.connections += 1
        return True

    def accept_helo(self, helo_string, message):
        if helo_string == 'block':
            self.blocked.set()
            self.release.wait(TIMEOUT)
        return True


class ConcurrentHelperTest(unittest.TestCase):
    def test_a_client_holding_its_connection_open_blocks_no_one(self):
        with SMTPTestHelper() as helper:
            idle = smtplib.SMTP('127.0.0.1', helper.listen_port,
                                timeout=TIMEOUT)
            try:
                idle.ehlo('pooled.example.com')
                _send(helper.listen_port)
                self.assertEqual(1, len(helper.wait_for_messages(1)))
                self.assertEqual(250, idle.noop()[0])
            finally:
                idle.close()

    def test_a_slow_policy_call_does_not_delay_another_connection(self):
        policy = BlockingPolicy()
        with SMTPTestHelper(policy_class=policy) as helper:
            slow = RawClient(helper.listen_port)
            try:
                slow.read_reply()
                slow.send(b'HELO block\r\n')
                self.assertTrue(policy.blocked.wait(TIMEOUT))
                # the policy call of the first connection is still running
                _send(helper.listen_port)
                self.assertFalse(policy.release.is_set())
                self.assertEqual(1, len(helper.messages))
                policy.release.set()
                self.assertEqual(250, slow.read_reply()[0])
            finally:
                policy.release.set()
                slow.close()
            # one policy instance saw every connection (with the probe)
            self.assertEqual(3, policy.connections)

    def test_the_test_case_serves_clients_at_once(self):
        class Case(SMTPTestCase):
            def runTest(self):
                idle = smtplib.SMTP('127.0.0.1', self.listen_port,
                                    timeout=TIMEOUT)
                try:
                    _send(self.listen_port)
                    self.assertEqual('a@example.com',
                                     self.wait_for_messages(1)[0].smtp_from)
                    self.clear_messages()
                    self.assertEqual(0, len(self.mta.messages))
                finally:
                    idle.close()
        result = unittest.TestResult()
        Case().run(result)
        self.assertEqual([], result.errors + result.failures)
        self.assertEqual(1, result.testsRun)

    def test_debugging_mta_serves_one_at_a_time_unless_asked(self):
        self.assertFalse(DebuggingMTA('127.0.0.1', 0, BlackholeDeliverer)
                         .threaded)
        helper = SMTPTestHelper(threaded=False)
        helper.start_mta()
        try:
            self.assertFalse(helper.mta.threaded)
        finally:
            helper.stop_mta()

    def test_beyond_max_workers_a_client_hears_too_busy(self):
        helper = SMTPTestHelper(max_workers=1)
        # (no probe connection: it might still be served)
        helper.start_mta(wait_until_ready=False)
        try:
            first = RawClient(helper.listen_port)
            try:
                self.assertEqual(220, first.read_reply()[0])
                second = RawClient(helper.listen_port)
                try:
                    reply = second.read_to_eof()
                    self.assertTrue(reply.startswith(b'421 localhost '
                                                     b'Service too busy'),
                                    reply)
                finally:
                    second.close()
                # a client that said QUIT frees its place before it
                # hears the 221
                first.send(b'QUIT\r\n')
                self.assertEqual(221, first.read_reply()[0])
                third = RawClient(helper.listen_port)
                try:
                    self.assertEqual(220, third.read_reply()[0])
                finally:
                    third.close()
            finally:
                first.close()
        finally:
            helper.stop_mta()

    def test_stopping_ends_idle_connections_with_a_421(self):
        threads_before = threading.active_count()
        fds_before = _open_fds()
        helper = SMTPTestHelper()
        helper.start_mta()
        clients = [RawClient(helper.listen_port)
                   for _ in range(3)]
        try:
            for client in clients:
                self.assertEqual(220, client.read_reply()[0])
            helper.stop_mta()
            for client in clients:
                self.assertTrue(client.read_to_eof().startswith(b'421 '))
        finally:
            for client in clients:
                client.close()
        self.assertEqual(threads_before, threading.active_count())
        self.assertEqual(fds_before, _open_fds())


# --- a mailbox per server -----------------------------------------------------
class MailboxPerServerTest(unittest.TestCase):
    def test_two_helpers_have_two_mailboxes(self):
        with SMTPTestHelper() as first:
            with SMTPTestHelper() as second:
                _send(first.listen_port, sender='first@example.com')
                self.assertEqual(['first@example.com'], [
                    m.smtp_from for m in first.wait_for_messages(1)])
                self.assertEqual(0, len(second.messages))
                _send(second.listen_port, sender='second@example.com')
                self.assertEqual(['second@example.com'], [
                    m.smtp_from for m in second.wait_for_messages(1)])
                self.assertEqual(1, len(first.messages))

    def test_the_legacy_queue_still_gets_every_message(self):
        with SMTPTestHelper() as helper:
            _send(helper.listen_port)
            message = BlackholeDeliverer.received_messages.get(
                timeout=TIMEOUT)
            self.assertEqual('a@example.com', message.smtp_from)
            self.assertTrue(helper.get_received_messages() is
                            BlackholeDeliverer.received_messages)

    def test_a_server_without_collect_messages_says_so(self):
        server = PythonMTA('127.0.0.1', 0, BlackholeDeliverer)
        self.assertEqual(None, server.messages)
        self.assertRaises(RuntimeError, server.wait_for_messages)
        self.assertRaises(RuntimeError, server.clear_messages)


# --- many messages, exactly once ----------------------------------------------
class _ManyMessages(object):
    """1,000 messages from 8 client threads all arrive in the test's
    process, each exactly once."""

    use_multiprocessing = False
    options = {}

    def test_every_message_arrives_exactly_once(self):
        server = PythonMTA('127.0.0.1', 0, BlackholeDeliverer,
                           collect_messages=True, max_workers=8,
                           **self.options)
        thread = threading.Thread(target=server.serve_forever,
                                  args=(self.use_multiprocessing,))
        thread.start()
        errors = []
        try:
            self.assertTrue(server.wait_until_listening(TIMEOUT))

            def send_many(first):
                try:
                    client = smtplib.SMTP('127.0.0.1', server.port,
                                          timeout=TIMEOUT)
                    for number in range(first, first + 125):
                        client.sendmail('%d@example.com' % number,
                                        ['b@example.com'],
                                        'Subject: %d\n\nbody' % number)
                    client.quit()
                except Exception as e:
                    errors.append(e)
            clients = [threading.Thread(target=send_many, args=(n * 125,))
                       for n in range(8)]
            for client in clients:
                client.start()
            for client in clients:
                client.join(120)
            self.assertEqual([], errors)
            # every 250 came after the message reached this process
            self.assertEqual(1000, len(server.messages))
            senders = [m.smtp_from for m in server.wait_for_messages(1000)]
        finally:
            server.shutdown_server(timeout_seconds=TIMEOUT)
            thread.join(TIMEOUT)
        self.assertEqual(['%d@example.com' % n for n in range(1000)],
                         sorted(senders, key=lambda s: int(s.split('@')[0])))


class ManyMessagesOnTheForkPathTest(OnForkPath, _ManyMessages,
                                    unittest.TestCase):
    use_multiprocessing = True


class ManyMessagesInThreadsTest(_ManyMessages, unittest.TestCase):
    options = {'threaded': True}


# --- the fork path hands its messages back ------------------------------------
class Unpicklable(IMTAPolicy):
    def accept_from(self, sender, message):
        if sender == 'odd@example.com':
            message.callback = lambda: None     # cannot be pickled
        return True


class ForkPathMessagesTest(unittest.TestCase):
    def setUp(self):
        skip_unless_fork_path_possible()

    def test_the_message_is_there_when_the_client_has_its_250(self):
        with PythonMTA('127.0.0.1', 0, BlackholeDeliverer,
                       collect_messages=True) as server:
            _send(server.port, text='Subject: fork\n\nfrom a worker')
            self.assertEqual(1, len(server.messages))
            message = server.messages[0]
            self.assertEqual('Subject: fork\n\nfrom a worker',
                             message.msg_data)
            self.assertEqual(['b@example.com'], message.smtp_to)
            server.clear_messages()
            self.assertRaises(MessageWaitTimeout, server.wait_for_messages,
                              1, 0.01)

    def test_a_message_that_cannot_be_pickled_is_delivered_not_collected(
            self):
        logging.getLogger('pymta').addHandler(logging.NullHandler())
        with PythonMTA('127.0.0.1', 0, BlackholeDeliverer, Unpicklable,
                       collect_messages=True) as server:
            client = smtplib.SMTP('127.0.0.1', server.port, timeout=TIMEOUT)
            try:
                self.assertEqual({}, client.sendmail(
                    'odd@example.com', ['b@example.com'], 'x'))
                client.sendmail('even@example.com', ['b@example.com'], 'y')
            finally:
                client.quit()
            self.assertEqual(['even@example.com'], [
                m.smtp_from for m in server.wait_for_messages(1)])

    def test_a_worker_that_dies_is_replaced_and_collects_again(self):
        class Crash(IMTAPolicy):
            def accept_helo(self, helo_string, message):
                if helo_string == 'crash':
                    os._exit(3)
                return True
        logging.getLogger('pymta').addHandler(logging.NullHandler())
        with PythonMTA('127.0.0.1', 0, BlackholeDeliverer, Crash,
                       collect_messages=True, min_spare_workers=1) as server:
            crashing = smtplib.SMTP('127.0.0.1', server.port, timeout=TIMEOUT)
            self.assertRaises((smtplib.SMTPServerDisconnected, socket.error),
                              crashing.helo, 'crash')
            crashing.close()
            _send(server.port)
            self.assertEqual(1, len(server.wait_for_messages(1)))
