#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""A debugging SMTP server: accepts every message and prints it.

usage: python examples/debugging_server.py [--help] [host] [port]

Listens on host:port (default: localhost 8025; port 0 picks a free port) and
prints each message it receives, with its envelope (peer, HELO, sender,
recipients), between delimiter lines on standard output. Ctrl-C, SIGINT or
SIGTERM stop it (exit status 0).

Send it a message, e.g. with Python:

    python -c "import smtplib; smtplib.SMTP('localhost', 8025).sendmail(
        'me@example.com', ['you@example.com'], 'Subject: hi\\n\\nHello')"

or with swaks:

    swaks --server localhost:8025 --to you@example.com
"""

from __future__ import print_function

import os
import signal
import sys

try:
    import pymta  # noqa: F401
except ImportError:
    # run from a checkout that is not installed: use the pymta next to us
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))))
    import pymta  # noqa: F401

from pymta.api import IMessageDeliverer
from pymta.mta import PythonMTA


USAGE = __doc__.split('\n\n')[1]

BEGIN = '---------- MESSAGE FOLLOWS ----------'
BODY = '-------------- BODY -----------------'
END = '------------ END MESSAGE ------------'


def _octets(text):
    """The octets of ``text`` as they came off the wire (Python 3 str: UTF-8
    with surrogateescape; Python 2 str: as is)."""
    if isinstance(text, bytes):
        return text
    try:
        return text.encode('utf-8', 'surrogateescape')
    except LookupError:     # Python 2 has no surrogateescape
        return text.encode('utf-8')


def _write(octets):
    """Write ``octets`` to standard output with as few writes as possible,
    so messages from several worker processes do not interleave."""
    while octets:
        written = os.write(sys.stdout.fileno(), octets)
        octets = octets[written:]


class PrintingDeliverer(IMessageDeliverer):
    """Prints every accepted message with its envelope."""

    def new_message_accepted(self, msg):
        envelope = [
            BEGIN,
            'Peer:       %s:%s' % (msg.peer.remote_ip, msg.peer.remote_port),
            'HELO:       %s' % (msg.smtp_helo,),
            'Sender:     <%s>' % (msg.smtp_from,),
            'Recipients: %s' % ', '.join(['<%s>' % (to,)
                                          for to in msg.smtp_to]),
        ]
        if msg.username is not None:
            envelope.append('Username:   %s' % (msg.username,))
        envelope.append(BODY)
        text = b''.join([_octets(line) + b'\n' for line in envelope])
        text += _octets(msg.msg_data or '') + b'\n' + _octets(END) + b'\n'
        sys.stdout.flush()
        _write(text)


class DebuggingServer(PythonMTA):
    """A PythonMTA that says where it listens once it does."""

    def listening_started(self):
        print('pymta debugging server listening on %s:%s (Ctrl-C to stop)'
              % (self.local_address, self.port))
        sys.stdout.flush()


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
    try:
        port = int(arguments[1]) if len(arguments) > 1 else 8025
    except ValueError:
        print('port must be a number: %r' % (arguments[1],), file=sys.stderr)
        return 2

    server = DebuggingServer(host, port, PrintingDeliverer)

    def stop(signum, frame):
        server.shutdown_server()
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    except (IOError, OSError) as e:
        print('error: %s' % (e,), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
