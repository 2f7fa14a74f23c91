#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""How many complete SMTP transactions per second the sans-I/O core handles.

One transaction: a new connection (greeting), EHLO, MAIL FROM, RCPT TO, DATA,
a 1 KiB message, QUIT, through ``SMTPCommandParser`` and a channel that
discards what is written, one command per chunk as a client without
pipelining sends them. No socket is involved.

    python benchmarks/core.py [--runs 5] [--seconds 1.0]

prints each run's rate and the median. Run it from a checkout (it puts the
checkout first on sys.path) or with pymta installed.
"""

from __future__ import print_function

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir))

from pymta.api import IMessageDeliverer  # noqa: E402
from pymta.command_parser import SMTPCommandParser  # noqa: E402


class NullChannel(object):
    def write(self, text):
        pass

    def close(self):
        pass


class NullDeliverer(IMessageDeliverer):
    def __init__(self):
        self.count = 0

    def new_message_accepted(self, msg):
        self.count += 1


def build_client_chunks(message_size=1024):
    line = b'x' * 78 + b'\r\n'
    body = (b'Subject: benchmark\r\n\r\n' + line * (message_size // len(line)))
    body = body[:message_size - 2] + b'\r\n'
    return [
        b'EHLO client.example.com\r\n',
        b'MAIL FROM:<sender@example.com>\r\n',
        b'RCPT TO:<recipient@example.com>\r\n',
        b'DATA\r\n',
        body + b'.\r\n',
        b'QUIT\r\n',
    ]


def run_once(seconds, chunks, deliverer, channel):
    transactions = 0
    started = time.time()
    deadline = started + seconds
    while True:
        for _ in range(100):
            parser = SMTPCommandParser(channel, '127.0.0.1', 4567, deliverer,
                                       primary_hostname='localhost')
            for chunk in chunks:
                parser.process_new_data(chunk)
        transactions += 100
        now = time.time()
        if now >= deadline:
            return transactions / (now - started)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--seconds', type=float, default=1.0,
                        help='length of one run')
    args = parser.parse_args(argv)
    chunks = build_client_chunks()
    deliverer, channel = NullDeliverer(), NullChannel()
    run_once(0.2, chunks, deliverer, channel)     # warm up
    rates = sorted(run_once(args.seconds, chunks, deliverer, channel)
                   for _ in range(args.runs))
    if deliverer.count == 0:
        raise SystemExit('no message was delivered: the benchmark is broken')
    print('python %s' % sys.version.split()[0])
    print('runs (transactions/s): %s' % ', '.join('%.0f' % r for r in rates))
    print('median: %.0f transactions/s' % rates[len(rates) // 2])


if __name__ == '__main__':
    main()
