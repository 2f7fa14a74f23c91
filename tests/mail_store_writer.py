# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Delivers messages with pymta's mail store deliverers in a process of its
own, for tests/test_mail_stores.py (not a test module).

usage: python mail_store_writer.py CONFIG_JSON

The config: ``stores`` (a list of ``[kind, path]``, kind ``maildir`` or
``mbox``: every message goes into each), ``writer`` (a number, in the
subjects), ``count`` (messages), ``body_size`` (octets of body, about),
``lock_timeout`` (of MboxDeliverer), ``file_size_limit`` (None, or the
RLIMIT_FSIZE to set: a write past it fails as on a full disk),
``drop_privileges`` (become the user ``nobody``: a root that cannot write
where the permissions say so), ``hold_lock`` (instead of delivering: lock
the mbox of the first store with ``mailbox.mbox.lock()``, say ``LOCKED``,
unlock when a line arrives).

Prints ``READY``, waits for a line on standard input (so that several
writers start at once), delivers, prints ``DONE``; a delivery that raises
ends it with ``ERROR <exception class> <errno>`` and exit status 1.
"""

import json
import mailbox
import os
import sys

from pymta.mail_stores import MaildirDeliverer, MboxDeliverer
from pymta.model import Message, Peer

NOBODY = 65534


def message(writer, number, body_size):
    """A message with a ``From `` line and 8-bit octets in its body."""
    line = b'From the writer: \xc3\xa4\xc3\xb6\xc3\xbc 8-bit line of text.\r\n'
    body = line * max(1, body_size // len(line))
    octets = (b'Subject: writer %d message %d\r\n'
              b'Message-ID: <w%d-m%d@writer.example>\r\n'
              b'\r\n' % (writer, number, writer, number)) + body
    return Message(Peer('127.0.0.1', 40000 + writer), 'writer.example',
                   'writer%d@example.com' % writer, ['inbox@example.com'],
                   msg_bytes=octets)


def main(argv):
    config = json.loads(argv[1])
    if config.get('file_size_limit') is not None:
        import resource
        limit = config['file_size_limit']
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    if config.get('drop_privileges'):
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    kinds = {'maildir': MaildirDeliverer, 'mbox': MboxDeliverer}
    deliverers = []
    for kind, path in config['stores']:
        options = {'hostname': 'mx.test'}
        if kind == 'mbox':
            options['lock_timeout'] = config.get('lock_timeout', 10.0)
        deliverers.append(kinds[kind](path, **options))
    say('READY')
    sys.stdin.readline()
    if config.get('hold_lock'):
        box = mailbox.mbox(config['stores'][0][1], create=False)
        box.lock()
        say('LOCKED')
        sys.stdin.readline()
        box.unlock()
        box.close()
        say('DONE')
        return 0
    for number in range(config['count']):
        msg = message(config['writer'], number, config.get('body_size', 2000))
        for deliverer in deliverers:
            try:
                deliverer.new_message_accepted(msg)
            except Exception as error:
                say('ERROR %s %s' % (error.__class__.__name__,
                                     getattr(error, 'errno', None)))
                return 1
    say('DONE')
    return 0


def say(line):
    sys.stdout.write(line + '\n')
    sys.stdout.flush()


if __name__ == '__main__':
    sys.exit(main(sys.argv))
