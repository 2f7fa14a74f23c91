# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Runs one PythonMTA for the end-to-end tests (see mta_support.ServerProcess).

usage: python mta_server_process.py CONFIG_JSON

Prints ``LISTENING <port>`` once the server listens, ``STOPPED`` when
serve_forever() returned. SIGUSR2 has a handler that does nothing. With ``cycles`` > 1 in the config serve_forever()
runs that many times; between the runs it prints ``CYCLE <open file
descriptors> <threads> <child processes>``. SIGUSR1 calls
shutdown_server(<the config's shutdown_timeout>); SIGINT is left to
PythonMTA (the way a process manager or Ctrl-C stops it). Log output goes to
standard error.
"""

import json
import logging
import os
import signal
import sys
import threading
import warnings

if os.environ.get('PYMTA_TEST_SERIAL'):
    # like tests/__init__.py: no multiprocessing in the serial environments
    sys.modules['multiprocessing'] = None

import mta_support  # noqa: E402 (from this directory)
from pymta.mta import PythonMTA  # noqa: E402


class Server(PythonMTA):

    def listening_started(self):
        sys.stdout.write('LISTENING %d\n' % self.port)
        sys.stdout.flush()


def main(argv):
    config = json.loads(argv[1])
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format='%(process)d %(levelname)s %(message)s')
    # a shell without job control starts background jobs with SIGINT ignored;
    # the tests send SIGINT and expect Python's usual handling
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if config['start_method']:
        # the default start method must not matter: pymta asks for 'fork'
        import multiprocessing
        multiprocessing.set_start_method(config['start_method'], force=True)

    make_deliverer = mta_support.DELIVERERS[config['deliverer']]
    if config['deliverer_instance']:
        deliverer = make_deliverer(config)
    else:
        def deliverer():
            return make_deliverer(config)
    options = dict((str(key), value)
                   for key, value in config['options'].items())
    server = Server('127.0.0.1', 0, deliverer,
                    mta_support.POLICIES[config['policy']],
                    mta_support.AUTHENTICATORS[config['authenticator']],
                    **options)
    signal.signal(signal.SIGUSR1, lambda signum, frame: server.shutdown_server(
        config.get('shutdown_timeout')))
    # a handler that does not stop the server (as an application's SIGHUP)
    signal.signal(signal.SIGUSR2, lambda signum, frame: None)
    if config['signals_in_other_thread']:
        # (forking with a thread around: fine here, the thread only waits)
        warnings.filterwarnings('ignore', '.*multi-threaded.*',
                                DeprecationWarning)
        helper = threading.Thread(target=threading.Event().wait)
        helper.daemon = True
        helper.start()
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    for cycle in range(config['cycles']):
        if cycle:
            sys.stdout.write('CYCLE %d %d %d\n' % (
                len(os.listdir('/proc/self/fd')), threading.active_count(),
                len(mta_support.child_pids(os.getpid()))))
            sys.stdout.flush()
        server.serve_forever(
            use_multiprocessing=config['use_multiprocessing'])
    sys.stdout.write('STOPPED\n')
    sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
