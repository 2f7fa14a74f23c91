#!/usr/bin/env python3
"""The core's cost per command, in CPU instructions (valgrind's callgrind):
this tree against another checkout, repeatable on a busy machine.

    python3 benchmarks/instructions.py OTHER_ROOT [--python PY]
                                       [--cases EHLO,MAIL,...] [--count 1000]

For each case (the greeting, EHLO, NOOP, MAIL, RCPT, DATA, a short message,
RSET, an unknown command, QUIT) a child process prepares ``--count``
connections up to that command, then, once garbage collection is off, feeds
the command to each and takes the replies' octets. (The case ``session``,
not among the default ones: ``--count`` whole connections, greeting to
QUIT with one message, each started and fed in turn.) It runs twice under
callgrind, with and without that last step; the difference divided by the
count is one command's cost. ``PYTHONHASHSEED=0``: string hashes (and so
dict and set work) are the same in every run. A checkout without
``pymta.connection`` is driven as its server drove it: an
``SMTPCommandParser`` writing into the worker's ``SocketChannel``.

Counts move by about 1 % between runs (memory layout); they do not move
with the machine's load. Needs ``valgrind`` (Debian package) and, for
``--python``, a Python with six and pycerberus (default: the 3.11 venv of
``setup.sh``).
"""

from __future__ import print_function

import argparse
import os
import re
import subprocess
import sys

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PYTHON = os.path.join(CHECKOUT, 'benchmarks', '.venv-py311', 'bin',
                              'python')

_EHLO = b'EHLO x\r\n'
_MAIL = b'MAIL FROM:<a@example.com>\r\n'
_RCPT = b'RCPT TO:<b@example.com>\r\n'
_DATA = b'DATA\r\n'
#: case -> (what comes before, the command measured; None: the greeting)
CASES = [
    ('greeting', ([], None)),
    ('EHLO', ([], b'EHLO client.example.com\r\n')),
    ('NOOP', ([_EHLO], b'NOOP\r\n')),
    ('MAIL', ([_EHLO], _MAIL)),
    ('RCPT', ([_EHLO, _MAIL], _RCPT)),
    ('DATA', ([_EHLO, _MAIL, _RCPT], _DATA)),
    ('message', ([_EHLO, _MAIL, _RCPT, _DATA],
                 b'Subject: x\r\n\r\nhello\r\n.\r\n')),
    ('RSET', ([_EHLO, _MAIL], b'RSET\r\n')),
    ('unknown', ([_EHLO], b'FNORD\r\n')),
    ('QUIT', ([_EHLO], b'QUIT\r\n')),
]
#: the case ``session``: a whole connection, greeting to QUIT, with one
#: message (what smtp-source's L1 load sends)
SESSION = [b'EHLO client.example.com\r\n', _MAIL, _RCPT, _DATA,
           b'Subject: x\r\n\r\nhello\r\n.\r\n', b'QUIT\r\n']


class _Sink(object):
    def new_message_accepted(self, message):
        pass


def _driver():
    """(start a connection, feed it octets) for the pymta on sys.path."""
    sink = _Sink()
    try:
        from pymta.connection import SMTPConnection
    except ImportError:
        from pymta.command_parser import SMTPCommandParser
        from pymta.worker import SocketChannel

        def new():
            channel = SocketChannel()
            parser = SMTPCommandParser(channel, '127.0.0.1', 1, sink,
                                       primary_hostname='localhost')
            channel.take_output()
            return parser, channel

        def feed(connection, data):
            parser, channel = connection
            parser.process_new_data(data)
            channel.take_output()
        return new, feed

    def new():
        connection = SMTPConnection(sink, hostname='localhost')
        connection.start('127.0.0.1', 1)
        connection.data_to_send()
        return connection

    def feed(connection, data):
        connection.receive_data(data)
        connection.data_to_send()
    return new, feed


def child(root, case, count, measure):
    """Runs under callgrind: prepare, then (if ``measure``) the command."""
    sys.path.insert(0, root)
    import gc
    new, feed = _driver()
    for _ in range(50):         # warm up: imports, tables, caches
        connection = new()
        for data in (_EHLO, _MAIL, _RCPT, _DATA, b'x\r\n.\r\n', b'NOOP\r\n',
                     b'RSET\r\n', b'FNORD\r\n', b'QUIT\r\n'):
            feed(connection, data)
    if case == 'session':
        gc.collect()
        gc.disable()
        if measure:
            for _ in range(count):
                connection = new()
                for data in SESSION:
                    feed(connection, data)
        return
    before, command = dict(CASES)[case]
    connections = []
    if command is not None:
        for _ in range(count):
            connection = new()
            for data in before:
                feed(connection, data)
            connections.append(connection)
    gc.collect()
    gc.disable()
    if not measure:
        return
    if command is None:
        for _ in range(count):
            new()
    else:
        for connection in connections:
            feed(connection, command)


def instructions(python, root, case, count, measure):
    env = dict(os.environ, PYTHONHASHSEED='0')
    output = subprocess.run(
        ['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null',
         python, os.path.abspath(__file__), '--child', root, case, str(count),
         '1' if measure else '0'],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        check=True).stdout.decode('utf-8', 'replace')
    match = re.search(r'Collected : (\d+)', output)
    if match is None:
        raise SystemExit('no count from callgrind:\n' + output)
    return int(match.group(1))


def per_command(python, root, case, count):
    return (instructions(python, root, case, count, True) -
            instructions(python, root, case, count, False)) / float(count)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ['--child']:
        root, case, count, measure = argv[1:5]
        child(root, case, int(count), measure == '1')
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('other', help='the other checkout (its root folder)')
    parser.add_argument('--python', default=DEFAULT_PYTHON)
    parser.add_argument('--cases', default=','.join(c for c, _ in CASES))
    parser.add_argument('--count', type=int, default=1000)
    args = parser.parse_args(argv)
    cases = [c for c in args.cases.split(',') if c]
    if set(cases) - set(dict(CASES)) - set(['session']):
        parser.error('cases: session, ' + ', '.join(c for c, _ in CASES))
    print('instructions per command, %s; this tree %s, other %s'
          % (args.python, CHECKOUT, args.other))
    print('%-9s %10s %10s %7s' % ('case', 'other', 'this', 'ratio'))
    for case in cases:
        other = per_command(args.python, args.other, case, args.count)
        this = per_command(args.python, CHECKOUT, case, args.count)
        print('%-9s %10.0f %10.0f %7.3f' % (case, other, this, this / other))
        sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
