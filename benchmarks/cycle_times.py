# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""How long a test suite waits for pymta's threaded helpers (not a test).

usage: python benchmarks/cycle_times.py [cycles]      (default 100)

Measures, over ``cycles`` repetitions each, and prints the median, the 90th
percentile and the maximum in milliseconds of:

helper cycle      SMTPTestHelper().start_mta() (incl. its probe connection),
                  one message sent with smtplib, stop_mta()
serve/shutdown    PythonMTA.serve_forever(use_multiprocessing=False) in a
                  thread until it listens, shutdown_server(), join
fork serve/shut   the same with the fork path (worker processes), where
                  multiprocessing is available (forks from a process with
                  threads: expect a DeprecationWarning on Python 3.12+)

Run it with the interpreter to measure and pymta importable, e.g.
``PYTHONPATH=. python2.7 benchmarks/cycle_times.py``.
"""

from __future__ import print_function

import os
import smtplib
import sys
import threading
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from pymta.deliverer import BlackholeDeliverer  # noqa: E402
from pymta.mta import PythonMTA  # noqa: E402
from pymta.test_util import SMTPTestHelper  # noqa: E402

_now = getattr(time, 'perf_counter', time.time)


def helper_cycle():
    helper = SMTPTestHelper()
    hostname, port = helper.start_mta()
    connection = smtplib.SMTP(hostname, port, timeout=10)
    connection.sendmail('from@example.com', ['to@example.com'],
                        'Subject: cycle\n\nHello')
    connection.quit()
    helper.stop_mta()
    assert helper.get_received_messages().qsize() == 1


def serve_shutdown_cycle(use_multiprocessing):
    mta = PythonMTA('127.0.0.1', 0, BlackholeDeliverer)
    thread = threading.Thread(target=mta.serve_forever,
                              args=(use_multiprocessing,))
    thread.start()
    mta.wait_until_listening(10)
    mta.shutdown_server()
    thread.join(10)
    assert not thread.is_alive()


def measure(function, cycles, *args):
    function(*args)     # warm up (imports, first getfqdn)
    durations = []
    for _ in range(cycles):
        started = _now()
        function(*args)
        durations.append((_now() - started) * 1000.0)
    durations.sort()
    return (durations[len(durations) // 2],
            durations[int(len(durations) * 0.9)], durations[-1])


def main(argv):
    cycles = int(argv[1]) if len(argv) > 1 else 100
    print('Python %s, %d cycles each (ms: median / p90 / max)' % (
        sys.version.split()[0], cycles))
    rows = [('helper cycle', helper_cycle, ()),
            ('serve/shutdown', serve_shutdown_cycle, (False,))]
    try:
        import multiprocessing  # noqa: F401
        rows.append(('fork serve/shut', serve_shutdown_cycle, (True,)))
    except ImportError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        for name, function, args in rows:
            median, p90, worst = measure(function, cycles, *args)
            print('%-16s %8.2f %8.2f %8.2f' % (name, median, p90, worst))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
