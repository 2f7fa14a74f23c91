# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""pymta.mta: PythonMTA's keyword arguments reach the worker of the serial
path and the ConnectionSettings every connection is served with."""

from __future__ import absolute_import

import threading
import unittest

from pymta.deliverer import BlackholeDeliverer
from pymta.mta import PythonMTA


class SerialSpinSettingTest(unittest.TestCase):
    """PythonMTA(serial_spin_seconds=...) reaches the serial path's worker
    (default 0.0002 s); the fork path's workers never spin."""

    def spin_seconds_of_the_worker(self, use_multiprocessing=False, **kwargs):
        from pymta import mta as mta_module
        seen = []
        original = mta_module.WorkerProcess

        class RecordingWorkerProcess(original):
            def accept_loop(self, *args, **kw):
                seen.append(self.spin_seconds)
                server.shutdown_server()
                return original.accept_loop(self, *args, **kw)
        mta_module.WorkerProcess = RecordingWorkerProcess
        self.addCleanup(setattr, mta_module, 'WorkerProcess', original)
        server = PythonMTA('127.0.0.1', 0, BlackholeDeliverer, **kwargs)
        thread = threading.Thread(target=server.serve_forever,
                                  args=(use_multiprocessing,))
        thread.start()
        thread.join(10)
        self.assertFalse(thread.is_alive())
        return seen

    def test_the_serial_path_spins_by_default(self):
        self.assertEqual([0.0002], self.spin_seconds_of_the_worker())

    def test_the_serial_path_can_be_told_not_to_spin(self):
        self.assertEqual([0], self.spin_seconds_of_the_worker(
            serial_spin_seconds=0))
        self.assertEqual([0.01], self.spin_seconds_of_the_worker(
            serial_spin_seconds=0.01))


class ConnectionSettingsTest(unittest.TestCase):
    """One ConnectionSettings per serve_forever(), built from the keyword
    arguments, handed to every worker."""

    def test_the_keyword_arguments_become_the_settings(self):
        server = PythonMTA('127.0.0.1', 0, BlackholeDeliverer,
                           primary_hostname='mx.example', session_timeout=7,
                           max_data_seconds=8, max_session_seconds=9,
                           max_errors=3, max_auth_failures=None,
                           default_max_message_size=77)
        settings = server._connection_settings()
        self.assertEqual(('mx.example', 7, 8, 9, 3, None, 77),
                         (settings.hostname, settings.command_timeout,
                          settings.max_data_seconds,
                          settings.max_session_seconds, settings.max_errors,
                          settings.max_auth_failures,
                          settings.default_max_message_size))
        worker = server._new_worker(None, settings)
        self.assertTrue(worker.settings is settings)

    def test_the_defaults(self):
        settings = PythonMTA('127.0.0.1', 0,
                             BlackholeDeliverer)._connection_settings()
        self.assertEqual((300.0, 600.0, 1800.0, 20, 5, 32 * 1024 * 1024,
                          64 * 1024),
                         (settings.command_timeout, settings.max_data_seconds,
                          settings.max_session_seconds, settings.max_errors,
                          settings.max_auth_failures,
                          settings.default_max_message_size,
                          settings.read_size))


if __name__ == '__main__':
    unittest.main()
