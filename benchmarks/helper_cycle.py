"""The test-suite cycle: start a test SMTP server, send one message with
smtplib, stop the server; repeated, median time of one cycle.

    python benchmarks/helper_cycle.py [--cycles 100] [--which pymta,aiosmtpd]
                                      [--root DIR] [--json]

* ``pymta``: ``SMTPTestHelper().start_mta()`` (one probe connection, as the
  helper does), one message via ``smtplib.SMTP``, ``stop_mta()``.
* ``aiosmtpd``: ``aiosmtpd.controller.Controller`` on a free port (it has no
  port 0: a free port is picked by binding port 0 first, as a test suite
  would), ``start()``, one message, ``stop()``.

The kinds named run interleaved, cycle by cycle, after one warm-up cycle
each. Prints the median, 90th percentile and maximum of each in ms; with
``--json`` one JSON object instead: ``{"python": ..., "pymta": [seconds,
...], "aiosmtpd": [...]}`` (every sample, in order; ``run.py`` reads it).
Imports pymta from ``--root`` (default: the checkout this file is in).
Works on Python 2.7 (pymta only) and 3.x.
"""

from __future__ import print_function

import argparse
import json
import os
import smtplib
import socket
import sys
import time

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_now = getattr(time, 'perf_counter', time.time)
MESSAGE = ('From: sender@example.com\r\nTo: recipient@example.com\r\n'
           'Subject: cycle\r\n\r\nhello\r\n')


def send_one(host, port):
    client = smtplib.SMTP(host, port, timeout=10)
    try:
        client.sendmail('sender@example.com', ['recipient@example.com'],
                        MESSAGE)
    finally:
        client.quit()


def pymta_cycle():
    from pymta.test_util import SMTPTestHelper
    helper = SMTPTestHelper()
    host, port = helper.start_mta()
    try:
        send_one(host, port)
    finally:
        helper.stop_mta()
    assert helper.get_received_messages().qsize() == 1


def free_port():
    s = socket.socket()
    try:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
    finally:
        s.close()


# ``async def`` is a syntax error on Python 2.7, so the aiosmtpd cycle is
# compiled only on Python 3.
AIOSMTPD_CYCLE = '''
def aiosmtpd_cycle():
    from aiosmtpd.controller import Controller
    received = []

    class Handler(object):
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return '250 OK'

    controller = Controller(Handler(), hostname='127.0.0.1', port=free_port())
    controller.start()
    try:
        send_one('127.0.0.1', controller.port)
    finally:
        controller.stop()
    assert len(received) == 1
'''


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--cycles', type=int, default=100)
    parser.add_argument('--which', default=None,
                        help='pymta, aiosmtpd or both (default: both on '
                             'Python 3, pymta on Python 2)')
    parser.add_argument('--root', default=CHECKOUT,
                        help='import pymta from this checkout')
    parser.add_argument('--json', action='store_true',
                        help='print every sample as one JSON line')
    args = parser.parse_args()
    sys.path.insert(0, os.path.abspath(args.root))
    cycles = {'pymta': pymta_cycle}
    if sys.version_info[0] >= 3:
        namespace = dict(globals())
        exec(AIOSMTPD_CYCLE, namespace)
        cycles['aiosmtpd'] = namespace['aiosmtpd_cycle']
    which = args.which or ','.join(sorted(cycles, reverse=True))
    kinds = [k for k in which.split(',') if k]
    if set(kinds) - set(cycles):
        parser.error('--which: choose from %s' % ', '.join(sorted(cycles)))
    samples = dict((k, []) for k in kinds)
    for kind in kinds:          # warm up: imports, first thread start
        cycles[kind]()
    for _ in range(args.cycles):
        for kind in kinds:
            started = _now()
            cycles[kind]()
            samples[kind].append(_now() - started)
    python = sys.version.split()[0]
    if args.json:
        samples['python'] = python
        print(json.dumps(samples))
        return
    print('python %s, %d cycles each (ms: median / p90 / max)'
          % (python, args.cycles))
    for kind in kinds:
        ms = sorted(s * 1000 for s in samples[kind])
        print('%-9s %8.2f %8.2f %8.2f' % (kind, ms[len(ms) // 2],
                                          ms[int(len(ms) * 0.9)], ms[-1]))


if __name__ == '__main__':
    main()
