"""The test-suite cycle: start a test SMTP server, send one message with
smtplib, stop the server; repeated, median time of one cycle.

    python helper_cycle.py [--cycles 100] [--which pymta,aiosmtpd]

* ``pymta``: ``SMTPTestHelper().start_mta()`` (one probe connection, as the
  helper does), one message via ``smtplib.SMTP``, ``stop_mta()``.
* ``aiosmtpd``: ``aiosmtpd.controller.Controller`` on a free port (it has no
  port 0: a free port is picked by binding port 0 first, as a test suite
  would), ``start()``, one message, ``stop()``.

The kinds named run interleaved, cycle by cycle. Prints one JSON object:
``{"python": ..., "pymta": [seconds, ...], "aiosmtpd": [...]}`` (every
sample, in order). Works on Python 2.7 (pymta only) and 3.x.
"""

from __future__ import print_function

import argparse
import json
import os
import smtplib
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir))

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
    parser.add_argument('--which', default='pymta,aiosmtpd')
    args = parser.parse_args()
    kinds = [k for k in args.which.split(',') if k]
    cycles = {'pymta': pymta_cycle}
    if sys.version_info[0] >= 3:
        namespace = dict(globals())
        exec(AIOSMTPD_CYCLE, namespace)
        cycles['aiosmtpd'] = namespace['aiosmtpd_cycle']
    samples = dict((k, []) for k in kinds)
    for kind in kinds:          # warm up: imports, first thread start
        cycles[kind]()
    for _ in range(args.cycles):
        for kind in kinds:
            started = time.time()
            cycles[kind]()
            samples[kind].append(time.time() - started)
    samples['python'] = sys.version.split()[0]
    print(json.dumps(samples))


if __name__ == '__main__':
    main()
