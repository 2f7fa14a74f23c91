#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Peak memory of receiving one large message in the sans-I/O core.

An ``SMTPConnection`` (no socket) gets EHLO, MAIL FROM, RCPT TO, DATA and a
message of ``--megabytes`` MB (lines of 78 octets, some starting with a dot)
in chunks of 64 KiB, as the server reads them; a deliverer keeps the
message. ``tracemalloc`` measures the peak of the memory Python allocated
from the first octet of the message to the 250 (each chunk is made then,
as ``recv`` makes it; the whole input, made before, is not counted).
``--bdat`` sends the message as one BDAT LAST instead; ``--policy`` adds a
policy whose ``accept_msgdata`` reads the text (so ``msg_data`` is made
from ``msg_bytes`` while the message arrives).
The result: the peak in MB and as a multiple of the message size, and what
is still allocated afterwards (the delivered message, mostly).

    python3 benchmarks/message_memory.py [--megabytes 20] [--bdat]
                                         [--policy] [--root DIR] [--json]

Imports pymta from ``--root`` (default: the checkout this file is in), so
an earlier revision can be measured the same way (``git worktree add`` or
``git archive``). Python 3 only (tracemalloc).
"""

from __future__ import print_function

import argparse
import json
import os
import sys
import tracemalloc

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHUNK = 64 * 1024


def message_octets(megabytes):
    """About ``megabytes`` MB of CRLF lines, every tenth starting with a
    dot (stuffed, as a client sends it after DATA)."""
    line = b'x' * 76 + b'\r\n'
    stuffed = b'..' + b'x' * 74 + b'\r\n'
    block = line * 9 + stuffed
    count = megabytes * 1000 * 1000 // len(block)
    return b'Subject: memory\r\n\r\n' + block * count


def measure(megabytes, bdat, with_policy):
    from pymta.api import IMessageDeliverer, IMTAPolicy
    from pymta.connection import SMTPConnection

    class KeepingDeliverer(IMessageDeliverer):
        message = None

        def new_message_accepted(self, msg):
            self.message = msg

    class ReadingPolicy(IMTAPolicy):
        def accept_msgdata(self, msgdata, message):
            return len(msgdata) > 0

    deliverer = KeepingDeliverer()
    extensions = ('CHUNKING',) if bdat else ()
    connection = SMTPConnection(
        deliverer, policy=ReadingPolicy() if with_policy else None,
        extensions=extensions)
    connection.start('127.0.0.1', 4567)
    for line in (b'EHLO client.example.com\r\n',
                 b'MAIL FROM:<a@example.com>\r\n',
                 b'RCPT TO:<b@example.com>\r\n'):
        connection.receive_data(line)
    octets = message_octets(megabytes)
    if bdat:
        # (BDAT has no dot-stuffing: the same octets, unstuffed)
        octets = octets.replace(b'\n..', b'\n.')
        stream = b'BDAT %d LAST\r\n' % len(octets) + octets
    else:
        connection.receive_data(b'DATA\r\n')
        stream = octets + b'.\r\n'
    size = len(octets)
    del octets
    connection.data_to_send()

    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    for start in range(0, len(stream), CHUNK):
        # each chunk made while tracing, as recv() makes it
        connection.receive_data(stream[start:start + CHUNK])
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    reply = connection.data_to_send()
    assert reply.startswith(b'250'), reply
    assert deliverer.message is not None
    return {'message_octets': size, 'peak': peak - baseline,
            'retained': current - baseline}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--megabytes', type=int, default=20)
    parser.add_argument('--bdat', action='store_true')
    parser.add_argument('--policy', action='store_true')
    parser.add_argument('--root', default=CHECKOUT)
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.abspath(args.root))
    result = measure(args.megabytes, args.bdat, args.policy)
    if args.json:
        print(json.dumps(result))
        return 0
    size = float(result['message_octets'])
    print('%s%s, %.1f MB message: peak %.1f MB (%.2f x), retained %.1f MB '
          '(%.2f x)' % ('BDAT' if args.bdat else 'DATA',
                        ', policy reads the text' if args.policy else '',
                        size / 1e6,
                        result['peak'] / 1e6, result['peak'] / size,
                        result['retained'] / 1e6, result['retained'] / size))
    return 0


if __name__ == '__main__':
    sys.exit(main())
