# -*- coding: utf-8 -*-
"""``with PythonMTA(...) as server:`` and ``with SMTPTestHelper() as
helper:`` (issue 14, item 7): a server for the block, stopped and cleaned
up on the way out, on whichever serving path the environment has."""
from __future__ import absolute_import

import smtplib
import socket
import threading
import unittest

from pymta.mta import PythonMTA
from pymta.test_util import BlackholeDeliverer, SMTPTestHelper
from .mta_support import TIMEOUT


class _Sink(object):
    def new_message_accepted(self, message):
        pass


def _refused(port):
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(TIMEOUT)
    try:
        return probe.connect_ex(('127.0.0.1', port)) != 0
    finally:
        probe.close()


class ContextManagerTest(unittest.TestCase):
    def test_a_server_for_the_block(self):
        threads_before = threading.active_count()
        with PythonMTA('127.0.0.1', 0, _Sink()) as server:
            self.assertTrue(server.listening.is_set())
            client = smtplib.SMTP('127.0.0.1', server.port, timeout=TIMEOUT)
            self.assertEqual(250, client.ehlo('client.example.com')[0])
            client.sendmail('a@example.com', ['b@example.com'], 'hi')
            client.quit()
            port = server.port
        self.assertFalse(server.listening.is_set())
        self.assertTrue(_refused(port))
        self.assertEqual(threads_before, threading.active_count())

    def test_a_bind_error_is_raised_by_the_with(self):
        with PythonMTA('127.0.0.1', 0, _Sink()) as first:
            def second_server():
                with PythonMTA('127.0.0.1', first.port, _Sink()):
                    pass
            self.assertRaises((IOError, OSError), second_server)

    def test_the_helper_for_the_block(self):
        with SMTPTestHelper() as helper:
            client = smtplib.SMTP(helper.hostname, helper.listen_port,
                                  timeout=TIMEOUT)
            client.sendmail('a@example.com', ['b@example.com'], 'hi')
            client.quit()
            message = helper.get_received_messages().get(timeout=TIMEOUT)
            self.assertEqual('a@example.com', message.smtp_from)
        self.assertEqual(None, helper.mta_thread)
        self.assertTrue(_refused(helper.listen_port))
        self.assertTrue(BlackholeDeliverer.received_messages.empty())


if __name__ == '__main__':
    unittest.main()
