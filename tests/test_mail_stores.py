# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Issue 15 (item 2): MaildirDeliverer and MboxDeliverer store every
message for real, read back here with the standard library's ``mailbox``
and ``email``: the headers a final delivery adds, the body octets, 8-bit
content, mbox From-quoting, an empty message; several processes (and
threads) delivering at once; a store that cannot write raises (so the
client gets a 451) and leaves nothing half written; and all of it through
real servers, on the serial and the fork path."""

from __future__ import absolute_import

import email.utils
import hashlib
import json
import mailbox
import os
import re
import shutil
import smtplib
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from pymta.authenticators import AcceptAnyAuthenticator
from pymta.compat import PY2, email_from_octets, mailbox_octets
from pymta.mail_stores import MaildirDeliverer, MboxDeliverer, \
    delivery_headers, from_line, make_maildir, stored_octets
from pymta.model import Message, Peer
from pymta.testing import SMTPTestServer

from .core_support import PymtaLog
from .mta_support import HERE, MAIL_STORE_HOSTNAME, TIMEOUT, OnForkPath, \
    OutputReader, ServerProcess, smtp_client, subprocess_environment


WRITER_SCRIPT = os.path.join(HERE, 'mail_store_writer.py')
#: a fixed moment (2030-01-02 03:04:05 UTC) for the exact headers
TIMESTAMP = 1893553445.0

BODY = (b'Subject: hello\r\n'
        b'Content-Type: text/plain; charset=utf-8\r\n'
        b'Content-Transfer-Encoding: 8bit\r\n'
        b'\r\n'
        b'Gr\xc3\xbc\xc3\x9fe, 8-bit text\r\n'
        b'From the body: a line that an mbox quotes\r\n'
        b'>From an already quoted line\r\n'
        b'.a line that started with a dot\r\n'
        b'\r\n'
        b'last line\r\n')


def new_message(msg_bytes=BODY, sender='alice@example.com',
                recipients=('bob@example.com',), helo='client.example',
                ip='192.0.2.7', **attributes):
    msg = Message(Peer(ip, 41000), helo, sender, list(recipients),
                  msg_bytes=msg_bytes)
    for name, value in attributes.items():
        setattr(msg, name, value)
    return msg


def lf(octets):
    return octets.replace(b'\r\n', b'\n')


def header_text(msg, name):
    """The header ``name`` of a parsed message as one line of text."""
    value = msg[name]
    return ' '.join(str(value).split())


def parsed(octets):
    return email_from_octets(octets)


def read_maildir(path):
    """``[octets]`` of the Maildir's messages, oldest first."""
    box = mailbox.Maildir(path, factory=None, create=False)
    keys = sorted(box.keys(), key=maildir_order)
    return [mailbox_octets(box, key) for key in keys]


def maildir_order(key):
    """The numbers in a name that ``mailbox.Maildir`` made: seconds,
    microseconds, process id, counter (not zero-padded: the names alone
    do not sort)."""
    return tuple(int(number) for number in
                 re.match(r'(\d+)\.M(\d+)P(\d+)Q(\d+)\.', key).groups())


def read_mbox(path):
    """``[(from line without 'From ', octets)]`` of the mbox's messages."""
    box = mailbox.mbox(path, create=False)
    try:
        return [(box[key].get_from(), mailbox_octets(box, key))
                for key in box.keys()]
    finally:
        box.close()


def digest(path):
    with open(path, 'rb') as stored:
        return hashlib.sha1(stored.read()).hexdigest()


class TemporaryDirectory(object):
    """Mixed into a test case: ``self.directory``, removed afterwards."""

    def setUp(self):
        super(TemporaryDirectory, self).setUp()
        self.directory = tempfile.mkdtemp(prefix='pymta-test-stores-')
        self.addCleanup(self._remove_directory)

    def _remove_directory(self):
        # (a test may have left parts read-only)
        for folder, subfolders, _ in os.walk(self.directory):
            os.chmod(folder, 0o700)
            for name in subfolders:
                os.chmod(os.path.join(folder, name), 0o700)
        shutil.rmtree(self.directory)

    def path(self, *names):
        return os.path.join(self.directory, *names)


# --- what is stored -----------------------------------------------------------
class StoredFormTest(unittest.TestCase):
    def test_return_path_received_then_the_octets_with_lf(self):
        date = email.utils.formatdate(TIMESTAMP, localtime=True)
        self.assertEqual(
            b'Return-Path: <alice@example.com>\n'
            b'Received: from client.example ([192.0.2.7])\n'
            b'\tby mx.example.com (pymta) with ESMTP\n'
            b'\tfor <bob@example.com>; ' + date.encode('ascii') + b'\n' +
            lf(BODY),
            stored_octets(new_message(), 'mx.example.com', TIMESTAMP))

    def test_the_received_date_is_the_time_of_delivery(self):
        before = time.time()
        headers = parsed(stored_octets(new_message(), 'mx'))
        received = header_text(headers, 'Received')
        stamp = email.utils.mktime_tz(email.utils.parsedate_tz(
            received.rsplit(';', 1)[1].strip()))
        self.assertTrue(int(before) <= stamp <= time.time() + 1, received)

    def test_several_recipients_no_for_clause(self):
        headers = delivery_headers(
            new_message(recipients=['a@example.com', 'b@example.com']),
            'mx.example.com', TIMESTAMP)
        self.assertFalse(b'for <' in headers, headers)
        self.assertTrue(b'\tby mx.example.com (pymta) with ESMTP; ' in
                        headers, headers)

    def test_the_null_sender(self):
        msg = new_message(sender='')
        self.assertTrue(delivery_headers(msg, 'mx', TIMESTAMP).startswith(
            b'Return-Path: <>\n'))
        self.assertEqual(b'From MAILER-DAEMON Wed Jan  2 03:04:05 2030',
                         from_line(msg, TIMESTAMP))

    def test_the_from_line(self):
        self.assertEqual(b'From alice@example.com Wed Jan  2 03:04:05 2030',
                         from_line(new_message(), TIMESTAMP))

    def test_a_from_line_is_printable_ascii(self):
        # (an SMTPUTF8 sender, a quoted local part with a space)
        sender = b'j\xc3\xb6rg@example.com'.decode('utf-8')
        if PY2:
            sender = sender.encode('utf-8')
        line = from_line(new_message(sender=sender), TIMESTAMP)
        self.assertTrue(line.startswith(b'From j'), line)
        self.assertTrue(line.endswith(b'rg@example.com Wed Jan  2 03:04:05 '
                                      b'2030'), line)
        self.assertEqual(b'', line.translate(None, bytes(bytearray(
            range(0x20, 0x7f)))))
        self.assertTrue(from_line(new_message(sender='"a b"@example.com'),
                                  TIMESTAMP).startswith(
            b'From "a_b"@example.com '))

    def test_protocol_tls_and_auth(self):
        tls = {'version': 'TLSv1.3', 'cipher': 'TLS_AES_256_GCM_SHA384'}
        cases = [({}, b'with ESMTP\n'),
                 ({'tls': tls}, b'with ESMTPS\n\t(using TLSv1.3 with cipher '
                                b'TLS_AES_256_GCM_SHA384)\n'),
                 ({'username': 'alice'}, b'with ESMTPA\n'),
                 ({'tls': tls, 'username': 'alice'}, b'with ESMTPSA\n')]
        for attributes, expected in cases:
            headers = delivery_headers(new_message(**attributes), 'mx',
                                       TIMESTAMP)
            self.assertTrue(expected in headers, (attributes, headers))

    def test_an_ipv6_peer(self):
        headers = delivery_headers(new_message(ip='2001:db8::7'), 'mx',
                                   TIMESTAMP)
        self.assertTrue(b'from client.example ([IPv6:2001:db8::7])\n' in
                        headers, headers)

    def test_no_helo_and_no_peer(self):
        msg = new_message(helo=None)
        msg.peer = None
        self.assertTrue(b'Received: from unknown\n' in
                        delivery_headers(msg, 'mx', TIMESTAMP))

    def test_nothing_a_client_sent_starts_a_header_line(self):
        headers = delivery_headers(
            new_message(helo='evil\r\nX-Injected: 1', sender='a\nb@x'),
            'mx', TIMESTAMP)
        self.assertFalse(b'\nX-Injected' in headers, headers)
        self.assertTrue(headers.startswith(b'Return-Path: <a b@x>\n'))

    def test_line_ends(self):
        cases = [
            # CRLF -> LF; a bare LF stays; a bare CR stays
            (b'A: 1\r\nB: 2\n\r\nbody\rstill\r\n', b'A: 1\nB: 2\n\nbody\r'
                                                   b'still\n'),
            # a last line without its line end gets one
            (b'Subject: x\r\n\r\nno end', b'Subject: x\n\nno end\n'),
            # the empty message: the two headers alone
            (b'', b''),
        ]
        for octets, expected in cases:
            stored = stored_octets(new_message(msg_bytes=octets), 'mx',
                                   TIMESTAMP)
            headers = delivery_headers(new_message(), 'mx', TIMESTAMP)
            self.assertEqual(headers + expected, stored)

    def test_a_message_without_octets_is_stored_empty(self):
        msg = Message(Peer('192.0.2.7', 1), 'c', 'a@x', ['b@x'])
        self.assertEqual(delivery_headers(msg, 'mx', TIMESTAMP),
                         stored_octets(msg, 'mx', TIMESTAMP))


# --- reading back what was stored ---------------------------------------------
class ReadBackTests(TemporaryDirectory):
    """The same tests for both stores; a subclass sets ``kind`` and
    ``read`` (``[(from line or None, octets)]``)."""

    def deliverer(self, **options):
        options.setdefault('hostname', 'mx.example.com')
        return self.deliverer_class(self.store, **options)

    def setUp(self):
        super(ReadBackTests, self).setUp()
        self.store = self.path('store')

    def deliver(self, *messages, **options):
        deliverer = self.deliverer(**options)
        for msg in messages:
            deliverer.new_message_accepted(msg)
        return self.read()

    def test_headers_body_and_8bit_content(self):
        [(_, octets)] = self.deliver(new_message())
        msg = parsed(octets)
        self.assertEqual('<alice@example.com>', msg['Return-Path'])
        received = header_text(msg, 'Received')
        self.assertTrue(received.startswith(
            'from client.example ([192.0.2.7]) by mx.example.com (pymta) '
            'with ESMTP for <bob@example.com>; '), received)
        self.assertEqual('hello', msg['Subject'])
        text = msg.get_payload(decode=True).decode('utf-8')
        self.assertTrue(text.startswith(u'Gr\xfc\xdfe, 8-bit text\n'), text)
        # the octets: the two headers, then the message as received (LF)
        start = octets.index(b'Subject: hello')
        self.assertEqual(2, len(parsed(octets[:start]).keys()))
        self.assertTrue(octets.startswith(
            b'Return-Path: <alice@example.com>\nReceived: from '))
        self.assertEqual(lf(self.expected_body(BODY)), octets[start:])

    def test_the_empty_message(self):
        [(_, octets)] = self.deliver(new_message(msg_bytes=b''))
        msg = parsed(octets)
        self.assertEqual('<alice@example.com>', msg['Return-Path'])
        self.assertEqual(2, len(msg.keys()))
        self.assertFalse(msg.get_payload())

    def test_several_messages_in_order(self):
        messages = [new_message(msg_bytes=b'Subject: %d\r\n\r\nbody %d\r\n' % (
            number, number)) for number in range(5)]
        stored = self.deliver(*messages)
        self.assertEqual(['%d' % number for number in range(5)],
                         [parsed(octets)['Subject'] for _, octets in stored])

    def test_a_message_without_a_last_line_end(self):
        [(_, octets)] = self.deliver(new_message(
            msg_bytes=b'Subject: x\r\n\r\nno end'))
        self.assertTrue(octets.endswith(b'\n\nno end\n'), octets)

    def test_create_makes_the_store(self):
        self.deliver(new_message())
        self.assertEqual(self.created_mode, stat.S_IMODE(
            os.stat(self.store).st_mode))

    def test_without_create_a_missing_store_is_an_error(self):
        deliverer = self.deliverer(create=False)
        self.assertRaises(Exception, deliverer.new_message_accepted,
                          new_message())
        self.assertFalse(os.path.exists(self.store))

    def test_check_makes_the_store_or_raises_what_a_delivery_would(self):
        self.deliverer().check()
        self.assertEqual(self.created_mode, stat.S_IMODE(
            os.stat(self.store).st_mode))
        self.assertEqual([], self.read())
        a_file = self.path('a-file')
        open(a_file, 'w').close()
        for path in (self.path('missing', 'store'),         # no folder above
                     os.path.join(a_file, 'store')):        # a file above
            self.assertRaises((IOError, OSError),
                              self.deliverer_class(path).check)
            self.assertRaises((IOError, OSError),
                              self.deliverer_class(path).new_message_accepted,
                              new_message())
        self.assertRaises((IOError, OSError), self.deliverer_class(
            self.path('not-made'), create=False).check)

    def test_a_store_removed_is_made_anew(self):
        self.deliver(new_message())
        self.remove_store()
        self.assertEqual(1, len(self.deliver(new_message())))

    def test_the_path_is_absolute_and_expanded(self):
        deliverer = self.deliverer_class('~/mail')
        self.assertEqual(os.path.join(os.path.expanduser('~'), 'mail'),
                         deliverer.path)
        self.assertTrue('mail' in repr(deliverer))

    def test_the_default_host_name_is_the_fqdn(self):
        deliverer = self.deliverer_class(self.store)
        self.assertEqual(socket.getfqdn(), deliverer.hostname)


class MaildirReadBackTest(ReadBackTests, unittest.TestCase):
    deliverer_class = MaildirDeliverer
    created_mode = 0o700

    def read(self):
        return [(None, octets) for octets in read_maildir(self.store)]

    def expected_body(self, octets):
        return octets

    def remove_store(self):
        shutil.rmtree(self.store)

    def test_check_refuses_what_is_not_a_maildir(self):
        a_file = self.path('a-file')
        open(a_file, 'w').close()
        self.assertRaises((IOError, OSError), MaildirDeliverer(a_file).check)
        os.mkdir(self.store)
        self.assertRaises((IOError, OSError),
                          self.deliverer(create=False).check)

    def test_the_maildir_folders(self):
        self.deliver(new_message())
        for name in ('tmp', 'new', 'cur'):
            self.assertEqual(0o700, stat.S_IMODE(
                os.stat(self.path('store', name)).st_mode))
        self.assertEqual([], os.listdir(self.path('store', 'tmp')))
        self.assertEqual(1, len(os.listdir(self.path('store', 'new'))))

    def test_a_from_line_in_the_body_is_not_quoted(self):
        [(_, octets)] = self.deliver(new_message())
        self.assertTrue(b'\nFrom the body: a line' in octets)
        self.assertTrue(b'\n>From an already quoted line' in octets)

    def test_maildir_messages(self):
        self.deliver(new_message())
        [msg] = list(mailbox.Maildir(self.store, factory=None, create=False))
        self.assertEqual('hello', msg['Subject'])
        self.assertEqual('new', msg.get_subdir())


class MboxReadBackTest(ReadBackTests, unittest.TestCase):
    deliverer_class = MboxDeliverer
    created_mode = 0o600

    def read(self):
        return read_mbox(self.store)

    def expected_body(self, octets):
        return octets.replace(b'\nFrom the body', b'\n>From the body')

    def remove_store(self):
        os.remove(self.store)

    def test_the_from_line_and_quoting(self):
        [(from_, octets)] = self.deliver(new_message())
        self.assertTrue(from_.startswith('alice@example.com '), from_)
        # asctime, UTC
        moment = time.mktime(time.strptime(from_.split(' ', 1)[1]))
        self.assertTrue(abs(time.mktime(time.gmtime()) - moment) < 60, from_)
        # mboxo: a body line starting with "From " gets a ">"; one that
        # has one already is left as it is
        self.assertTrue(b'\n>From the body: a line' in octets)
        self.assertTrue(b'\n>From an already quoted line' in octets)
        self.assertFalse(b'\nFrom ' in octets)

    def test_the_file_itself(self):
        self.deliver(new_message(), new_message(msg_bytes=b''),
                     new_message(sender=''))
        with open(self.store, 'rb') as mbox_file:
            content = mbox_file.read()
        self.assertTrue(content.startswith(b'From alice@example.com '))
        self.assertEqual(3, content.count(b'\nReturn-Path: '))
        self.assertEqual(2, content.count(b'\n\nFrom '))
        self.assertTrue(b'\n\nFrom MAILER-DAEMON ' in content)
        self.assertTrue(content.endswith(b'\n\n'))
        self.assertFalse(b'\r' in content)
        self.assertFalse(os.path.exists(self.store + '.lock'))

    def test_a_message_starting_with_a_from_line(self):
        [(from_, octets)] = self.deliver(new_message(
            msg_bytes=b'From someone else\r\nSubject: x\r\n\r\nbody\r\n'))
        self.assertTrue(from_.startswith('alice@example.com '))
        self.assertTrue(b'\n>From someone else\nSubject: x\n' in octets)


# --- the mbox lock ------------------------------------------------------------
class Writer(object):
    """A mail_store_writer.py process (see there for ``config``)."""

    def __init__(self, test, **config):
        config.setdefault('writer', 0)
        config.setdefault('count', 1)
        self.process = subprocess.Popen(
            [sys.executable, WRITER_SCRIPT, json.dumps(config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=subprocess_environment(), close_fds=True)
        test.addCleanup(self.kill)
        self.output = OutputReader(self.process.stdout)
        self.expect(b'READY')

    def expect(self, word, timeout=TIMEOUT):
        line = self.output.read_until(b'\n', timeout).strip()
        assert line == word, (word, line, self.output.buffer)

    def go(self):
        self.process.stdin.write(b'\n')
        self.process.stdin.flush()

    def finish(self, timeout=60.0):
        """The last line and the exit status."""
        output = self.output.read_to_eof(timeout)
        return output.strip().splitlines()[-1], self.process.wait()

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process.stdin.close()
        self.process.stdout.close()


class MboxLockTest(TemporaryDirectory, unittest.TestCase):
    def setUp(self):
        super(MboxLockTest, self).setUp()
        self.store = self.path('mbox')
        MboxDeliverer(self.store).new_message_accepted(new_message())

    def hold_lock(self):
        holder = Writer(self, stores=[['mbox', self.store]], hold_lock=True)
        holder.go()
        holder.expect(b'LOCKED')
        return holder

    def test_a_fresh_dot_lock_makes_it_wait_then_raise(self):
        with open(self.store + '.lock', 'w'):
            pass
        deliverer = MboxDeliverer(self.store, lock_timeout=0.3)
        started = time.time()
        self.assertRaises(mailbox.ExternalClashError,
                          deliverer.new_message_accepted, new_message())
        self.assertTrue(time.time() - started >= 0.3)
        self.assertEqual(1, len(read_mbox(self.store)))
        self.assertTrue(os.path.exists(self.store + '.lock'))

    def test_a_stale_dot_lock_is_removed(self):
        with open(self.store + '.lock', 'w'):
            pass
        old = time.time() - 120
        os.utime(self.store + '.lock', (old, old))
        with PymtaLog() as log:
            MboxDeliverer(self.store, lock_timeout=2.0).new_message_accepted(
                new_message())
        self.assertEqual(['removed the stale dot lock %s.lock' % self.store],
                         log.messages)
        self.assertEqual(2, len(read_mbox(self.store)))
        self.assertFalse(os.path.exists(self.store + '.lock'))

    def test_an_old_dot_lock_of_a_living_process_stays(self):
        holder = self.hold_lock()
        old = time.time() - 120
        os.utime(self.store + '.lock', (old, old))
        deliverer = MboxDeliverer(self.store, lock_timeout=0.3)
        self.assertRaises(mailbox.ExternalClashError,
                          deliverer.new_message_accepted, new_message())
        self.assertTrue(os.path.exists(self.store + '.lock'))
        holder.go()
        self.assertEqual((b'DONE', 0), holder.finish())
        deliverer.new_message_accepted(new_message())
        self.assertEqual(2, len(read_mbox(self.store)))

    def test_it_waits_for_the_lock_of_another_process(self):
        holder = self.hold_lock()
        done = []
        thread = threading.Thread(target=lambda: done.append(
            MboxDeliverer(self.store).new_message_accepted(new_message())))
        thread.start()
        time.sleep(0.2)
        self.assertEqual([], done)
        holder.go()
        thread.join(TIMEOUT)
        self.assertEqual([None], done)
        self.assertEqual(2, len(read_mbox(self.store)))

    def test_a_mailbox_replaced_while_it_waits(self):
        # a mail client rewrote the mbox (as mailbox.mbox.flush() does after
        # a removal: a new file renamed over the old) while it held the lock
        holder = self.hold_lock()
        done = []
        thread = threading.Thread(target=lambda: done.append(
            MboxDeliverer(self.store).new_message_accepted(
                new_message(msg_bytes=b'Subject: after\r\n\r\nx\r\n'))))
        thread.start()
        time.sleep(0.2)
        with open(self.store + '.new', 'wb'):
            pass
        os.rename(self.store + '.new', self.store)
        holder.go()
        thread.join(TIMEOUT)
        self.assertEqual([None], done)
        [(_, octets)] = read_mbox(self.store)
        self.assertEqual('after', parsed(octets)['Subject'])

    def test_the_messages_in_the_mbox_are_not_read(self):
        # (mailbox.mbox reads them all for its table of contents)
        def read_them_all(box):
            raise AssertionError('the mbox was read')
        original = mailbox.mbox.__dict__['_generate_toc']
        mailbox.mbox._generate_toc = read_them_all
        try:
            MboxDeliverer(self.store).new_message_accepted(new_message())
        finally:
            mailbox.mbox._generate_toc = original
        self.assertEqual(2, len(read_mbox(self.store)))

    def test_threads_of_one_process_take_turns(self):
        deliverer = MboxDeliverer(self.store)
        errors = []

        def deliver(number):
            try:
                for index in range(10):
                    deliverer.new_message_accepted(new_message(
                        msg_bytes=b'Subject: %d-%d\r\n\r\n%s\r\n' % (
                            number, index, b'x' * 20000)))
            except Exception as error:
                errors.append(error)
        threads = [threading.Thread(target=deliver, args=(number,))
                   for number in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual([], errors)
        subjects = sorted(parsed(octets)['Subject']
                          for _, octets in read_mbox(self.store)[1:])
        self.assertEqual(sorted('%d-%d' % (number, index)
                                for number in range(4) for index in range(10)),
                         subjects)


# --- several processes at once ------------------------------------------------
class ConcurrentProcessesTest(TemporaryDirectory, unittest.TestCase):
    WRITERS = 4
    MESSAGES = 40

    def test_every_message_exactly_once(self):
        stores = [['maildir', self.path('maildir')],
                  ['mbox', self.path('mbox')]]
        writers = [Writer(self, stores=stores, writer=number,
                          count=self.MESSAGES, body_size=20000)
                   for number in range(self.WRITERS)]
        for writer in writers:
            writer.go()
        for writer in writers:
            self.assertEqual((b'DONE', 0), writer.finish())
        expected = sorted('writer %d message %d' % (writer, number)
                          for writer in range(self.WRITERS)
                          for number in range(self.MESSAGES))
        maildir = read_maildir(self.path('maildir'))
        mbox = read_mbox(self.path('mbox'))
        for stored in (maildir, [octets for _, octets in mbox]):
            messages = [parsed(octets) for octets in stored]
            self.assertEqual(expected, sorted(msg['Subject']
                                              for msg in messages))
            for msg in messages:
                writer = msg['Subject'].split()[1]
                self.assertEqual('<writer%s@example.com>' % writer,
                                 msg['Return-Path'])
                body = msg.get_payload(decode=True)
                lines = body.split(b'\n')
                self.assertEqual(b'', lines[-1])
                self.assertEqual(set([b'From the writer: \xc3\xa4\xc3\xb6'
                                      b'\xc3\xbc 8-bit line of text.']),
                                 set(line.lstrip(b'>') for line in
                                     lines[:-1]))
        for from_, _ in mbox:
            self.assertTrue(from_.startswith('writer'), from_)
        self.assertFalse(os.path.exists(self.path('mbox.lock')))
        self.assertEqual([], os.listdir(self.path('maildir', 'tmp')))


# --- a store that cannot write ------------------------------------------------
class CannotWriteTest(TemporaryDirectory, unittest.TestCase):
    """Each delivery runs in a writer process: as root (where permissions
    do not hold) as the user nobody; "disk full": RLIMIT_FSIZE."""

    def deliver_in_process(self, stores, **config):
        config.setdefault('drop_privileges', os.geteuid() == 0)
        writer = Writer(self, stores=stores, **config)
        writer.go()
        return writer.finish()

    def read_only_folder(self):
        os.chmod(self.directory, 0o755)     # (nobody may look in)
        folder = self.path('read-only')
        os.mkdir(folder)
        return folder

    def assert_fails(self, stores, error='PermissionError', **config):
        line, status = self.deliver_in_process(stores, **config)
        self.assertEqual(1, status, line)
        self.assertTrue(line.startswith(b'ERROR '), line)
        if not PY2:
            self.assertEqual(error, line.split()[1].decode('ascii'), line)

    def test_a_maildir_in_a_read_only_folder(self):
        folder = self.read_only_folder()
        os.chmod(folder, 0o555)
        self.assert_fails([['maildir', os.path.join(folder, 'maildir')]])
        self.assertEqual([], os.listdir(folder))

    def test_a_read_only_maildir(self):
        folder = self.read_only_folder()
        maildir = os.path.join(folder, 'maildir')
        MaildirDeliverer(maildir).new_message_accepted(new_message())
        for name in ('', 'tmp', 'new', 'cur'):
            os.chmod(os.path.join(maildir, name), 0o555)
        self.assert_fails([['maildir', maildir]])
        self.assertEqual(1, len(read_maildir(maildir)))

    def test_an_mbox_in_a_read_only_folder(self):
        folder = self.read_only_folder()
        os.chmod(folder, 0o555)
        self.assert_fails([['mbox', os.path.join(folder, 'mbox')]])
        self.assertEqual([], os.listdir(folder))

    def test_a_read_only_mbox(self):
        folder = self.read_only_folder()
        mbox = os.path.join(folder, 'mbox')
        MboxDeliverer(mbox).new_message_accepted(new_message())
        os.chmod(mbox, 0o444)
        before = digest(mbox)
        self.assert_fails([['mbox', mbox]])
        self.assertEqual(before, digest(mbox))

    def test_a_full_disk_leaves_the_mbox_as_it_was(self):
        mbox = self.path('mbox')
        deliverer = MboxDeliverer(mbox)
        deliverer.new_message_accepted(new_message())
        deliverer.new_message_accepted(new_message(msg_bytes=b''))
        before = digest(mbox)
        limit = os.path.getsize(mbox) + 500
        # a large message fails while mailbox writes it, a small one only
        # when the file's buffer is flushed
        for body_size in (50000, 1000):
            self.assert_fails([['mbox', mbox]], error='OSError',
                              drop_privileges=False, file_size_limit=limit,
                              body_size=body_size)
            self.assertEqual(before, digest(mbox), body_size)
            self.assertEqual(2, len(read_mbox(mbox)))
            self.assertFalse(os.path.exists(mbox + '.lock'))
        # and the next delivery (with room) is stored after the others
        deliverer.new_message_accepted(new_message(sender=''))
        self.assertEqual(['alice', 'alice', 'MAILER-DAEMON'],
                         [from_.split('@')[0].split()[0]
                          for from_, _ in read_mbox(mbox)])

    def test_a_full_disk_leaves_nothing_in_the_maildir(self):
        maildir = self.path('maildir')
        MaildirDeliverer(maildir).new_message_accepted(new_message())
        self.assert_fails([['maildir', maildir]], error='OSError',
                          drop_privileges=False, file_size_limit=5000,
                          body_size=20000)
        self.assertEqual([], os.listdir(os.path.join(maildir, 'tmp')))
        self.assertEqual(1, len(read_maildir(maildir)))


# --- through real servers -----------------------------------------------------
class InProcessServerTest(TemporaryDirectory, unittest.TestCase):
    """SMTPTestServer: the threaded serial path in this process."""

    def test_tls_and_auth_in_the_received_header(self):
        maildir = self.path('maildir')
        server = SMTPTestServer(deliverer=MaildirDeliverer(
            maildir, hostname='mx.example.com'), tls=True,
            authenticator=AcceptAnyAuthenticator)
        with server:
            client = smtp_client(self, server.port)
            client.ehlo('client.example')
            client.starttls()
            client.ehlo('client.example')
            client.login('alice', 'secret')
            client.sendmail('alice@example.com', ['bob@example.com'], BODY)
            client.quit()
        [octets] = read_maildir(maildir)
        received = header_text(parsed(octets), 'Received')
        self.assertTrue(received.startswith(
            'from client.example ([127.0.0.1]) by mx.example.com (pymta) '
            'with ESMTPSA (using TLSv1'), received)
        self.assertTrue(octets.endswith(lf(BODY)))

    def test_451_while_the_store_cannot_write_and_250_once_it_can(self):
        maildir = self.path('maildir')
        make_maildir(maildir)
        os.rmdir(os.path.join(maildir, 'new'))
        with open(os.path.join(maildir, 'new'), 'w'):
            pass     # (a file where the folder must be: even root fails)
        with PymtaLog() as log, \
                SMTPTestServer(deliverer=MaildirDeliverer(maildir)) as server:
            client = smtp_client(self, server.port)
            client.ehlo('client.example')
            client.mail('alice@example.com')
            client.rcpt('bob@example.com')
            code, text = client.data(b'Subject: lost\r\n\r\nx\r\n')
            self.assertEqual(451, code, text)
            os.remove(os.path.join(maildir, 'new'))
            os.mkdir(os.path.join(maildir, 'new'))
            client.mail('alice@example.com')
            client.rcpt('bob@example.com')
            self.assertEqual(250, client.data(
                b'Subject: stored\r\n\r\nx\r\n')[0])
            client.quit()
        self.assertEqual(['deliverer raised'], log.messages)
        self.assertEqual(['stored'], [parsed(octets)['Subject']
                                      for octets in read_maildir(maildir)])
        self.assertEqual([], os.listdir(os.path.join(maildir, 'tmp')))


class ServerProcessTests(TemporaryDirectory):
    """A ServerProcess that stores into a Maildir or an mbox, several
    smtplib clients at once; a subclass sets ``use_multiprocessing`` (and
    ``options``)."""

    CLIENTS = 4
    MESSAGES = 5
    options = {}

    def start(self, deliverer, store):
        server = ServerProcess(self.use_multiprocessing, policy='default',
                               deliverer=deliverer, mail_store=store,
                               **self.options)
        self.addCleanup(server.cleanup)
        server.start()
        return server

    def stop(self, server):
        status, output = server.stop()
        self.assertEqual(0, status, (output, server.stderr_text()))

    def send_at_once(self, server):
        """CLIENTS clients connect, each waits for the others, then each
        sends MESSAGES messages on its connection."""
        connected = []
        all_connected = threading.Event()
        lock = threading.Lock()
        errors = []

        def client(number):
            try:
                connection = smtplib.SMTP('127.0.0.1', server.port,
                                          timeout=TIMEOUT)
                connection.ehlo('client%d.example' % number)
                with lock:
                    connected.append(number)
                    if len(connected) == self.CLIENTS:
                        all_connected.set()
                all_connected.wait(TIMEOUT)
                for index in range(self.MESSAGES):
                    refused = connection.sendmail(
                        'client%d@example.com' % number, ['inbox@example.com'],
                        b'Subject: client %d message %d\r\n\r\n'
                        b'From me\r\n\xc3\xa4\r\n' % (number, index))
                    assert refused == {}, refused
                connection.quit()
            except Exception as error:
                errors.append(error)
        threads = [threading.Thread(target=client, args=(number,))
                   for number in range(self.CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual([], errors, server.stderr_text())
        return sorted('client %d message %d' % (number, index)
                      for number in range(self.CLIENTS)
                      for index in range(self.MESSAGES))

    def assert_messages(self, expected, stored):
        messages = [parsed(octets) for octets in stored]
        self.assertEqual(expected, sorted(msg['Subject'] for msg in messages))
        for msg in messages:
            number = msg['Subject'].split()[1]
            self.assertEqual('<client%s@example.com>' % number,
                             msg['Return-Path'])
            self.assertTrue(header_text(msg, 'Received').startswith(
                'from client%s.example ([127.0.0.1]) by %s (pymta) with '
                'ESMTP for <inbox@example.com>; ' % (
                    number, MAIL_STORE_HOSTNAME)), msg['Received'])

    def test_a_maildir(self):
        self.check_maildir()

    def check_maildir(self):
        """Send to a Maildir, check it; return the names in new/."""
        maildir = self.path('maildir')
        server = self.start('maildir', maildir)
        expected = self.send_at_once(server)
        self.stop(server)
        stored = read_maildir(maildir)
        self.assert_messages(expected, stored)
        for octets in stored:
            self.assertTrue(octets.endswith(b'\n\nFrom me\n\xc3\xa4\n'))
        return os.listdir(os.path.join(maildir, 'new'))

    def test_an_mbox(self):
        mbox = self.path('mbox')
        server = self.start('mbox', mbox)
        expected = self.send_at_once(server)
        self.stop(server)
        stored = read_mbox(mbox)
        self.assert_messages(expected, [octets for _, octets in stored])
        for from_, octets in stored:
            self.assertTrue(from_.startswith('client'), from_)
            self.assertTrue(octets.endswith(b'\n\n>From me\n\xc3\xa4\n'))
        self.assertFalse(os.path.exists(mbox + '.lock'))

    def test_a_store_that_cannot_write(self):
        # (a folder that does not exist: fails for root too)
        server = self.start('mbox', self.path('missing', 'mbox'))
        client = smtp_client(self, server.port)
        client.ehlo('client.example')
        client.mail('alice@example.com')
        client.rcpt('bob@example.com')
        code, text = client.data(b'Subject: lost\r\n\r\nx\r\n')
        self.assertEqual(451, code, text)
        client.quit()
        self.stop(server)
        self.assertFalse(os.path.exists(self.path('missing')))


class SerialPathServerTest(ServerProcessTests, unittest.TestCase):
    use_multiprocessing = False
    options = {'threaded': True}


class ForkPathServerTest(OnForkPath, ServerProcessTests, unittest.TestCase):
    use_multiprocessing = True

    def test_a_maildir(self):
        names = self.check_maildir()
        # each client had a worker process of its own (a worker serves one
        # connection at a time): the unique names tell the process
        pids = set(name.split('P')[1].split('Q')[0] for name in names)
        self.assertEqual(self.CLIENTS, len(pids), names)


if __name__ == '__main__':
    unittest.main()
