# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""The threaded test helpers of pymta.test_util: DebuggingMTA, MTAThread,
SMTPTestHelper and SMTPTestCase, used the way legacy test suites use them."""

from __future__ import absolute_import

import os
import smtplib
import socket
import sys
import threading
import time
import unittest

from pymta.api import IMTAPolicy
from pymta.compat import queue
from pymta.deliverer import BlackholeDeliverer
from pymta.server_test_helpers import (DebuggingMTA, MTAThread, SMTPTestCase,
                                       SMTPTestHelper)
from pymta.test_util import DummyAuthenticator

from .mta_support import TIMEOUT


_now = getattr(time, 'monotonic', time.time)


class ConnectionCountingPolicy(IMTAPolicy):
    """Counts the connections it saw in an instance attribute (as legacy
    suites do); the instances are kept so that the test can look."""

    instances = []

    def __init__(self):
        self.connections = 0
        self.pids = set()
        ConnectionCountingPolicy.instances.append(self)

    def accept_new_connection(self, peer):
        self.connections += 1
        self.pids.add(os.getpid())
        return True


def send_message(hostname, port, sender='from@example.com', **login):
    connection = smtplib.SMTP(hostname, port, timeout=TIMEOUT)
    try:
        if login:
            connection.login(login['user'], login['password'])
        connection.sendmail(sender, ['to@example.com'], 'Subject: x\n\nHello')
        connection.quit()
    finally:
        connection.close()


class SMTPTestHelperTest(unittest.TestCase):

    def helper(self, *args, **kwargs):
        helper = SMTPTestHelper(*args, **kwargs)
        self.addCleanup(helper.stop_mta)
        return helper

    def test_start_send_stop(self):
        helper = self.helper()
        self.assertEqual('localhost', helper.hostname)
        self.assertTrue(helper.deliverer is BlackholeDeliverer)
        hostname, port = helper.start_mta()
        self.assertEqual(('localhost', helper.listen_port), (hostname, port))
        self.assertTrue(isinstance(helper.mta, DebuggingMTA))
        self.assertTrue(isinstance(helper.mta_thread, MTAThread))
        send_message(hostname, port)
        helper.stop_mta()
        messages = helper.get_received_messages()
        self.assertTrue(isinstance(messages, queue.Queue))
        msg = messages.get_nowait()
        self.assertEqual('from@example.com', msg.smtp_from)
        self.assertEqual('Subject: x\n\nHello', msg.msg_data)
        self.assertTrue(messages.empty())

    def test_two_helpers_do_not_collide(self):
        first, second = self.helper(), self.helper()
        first_address = first.start_mta()
        second_address = second.start_mta()
        self.assertNotEqual(first_address[1], second_address[1])
        for address in (first_address, second_address):
            send_message(*address)

    def test_an_authenticator(self):
        helper = self.helper(authenticator_class=DummyAuthenticator)
        hostname, port = helper.start_mta()
        send_message(hostname, port, user='anna', password='anna')
        helper.stop_mta()
        self.assertEqual('anna',
                         helper.get_received_messages().get_nowait().username)

    def test_the_probe_connection_reaches_the_policy(self):
        ConnectionCountingPolicy.instances = []
        helper = self.helper(policy_class=ConnectionCountingPolicy)
        helper.start_mta()
        policy, = ConnectionCountingPolicy.instances
        self.assertEqual(1, policy.connections)
        send_message(helper.hostname, helper.listen_port)
        self.assertEqual(2, policy.connections)
        self.assertEqual(set([os.getpid()]), policy.pids)

    def test_start_without_waiting_makes_no_probe(self):
        ConnectionCountingPolicy.instances = []
        helper = self.helper(policy_class=ConnectionCountingPolicy)
        helper.start_mta(wait_until_ready=False)
        # listening all the same
        send_message(helper.hostname, helper.listen_port)
        self.assertEqual(1, ConnectionCountingPolicy.instances[0].connections)

    def test_starting_and_stopping_takes_milliseconds(self):
        durations = []
        for _ in range(5):
            helper = self.helper()
            started = _now()
            hostname, port = helper.start_mta()
            send_message(hostname, port)
            helper.stop_mta()
            durations.append(_now() - started)
        self.assertTrue(sorted(durations)[2] < 0.25, durations)


def open_fds():
    """The file descriptors of this process (Linux)."""
    fds = {}
    for name in os.listdir('/proc/self/fd'):
        try:
            fds[int(name)] = os.readlink('/proc/self/fd/' + name)
        except OSError:
            pass    # the directory listing itself, closed meanwhile
    return fds


class NothingLeftBehindTest(unittest.TestCase):
    """Twenty start/stop cycles leave no file descriptor (socket) or thread
    behind."""

    def assert_cycles_leave_nothing(self, cycle):
        cycle()     # the first may set up what lives as long as the process
        fds, threads = open_fds(), threading.active_count()
        for _ in range(20):
            cycle()
        self.assertEqual(fds, open_fds())
        self.assertEqual(threads, threading.active_count())

    def test_smtp_test_helper(self):
        def cycle():
            helper = SMTPTestHelper()
            send_message(*helper.start_mta())
            helper.stop_mta()
        self.assert_cycles_leave_nothing(cycle)

    def test_smtp_test_case(self):
        class Case(SMTPTestCase):
            def runTest(self):
                send_message(self.hostname, self.listen_port)

        def cycle():
            result = unittest.TestResult()
            Case().run(result)
            self.assertTrue(result.wasSuccessful(),
                            result.errors + result.failures)
        self.assert_cycles_leave_nothing(cycle)


class ExportsTest(unittest.TestCase):

    def test_test_util_exports_the_helpers(self):
        import pymta.test_util as test_util
        self.assertTrue(test_util.DebuggingMTA is DebuggingMTA)
        self.assertTrue(test_util.MTAThread is MTAThread)
        self.assertTrue(test_util.SMTPTestHelper is SMTPTestHelper)
        self.assertTrue(test_util.SMTPTestCase is SMTPTestCase)


class BlockingServer(object):
    """A server whose shutdown_server() does not stop it (for the warning)."""

    def __init__(self):
        self.release = threading.Event()
        self.bind_error = None

    def serve_forever(self):
        self.release.wait(TIMEOUT)

    def shutdown_server(self):
        pass

    def wait_until_listening(self, timeout=None):
        return True


class MTAThreadTest(unittest.TestCase):

    def test_start_returns_once_listening_and_stop_joins(self):
        mta = DebuggingMTA('127.0.0.1', 0, BlackholeDeliverer)
        thread = MTAThread(mta)
        thread.start()
        self.assertTrue(mta.listening.is_set())
        socket.create_connection(('127.0.0.1', mta.port), TIMEOUT).close()
        thread.stop()
        self.assertFalse(thread.is_alive())

    def test_start_raises_when_the_server_cannot_bind(self):
        blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(blocker.close)
        blocker.bind(('127.0.0.1', 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        thread = MTAThread(DebuggingMTA('127.0.0.1', port, BlackholeDeliverer))
        try:
            thread.start()
        except socket.error as e:
            self.assertTrue(str(port) in str(e), str(e))
        else:
            self.fail('MTAThread.start() did not raise')
        thread.join(TIMEOUT)
        self.assertFalse(thread.is_alive())

    def test_stop_warns_when_the_thread_does_not_end(self):
        server = BlockingServer()
        thread = MTAThread(server)
        thread.start()
        captured = []

        class Capture(object):
            def write(self, text):
                captured.append(text)

            def flush(self):
                pass
        stdout, sys.stdout = sys.stdout, Capture()
        try:
            thread.stop(timeout_seconds=0.01)
        finally:
            sys.stdout = stdout
            server.release.set()
            thread.join(TIMEOUT)
        self.assertTrue(''.join(captured).startswith('WARNING:'), captured)

    def test_stop_joins_a_subclass_with_its_own_run(self):
        mta = DebuggingMTA('127.0.0.1', 0, BlackholeDeliverer)
        ran = []

        class OwnRun(MTAThread):
            def run(self):      # does not call MTAThread.run
                ran.append(True)
                self.server.serve_forever()
        thread = OwnRun(mta)
        thread.start()
        thread.stop(timeout_seconds=TIMEOUT)
        self.assertFalse(thread.is_alive())
        self.assertEqual([True], ran)

    def test_stop_of_a_thread_never_started(self):
        thread = MTAThread(DebuggingMTA('127.0.0.1', 0, BlackholeDeliverer))
        thread.stop()

    def test_debugging_mta_always_serves_in_its_thread(self):
        ConnectionCountingPolicy.instances = []
        mta = DebuggingMTA('127.0.0.1', 0, BlackholeDeliverer,
                           ConnectionCountingPolicy)
        self.assertTrue(isinstance(mta.queue, queue.Queue))
        thread = threading.Thread(target=mta.serve_forever,
                                  kwargs={'use_multiprocessing': True})
        thread.start()
        try:
            mta.wait_until_listening(TIMEOUT)
            send_message('127.0.0.1', mta.port)
        finally:
            mta.shutdown_server()
            thread.join(TIMEOUT)
        self.assertEqual(set([os.getpid()]),
                         ConnectionCountingPolicy.instances[0].pids)


class PlainSMTPTestCaseTest(SMTPTestCase):
    """SMTPTestCase as it is."""

    def test_the_server_listens_on_the_port(self):
        self.assertEqual('localhost', self.hostname)
        self.assertEqual(self.mta.port, self.listen_port)
        self.assertTrue(self.deliverer is BlackholeDeliverer)
        send_message(self.hostname, self.listen_port)
        msg = self.get_received_messages().get(timeout=TIMEOUT)
        self.assert_equals('from@example.com', msg.smtp_from)
        self.assert_equals(['to@example.com'], msg.smtp_to)

    def test_assertion_methods(self):
        self.assert_equals(1, 1)
        self.assert_not_equals(1, 2)
        self.assert_true(True)
        self.assert_false(False)
        self.assert_trueish([1])
        self.assert_falseish([])
        self.assert_none(None)
        self.assert_not_none(0)
        self.assert_contains(1, [1, 2])
        self.assert_not_contains(3, [1, 2])
        self.assert_length(2, [1, 2])
        self.assert_raises(ValueError, int, 'x')
        self.assert_almost_equals(1.0, 1.05, max_delta=0.1)
        self.assert_dict_contains({'a': 1}, {'a': 1, 'b': 2})
        self.assert_isinstance(1, int)
        self.assert_callable(len)
        self.assert_is_empty([])
        self.assert_is_not_empty([1])

    def test_init_mta_again_with_another_policy(self):
        ConnectionCountingPolicy.instances = []
        port = self.listen_port
        self.init_mta(policy_class=ConnectionCountingPolicy)
        self.assertEqual(port, self.listen_port)
        policy, = ConnectionCountingPolicy.instances
        self.assertEqual(1, policy.connections)


class LegacySMTPTestCaseTest(SMTPTestCase):
    """A legacy-style subclass: overrides init_mta and build_mta, calls the
    base versions, and counts connections in its policy."""

    calls = []

    def setUp(self):
        LegacySMTPTestCaseTest.calls = ['setUp']
        ConnectionCountingPolicy.instances = []
        super(LegacySMTPTestCaseTest, self).setUp()

    def init_mta(self, policy_class=ConnectionCountingPolicy):
        self.calls.append('init_mta')
        super(LegacySMTPTestCaseTest, self).init_mta(policy_class=policy_class)

    def build_mta(self, hostname, listen_port, deliverer, policy_class=None):
        self.calls.append('build_mta')
        mta = super(LegacySMTPTestCaseTest, self).build_mta(
            hostname, listen_port, deliverer, policy_class)
        mta.authenticator_class = DummyAuthenticator
        return mta

    def policy(self):
        policy, = ConnectionCountingPolicy.instances
        return policy

    def test_hook_order(self):
        self.assertEqual(['setUp', 'init_mta', 'build_mta'], self.calls)

    def test_the_probe_connection_is_counted(self):
        self.assert_equals(1, self.policy().connections)
        send_message(self.hostname, self.listen_port, user='u', password='u')
        self.assert_equals(2, self.policy().connections)
        msg = self.get_received_messages().get(timeout=TIMEOUT)
        self.assert_equals('u', msg.username)

    def test_the_policy_lives_as_long_as_the_server(self):
        for number in range(3):
            send_message(self.hostname, self.listen_port)
        self.assert_equals(4, self.policy().connections)
        self.assert_length(1, ConnectionCountingPolicy.instances)
