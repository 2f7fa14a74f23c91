#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""How many complete SMTP transactions per second the sans-I/O core handles,
with bytes input and with text input.

One transaction, as the server's connection loop runs it: a new
``SMTPConnection`` (``start``: the greeting), then EHLO, MAIL FROM, RCPT TO,
DATA, a 1 KiB message and QUIT, one chunk per ``receive_data`` call as a
client without pipelining sends them, each followed by ``data_to_send()``
(the octets of the replies). No socket is involved. ``bytes`` feeds the
chunks as bytes (as a server does), ``text`` as text (``unicode`` on Python
2), which the connection also accepts. The two inputs alternate run by run.

A checkout from before ``pymta.connection`` existed is run as its server
ran it: an ``SMTPCommandParser`` writing into a channel that collects the
reply lines, taken as octets after each chunk. So ``compare.py`` compares
the same work across revisions.

The rate is per second of this process's CPU time, not of the wall clock,
so that time spent waiting for a CPU that other processes hold does not
count (on an idle machine the two are the same).

    python benchmarks/core.py [--runs 5] [--seconds 1.0] [--input bytes,text]
                              [--root DIR] [--json]

Prints each input's runs and median (``--json``: one JSON line instead).
Imports pymta from ``--root`` (default: the checkout this file is in).
Works on Python 2.7 and 3.x.
"""

from __future__ import print_function

import argparse
import json
import os
import sys
import time

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INPUTS = ('bytes', 'text')


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


class CollectingChannel(object):
    """What the server's channel did before ``SMTPConnection``: collect the
    reply lines, hand them out as octets."""

    def __init__(self, wire_bytes):
        self._lines = []
        self._wire_bytes = wire_bytes

    def write(self, text):
        self._lines.append(text)

    def close(self):
        pass

    def take_output(self):
        lines, self._lines = self._lines, []
        return b''.join([self._wire_bytes(line) for line in lines])


def make_deliverer():
    from pymta.api import IMessageDeliverer

    class NullDeliverer(IMessageDeliverer):
        count = 0

        def new_message_accepted(self, msg):
            NullDeliverer.count += 1
    return NullDeliverer()


# CPU time of this process: time.process_time (3.3+), time.clock on 2.7
cpu_time = getattr(time, 'process_time', None) or time.clock


def run_once(seconds, chunks, deliverer):
    """Transactions per CPU second, over about ``seconds``."""
    transaction = connection_transaction(chunks, deliverer)
    transactions = 0
    started = cpu_time()
    deadline = started + seconds
    while True:
        for _ in range(100):
            transaction()
        transactions += 100
        now = cpu_time()
        if now >= deadline:
            return transactions / (now - started)


def connection_transaction(chunks, deliverer):
    """One transaction, as a function."""
    try:
        from pymta.connection import SMTPConnection
    except ImportError:
        return parser_transaction(chunks, deliverer)

    def transaction():
        connection = SMTPConnection(deliverer, hostname='localhost')
        connection.start('127.0.0.1', 4567)
        connection.data_to_send()
        for chunk in chunks:
            connection.receive_data(chunk)
            connection.data_to_send()
    return transaction


def parser_transaction(chunks, deliverer):
    """One transaction of a checkout from before SMTPConnection."""
    from pymta.command_parser import SMTPCommandParser
    from pymta.compat import wire_bytes
    channel = CollectingChannel(wire_bytes)

    def transaction():
        parser = SMTPCommandParser(channel, '127.0.0.1', 4567, deliverer,
                                   primary_hostname='localhost')
        channel.take_output()
        for chunk in chunks:
            parser.process_new_data(chunk)
            channel.take_output()
    return transaction


def median(values):
    values = sorted(values)
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return (values[middle - 1] + values[middle]) / 2.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--runs', type=int, default=5,
                        help='runs of each input (default 5)')
    parser.add_argument('--seconds', type=float, default=1.0,
                        help='CPU seconds of one run (default 1.0)')
    parser.add_argument('--input', default='bytes,text',
                        help='bytes, text or both (default bytes,text)')
    parser.add_argument('--root', default=CHECKOUT,
                        help='import pymta from this checkout')
    parser.add_argument('--json', action='store_true',
                        help='print one JSON line with every run')
    args = parser.parse_args(argv)
    inputs = [i for i in args.input.split(',') if i]
    if not inputs or set(inputs) - set(INPUTS):
        parser.error('--input: bytes, text or bytes,text')
    sys.path.insert(0, os.path.abspath(args.root))
    import pymta

    chunks = {'bytes': build_client_chunks()}
    chunks['text'] = [c.decode('ascii') for c in chunks['bytes']]
    deliverer = make_deliverer()
    for kind in inputs:                                # warm up
        run_once(0.2, chunks[kind], deliverer)
    rates = dict((kind, []) for kind in inputs)
    for _ in range(args.runs):
        for kind in inputs:
            rates[kind].append(run_once(args.seconds, chunks[kind], deliverer))
    if type(deliverer).count == 0:
        raise SystemExit('no message was delivered: the benchmark is broken')
    python = sys.version.split()[0]
    if args.json:
        rates.update(python=python, pymta=os.path.dirname(pymta.__file__))
        print(json.dumps(rates))
        return 0
    print('python %s, pymta from %s'
          % (python, os.path.dirname(pymta.__file__)))
    for kind in inputs:
        print('%-5s input: median %6.0f transactions/s  (runs: %s)' % (
            kind, median(rates[kind]),
            ', '.join('%.0f' % r for r in sorted(rates[kind]))))
    return 0


if __name__ == '__main__':
    sys.exit(main())
