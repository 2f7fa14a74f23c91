#!/usr/bin/env python3
"""Does a change to the core leave every reply as it was? This tree's
``SMTPConnection`` against another checkout's, on the same seeded random
sessions.

    python3 benchmarks/same_replies.py OTHER_ROOT [--python PY]
                                       [--seed 1] [--count 20000]

Each session: a random set of extensions, an authenticator or none, a
message size limit or none; then up to 12 lines, most of them the usual
transaction (EHLO, MAIL FROM, RCPT TO twice, DATA and a message) with
addresses that are mostly valid and sometimes odd (8-bit, quotes, DEL,
underscores, empty labels, ESMTP parameters), the rest any verb with
random arguments; the octets split at random points. A child process per
tree (``--child``) prints, per session, the octets of all replies and what
the deliverer got; the two outputs must be identical. Prints the number of
sessions, replies and deliveries compared, or the first session that
differs, and exits 1 then.

The speed-ups of the core are measured with ``instructions.py``; this is
the check that they changed no reply. Works with Python 2.7 and 3.x as the
``--python`` of the children (default: the 3.11 venv of ``setup.sh``).
"""

from __future__ import print_function

import argparse
import os
import random
import subprocess
import sys

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PYTHON = os.path.join(CHECKOUT, 'benchmarks', '.venv-py311', 'bin',
                              'python')

_PIECES = ['a', 'b', '.', '-', '_', '@', ' ', '\t', '<', '>', '[', ']', '"',
           '\\', ':', '\x7f', '=', '+', '1', 'x.y', 'example.com', 'SIZE=',
           'BODY=8BITMIME', 'SMTPUTF8', 'NOTIFY=SUCCESS', 'ORCPT=rfc822;a@b',
           'RET=FULL', 'ENVID=x', 'LAST', '0', '10']
_VERBS = ['HELO', 'EHLO', 'ehlo', 'MAIL FROM:', 'mail from:', 'MAIL  FROM:',
          'RCPT TO:', 'rcpt to:', 'DATA', 'RSET', 'NOOP', 'QUIT', 'HELP',
          'VRFY', 'BDAT', 'AUTH PLAIN', 'AUTH LOGIN', 'STARTTLS', 'FNORD', '']
_TRANSACTION = ['EHLO', 'MAIL FROM:', 'RCPT TO:', 'RCPT TO:', 'DATA']
_EXTENSIONS = ['8BITMIME', 'SMTPUTF8', 'DSN', 'CHUNKING',
               'ENHANCEDSTATUSCODES', 'PIPELINING', 'SIZE']
_MESSAGE = b'Subject: x\r\n\r\n..dot\r\nbody\r\n.\r\n'


def _address(rng):
    odd = rng.random() < 0.3
    local = ''.join(rng.choice(
        ['a', 'b', '.', '+', '_', '-', '\xe9', '"', '\x7f'] if odd else
        ['a', 'b', 'c', '.', '+']) for _ in range(rng.randint(int(not odd), 4)))
    domain = '.'.join(
        ''.join(rng.choice(['a', 'b', '1', '-', '_', 'c'] if odd else
                           ['a', 'b', '1', '-'])
                for _ in range(rng.randint(int(not odd), 4)))
        for _ in range(rng.randint(1, 3)))
    return '<%s@%s>' % (local, domain) + rng.choice(
        ['', '', '', '', '', ' SIZE=10', ' BODY=8BITMIME', ' SMTPUTF8',
         ' NOTIFY=SUCCESS', ' x'])


def _argument(rng, verb):
    if verb in ('EHLO', 'HELO') and rng.random() < 0.7:
        return rng.choice(['x', 'client.example.com', '[1.2.3.4]', 'a_b', ''])
    if verb in ('MAIL FROM:', 'RCPT TO:') and rng.random() < 0.8:
        return _address(rng)
    return ''.join(rng.choice(_PIECES) for _ in range(rng.randint(0, 6)))


def _octets(text):
    if isinstance(text, bytes):
        return text     # (Python 2: the native string is the octets)
    return text.encode('utf-8', 'surrogateescape')


def child(root, seed, count):
    """Run the sessions with the core of ``root``; one line per session."""
    sys.path.insert(0, root)
    from pymta.connection import SMTPConnection

    class Deliverer(object):
        last = None

        def new_message_accepted(self, message):
            self.last = (message.smtp_from, list(message.smtp_to),
                         message.msg_bytes, sorted(message.mail_options.items()),
                         sorted(message.rcpt_options.items()))

    class Authenticator(object):
        def authenticate(self, username, password, peer):
            return username == 'user'

    rng = random.Random(seed)
    for number in range(count):
        deliverer = Deliverer()
        connection = SMTPConnection(
            deliverer, hostname='h',
            authenticator=Authenticator() if rng.random() < 0.5 else None,
            extensions=[e for e in _EXTENSIONS if rng.random() < 0.4],
            default_max_message_size=rng.choice([None, 50]))
        connection.start('127.0.0.1', 1)
        replies = [connection.data_to_send()]
        plan = _TRANSACTION if rng.random() < 0.7 else []
        data = b''
        for step in range(rng.randint(1, 12)):
            verb = plan[step] if step < len(plan) and rng.random() < 0.9 \
                else rng.choice(_VERBS)
            blank = '' if verb.endswith(':') or not verb else ' '
            data += _octets(verb + blank + _argument(rng, verb)) + \
                rng.choice([b'\r\n', b'\n'])
            if verb == 'DATA' and rng.random() < 0.7:
                data += _MESSAGE
        position = 0
        while position < len(data) and not connection.closing:
            size = rng.randint(1, 40)
            connection.receive_data(data[position:position + size])
            position += size
            replies.append(connection.data_to_send())
        print('%d %r %r' % (number, b''.join(replies), deliverer.last))


def run(python, root, seed, count):
    env = dict(os.environ, PYTHONHASHSEED='0')
    return subprocess.run(
        [python, os.path.abspath(__file__), '--child', root, str(seed),
         str(count)], env=env, stdout=subprocess.PIPE, check=True
    ).stdout.decode('utf-8', 'replace').splitlines()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ['--child']:
        child(argv[1], int(argv[2]), int(argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('other', help='the other checkout (its root folder)')
    parser.add_argument('--python', default=DEFAULT_PYTHON)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--count', type=int, default=20000)
    args = parser.parse_args(argv)
    other = run(args.python, os.path.abspath(args.other), args.seed,
                args.count)
    this = run(args.python, CHECKOUT, args.seed, args.count)
    for theirs, ours in zip(other, this):
        if theirs != ours:
            print('the replies differ:\n  other: %s\n  this:  %s'
                  % (theirs[:2000], ours[:2000]))
            return 1
    if len(other) != len(this) or len(this) != args.count:
        print('sessions: %d other, %d this' % (len(other), len(this)))
        return 1
    text = '\n'.join(this)
    print('%d sessions (seed %d, %s): every reply and delivery the same; '
          '%d replies 250/354, %d messages delivered'
          % (args.count, args.seed, args.python,
             text.count('250 ') + text.count('354 '),
             sum(1 for line in this if not line.endswith(' None'))))
    return 0


if __name__ == '__main__':
    sys.exit(main())
