# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""PythonMTA's serial path running in a thread of the test process: binding,
readiness, shutdown_server() from another thread, and what is left behind
(nothing)."""

from __future__ import absolute_import

import logging
import os
import smtplib
import socket
import threading
import time
import unittest

from pymta.api import IMessageDeliverer, IMTAPolicy
from pymta.deliverer import BlackholeDeliverer
from pymta.mta import PythonMTA

from .core_support import PymtaLog, make_noop_fail
from .mta_support import TIMEOUT, RawClient


_now = getattr(time, 'monotonic', time.time)


class RecordingPolicy(IMTAPolicy):
    """Counts connections; remembers the thread that served them."""

    instances = []

    def __init__(self):
        self.connections = 0
        self.threads = set()
        RecordingPolicy.instances.append(self)

    def accept_new_connection(self, peer):
        self.connections += 1
        self.threads.add(threading.current_thread().ident)
        return True


class ListDeliverer(IMessageDeliverer):
    def __init__(self):
        self.messages = []

    def new_message_accepted(self, msg):
        self.messages.append(msg)


class ServingThread(threading.Thread):

    def __init__(self, mta):
        threading.Thread.__init__(self)
        self.daemon = True
        self.mta = mta
        self.error = None

    def run(self):
        try:
            self.mta.serve_forever(use_multiprocessing=False)
        except Exception as e:
            self.error = e


class SerialPathInThreadTest(unittest.TestCase):

    def setUp(self):
        RecordingPolicy.instances = []
        self.threads_before = threading.active_count()

    def serve(self, mta):
        thread = ServingThread(mta)
        thread.start()
        self.addCleanup(self.stop, mta, thread)
        self.assertTrue(mta.wait_until_listening(TIMEOUT))
        return thread

    def stop(self, mta, thread):
        mta.shutdown_server()
        thread.join(TIMEOUT)
        self.assertFalse(thread.is_alive())

    def send_message(self, port, sender='from@example.com'):
        connection = smtplib.SMTP('127.0.0.1', port, timeout=TIMEOUT)
        try:
            connection.sendmail(sender, ['to@example.com'], 'Subject: x\n\nHi')
            connection.quit()
        finally:
            connection.close()

    def test_port_zero_picks_a_free_port_readable_once_listening(self):
        mta = PythonMTA('127.0.0.1', 0, BlackholeDeliverer)
        self.assertEqual(None, mta.port)
        self.assertFalse(mta.listening.is_set())
        self.serve(mta)
        self.assertTrue(mta.listening.is_set())
        self.assertTrue(mta.port > 0)
        self.assertEqual(('127.0.0.1', mta.port), mta.server_address)
        self.send_message(mta.port)
        self.assertEqual('from@example.com',
                         BlackholeDeliverer.received_messages.get_nowait()
                         .smtp_from)

    def test_shutdown_server_from_another_thread_returns_promptly(self):
        mta = PythonMTA('127.0.0.1', 0, BlackholeDeliverer)
        thread = self.serve(mta)
        self.send_message(mta.port)
        started = _now()
        self.assertTrue(mta.shutdown_server(timeout_seconds=TIMEOUT))
        thread.join(TIMEOUT)
        self.assertTrue(_now() - started < 0.5, _now() - started)
        self.assertFalse(thread.is_alive())
        self.assertEqual(None, thread.error)
        self.assertFalse(mta.listening.is_set())
        # the listening socket is closed: the port is free again
        self.assertRaises(socket.error, socket.create_connection,
                          ('127.0.0.1', mta.port), TIMEOUT)
        self.assertEqual(self.threads_before, threading.active_count())

    def test_shutdown_server_interrupts_an_idle_session(self):
        mta = PythonMTA('127.0.0.1', 0, BlackholeDeliverer)
        thread = self.serve(mta)
        client = RawClient(mta.port)
        self.addCleanup(client.close)
        self.assertEqual(220, client.read_reply()[0])
        started = _now()
        self.assertTrue(mta.shutdown_server(timeout_seconds=TIMEOUT))
        self.assertTrue(_now() - started < 0.5, _now() - started)
        self.assertEqual(421, client.read_reply()[0])
        self.assertEqual(b'', client.read_to_eof())
        thread.join(TIMEOUT)
        self.assertFalse(thread.is_alive())

    def test_the_server_can_serve_again_after_a_shutdown(self):
        mta = PythonMTA('127.0.0.1', 0, ListDeliverer())
        for _ in range(2):
            thread = self.serve(mta)
            self.send_message(mta.port)
            self.assertTrue(mta.shutdown_server(timeout_seconds=TIMEOUT))
            thread.join(TIMEOUT)
        self.assertEqual(2, len(mta.deliverer_class.messages))

    def test_shutdown_server_before_serve_forever_is_not_lost(self):
        mta = PythonMTA('127.0.0.1', 0, BlackholeDeliverer)
        mta.shutdown_server()
        started = _now()
        mta.serve_forever(use_multiprocessing=False)
        self.assertTrue(_now() - started < 0.5)
        self.assertFalse(mta.listening.is_set())

    def test_an_address_in_use_is_an_error_naming_it(self):
        blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(blocker.close)
        blocker.bind(('127.0.0.1', 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        mta = PythonMTA('127.0.0.1', port, BlackholeDeliverer)
        thread = ServingThread(mta)
        thread.start()
        try:
            mta.wait_until_listening(TIMEOUT)
        except socket.error as e:
            self.assertTrue('127.0.0.1:%d' % port in str(e), str(e))
            self.assertTrue(e is mta.bind_error)
        else:
            self.fail('no error for an address in use')
        thread.join(TIMEOUT)
        self.assertTrue(thread.error is mta.bind_error)

    def test_an_unknown_host_is_an_error_naming_it(self):
        mta = PythonMTA('no-such-host.invalid', 0, BlackholeDeliverer)
        try:
            mta.serve_forever(use_multiprocessing=False)
        except socket.error as e:
            self.assertTrue('no-such-host.invalid:0' in str(e), str(e))
        else:
            self.fail('no error for a host that does not exist')

    def test_a_port_out_of_range_is_an_error_naming_it(self):
        # (getaddrinfo would listen on the port modulo 65536)
        for port in (65536, 70000, -1):
            mta = PythonMTA('127.0.0.1', port, BlackholeDeliverer)
            try:
                mta.serve_forever(use_multiprocessing=False)
            except socket.error as e:
                self.assertTrue('127.0.0.1:%d' % port in str(e), str(e))
                self.assertTrue('0-65535' in str(e), str(e))
            else:
                self.fail('no error for port %d' % port)

    def test_a_policy_that_cannot_be_built_is_an_error(self):
        class BrokenPolicy(IMTAPolicy):
            def __init__(self):
                raise RuntimeError('broken on purpose')
        mta = PythonMTA('127.0.0.1', 0, BlackholeDeliverer, BrokenPolicy)
        thread = ServingThread(mta)
        thread.start()
        self.assertRaises(RuntimeError, mta.wait_until_listening, TIMEOUT)
        thread.join(TIMEOUT)
        self.assertTrue(isinstance(thread.error, RuntimeError))
        self.assertFalse(mta.listening.is_set())

    def test_the_listen_backlog_holds_dozens_of_simultaneous_connects(self):
        # While the one connection the serial path serves blocks, 128 more
        # connect: the kernel completes their handshakes only while they fit
        # into the listen backlog (a SYN beyond it is dropped and connect()
        # would hang). Then all of them are served.
        release = threading.Event()

        class BlockingPolicy(IMTAPolicy):
            def accept_new_connection(self, peer):
                release.wait(TIMEOUT)
                return True
        mta = PythonMTA('127.0.0.1', 0, BlackholeDeliverer, BlockingPolicy)
        self.serve(mta)
        clients = []
        try:
            for _ in range(1 + 128):
                client = RawClient(mta.port)
                self.addCleanup(client.close)
                clients.append(client)
        finally:
            release.set()
        for client in clients:      # served in the order they connected
            self.assertEqual(220, client.read_reply()[0])
            client.close()

    def test_wait_until_listening_times_out_when_nothing_serves(self):
        mta = PythonMTA('127.0.0.1', 0, BlackholeDeliverer)
        self.assertFalse(mta.wait_until_listening(0.01))

    def test_one_policy_instance_serves_every_connection_in_this_thread(self):
        mta = PythonMTA('127.0.0.1', 0, BlackholeDeliverer, RecordingPolicy)
        thread = self.serve(mta)
        for number in range(3):
            self.send_message(mta.port, 'from%d@example.com' % number)
        self.assertEqual(1, len(RecordingPolicy.instances))
        policy = RecordingPolicy.instances[0]
        self.assertEqual(3, policy.connections)
        self.assertEqual(set([thread.ident]), policy.threads)

    def test_instances_and_factories_are_accepted_as_class_arguments(self):
        deliverer = ListDeliverer()
        policy = RecordingPolicy()
        mta = PythonMTA('127.0.0.1', 0, deliverer, lambda: policy)
        self.serve(mta)
        self.send_message(mta.port)
        self.assertEqual(1, len(deliverer.messages))
        self.assertEqual(1, policy.connections)

    def test_listening_started_hook(self):
        calls = []

        class Server(PythonMTA):
            def listening_started(self):
                calls.append(self.port)
        mta = Server('127.0.0.1', 0, BlackholeDeliverer)
        self.serve(mta)
        self.assertEqual([mta.port], calls)

    def test_primary_hostname_is_looked_up_once_and_can_be_given(self):
        mta = PythonMTA('127.0.0.1', 0, BlackholeDeliverer,
                        primary_hostname='mx.example.com')
        self.serve(mta)
        client = RawClient(mta.port)
        self.addCleanup(client.close)
        self.assertEqual((220, ['mx.example.com Hello 127.0.0.1']),
                         client.read_reply())

    def test_a_client_that_sends_a_lot_without_reading_is_cut_off(self):
        mta = PythonMTA('127.0.0.1', 0, BlackholeDeliverer,
                        session_timeout=0.3)
        self.serve(mta)
        client = RawClient(mta.port)
        self.addCleanup(client.close)
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.send(b'HELO x\r\n' + b'HELP\r\n' * 10000)
        # the server cannot get its replies out and gives up on the client
        started = _now()
        self.send_message(mta.port)
        self.assertTrue(_now() - started < 0.3 + TIMEOUT / 2)

    def test_the_pid_of_the_serial_path_is_ours(self):
        pids = []

        class Policy(IMTAPolicy):
            def accept_new_connection(self, peer):
                pids.append(os.getpid())
                return True
        mta = PythonMTA('127.0.0.1', 0, BlackholeDeliverer, Policy)
        self.serve(mta)
        self.send_message(mta.port)
        self.assertEqual([os.getpid()], pids)



class FaultInTheCoreTest(unittest.TestCase):
    """A fault in pymta's core (a bug, made here on purpose: NOOP raises)
    while it handles pipelined input: the replies it wrote before the
    fault still go out, a delivered message's 250 among them (else the
    client would send it again), then a 421; the server goes on."""

    def setUp(self):
        make_noop_fail(self)

    def check(self, **options):
        deliverer = ListDeliverer()
        mta = PythonMTA('127.0.0.1', 0, lambda: deliverer, **options)
        thread = ServingThread(mta)
        thread.start()
        self.addCleanup(thread.join, TIMEOUT)
        self.addCleanup(mta.shutdown_server)
        self.assertTrue(mta.wait_until_listening(TIMEOUT))
        client = RawClient(mta.port)
        self.addCleanup(client.close)
        self.assertEqual(220, client.read_reply()[0])
        client.send(b'EHLO x\r\nMAIL FROM:<a@example.com>\r\n'
                    b'RCPT TO:<b@example.com>\r\nDATA\r\n')
        for code in (250, 250, 250, 354):
            self.assertEqual(code, client.read_reply()[0])
        client.send(b'hello\r\n.\r\nNOOP\r\n')
        self.assertEqual((250, ['OK']), client.read_reply())
        code, [text] = client.read_reply()
        self.assertEqual(421, code)
        self.assertTrue('closing' in text, text)
        self.assertEqual(b'', client.read_to_eof())
        self.assertEqual(['a@example.com'],
                         [m.smtp_from for m in deliverer.messages])
        other = RawClient(mta.port)
        self.addCleanup(other.close)
        self.assertEqual(220, other.read_reply()[0])

    def test_one_connection_at_a_time(self):
        with PymtaLog(logging.CRITICAL):
            self.check()

    def test_multiplexing(self):
        with PymtaLog(logging.CRITICAL):
            self.check(connections_per_worker=4)
