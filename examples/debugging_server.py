#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""A debugging SMTP server: accepts every message and prints it.

usage: python examples/debugging_server.py [--help] [host] [port]

Listens on host:port (default: localhost 8025; port 0 picks a free port) and
prints each message it receives, with its envelope (peer, HELO, sender,
recipients), between delimiter lines on standard output. Ctrl-C, SIGINT or
SIGTERM stop it (exit status 0). It is ``python -m pymta --host HOST --port
PORT``, which has more options (``python -m pymta --help``).

Send it a message, e.g. with Python:

    python -c "import smtplib; smtplib.SMTP('localhost', 8025).sendmail(
        'me@example.com', ['you@example.com'], 'Subject: hi\\n\\nHello')"

or with swaks:

    swaks --server localhost:8025 --to you@example.com
"""

from __future__ import print_function

import os
import sys

try:
    import pymta  # noqa: F401
except ImportError:
    # run from a checkout that is not installed: use the pymta next to us
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))))
    import pymta  # noqa: F401

from pymta.cli import main as run_server


USAGE = __doc__.split('\n\n')[1]


def main(argv):
    arguments = argv[1:]
    if set(arguments) & set(['-h', '--help']):
        print(USAGE)
        print(__doc__.split('\n\n', 2)[2].rstrip())
        return 0
    if len(arguments) > 2 or [a for a in arguments if a.startswith('-')]:
        print(USAGE, file=sys.stderr)
        return 2
    host = arguments[0] if len(arguments) > 0 else 'localhost'
    port = arguments[1] if len(arguments) > 1 else '8025'
    if not port.isdigit():
        print('port must be a number: %r' % (port,), file=sys.stderr)
        return 2
    # (python -m pymta does the rest, and more: see python -m pymta --help)
    return run_server(['--host', host, '--port', port])


if __name__ == '__main__':
    sys.exit(main(sys.argv))
