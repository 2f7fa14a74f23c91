# -*- coding: utf-8 -*-
"""Deliverers that store every accepted message for real, through the
standard library's ``mailbox`` module, so that any mail client (or
``mailbox`` code) can read what arrived:

* ``MaildirDeliverer(path)``: one file per message in a Maildir (``tmp/``,
  then a link into ``new/``: several processes may deliver at once by
  design);
* ``MboxDeliverer(path)``: appends to an mbox file, each delivery under the
  mailbox's lock (``fcntl.lockf`` and a dot lock ``<path>.lock``), so that
  the worker processes of one server, other servers and mail clients that
  lock the same way never overwrite each other's messages.

Each stores the message's octets as received (``Message.msg_bytes``), with
the line ends of files on this system (CRLF -> LF), after two header lines
that a final delivery adds (RFC 5321 §4.4): ``Return-Path: <sender>`` and
``Received: from <helo> ([ip]) by <host> with ESMTP...; <date>``.

A delivery either stores the whole message, synced to disk, or raises (the
client then gets ``451``): no ``250`` for a message that was not stored.
docs/deliverers.md tells more.
"""

from __future__ import absolute_import

import errno
import fcntl
import logging
import mailbox
import os
import random
import re
import socket
import threading
import time
from email.utils import formatdate

from .api import IMessageDeliverer
from .compat import wire_bytes


__all__ = ['MaildirDeliverer', 'MboxDeliverer', 'delivery_headers',
           'from_line', 'make_maildir', 'stored_octets']

log = logging.getLogger('pymta')

_now = getattr(time, 'monotonic', time.time)

#: Default ``MboxDeliverer(lock_timeout=...)``: how long one delivery waits
#: for the mbox lock before it gives up (the client gets a 451 and tries
#: again later).
LOCK_TIMEOUT_SECONDS = 10.0
#: Default ``MboxDeliverer(stale_lock_seconds=...)``: a dot lock this old
#: whose mbox no process holds a ``lockf`` lock on is left over by a process
#: that died while delivering; it is removed.
STALE_LOCK_SECONDS = 60.0
#: attempts of ``mailbox.Maildir.add`` when the unique name it picked is
#: taken (two threads of one process in the same microsecond)
MAILDIR_ATTEMPTS = 3


# --- the stored form of a message -------------------------------------------
def stored_octets(msg, hostname, timestamp=None):
    """The octets a deliverer stores for ``msg`` (a
    ``pymta.model.Message``): ``Return-Path`` and ``Received`` (``hostname``
    after ``by``; ``timestamp``: seconds since the epoch, default now), then
    ``msg.msg_bytes`` with every CRLF made LF, ending with a line end.
    (The ``mailbox`` module writes octets as they are, but for LF, which it
    makes ``os.linesep``: it expects LF line ends.)"""
    if timestamp is None:
        timestamp = time.time()
    body = msg.msg_bytes or b''
    body = body.replace(b'\r\n', b'\n')
    if body and not body.endswith(b'\n'):
        # (a BDAT message may end without a line end; an mbox needs one)
        body += b'\n'
    return delivery_headers(msg, hostname, timestamp) + body


def delivery_headers(msg, hostname, timestamp):
    """``Return-Path:`` and ``Received:`` of ``msg`` (bytes, LF line ends,
    continuation lines indented with a tab)."""
    sender = _one_line(msg.smtp_from or '')
    received = ['Received: from %s' % _from_domain(msg),
                '\tby %s (pymta) with %s' % (_one_line(hostname),
                                             _protocol(msg))]
    if msg.tls:
        received.append('\t(using %s with cipher %s)' % (
            _one_line(msg.tls.get('version') or 'TLS'),
            _one_line(msg.tls.get('cipher') or 'unknown')))
    date = formatdate(timestamp, localtime=True)
    if len(msg.smtp_to) == 1:
        # (RFC 5321 §4.4: one path at most; several recipients: none, as
        # Postfix does, not to show one recipient the others)
        received.append('\tfor <%s>; %s' % (_one_line(msg.smtp_to[0]), date))
    else:
        received[-1] += '; ' + date
    lines = ['Return-Path: <%s>' % sender] + received
    return b''.join(wire_bytes(line) + b'\n' for line in lines)


def _from_domain(msg):
    """``helo ([ip])`` (RFC 5321 §4.4 ``Extended-Domain``)."""
    helo = _one_line(msg.smtp_helo or '') or 'unknown'
    ip = getattr(msg.peer, 'remote_ip', None)
    if not ip:
        return helo
    if ':' in ip:
        return '%s ([IPv6:%s])' % (helo, ip)
    return '%s ([%s])' % (helo, ip)


def _protocol(msg):
    """The ``with`` keyword (RFC 3848): ESMTP, S for TLS, A for AUTH.
    (``Message`` does not tell HELO from EHLO; a client that said HELO is
    reported as ESMTP all the same.)"""
    return 'ESMTP' + ('S' if msg.tls else '') + ('A' if msg.username else '')


_LINE_BREAKS = re.compile('[\r\n]+')


def _one_line(text):
    """``text`` without line breaks: nothing a client sent may start a
    header line of its own."""
    return _LINE_BREAKS.sub(' ', text)


_NOT_IN_FROM_LINE = re.compile(b'[^\x21-\x7e]')


def from_line(msg, timestamp):
    """The mbox ``From `` line of ``msg`` (bytes, without its line end):
    the envelope sender (``MAILER-DAEMON`` for ``<>``) and the date in
    ``time.asctime`` form (UTC, as ``mailbox`` writes it). Only printable
    ASCII: others are ``_`` (Python 3's ``mailbox`` reads the line as
    ASCII; ``Return-Path`` keeps the sender as it was)."""
    sender = wire_bytes(msg.smtp_from or 'MAILER-DAEMON')
    sender = _NOT_IN_FROM_LINE.sub(b'_', sender)
    return b'From ' + sender + b' ' + wire_bytes(
        time.asctime(time.gmtime(timestamp)))


# --- the deliverers ----------------------------------------------------------
class _StoringDeliverer(IMessageDeliverer):
    """What both deliverers share: the path, ``create`` and the host name
    of the ``Received`` header."""

    def __init__(self, path, create=True, hostname=None):
        # (as mailbox does, once: a later chdir changes nothing)
        self.path = os.path.abspath(os.path.expanduser(path))
        self.create = create
        self._hostname = hostname

    @property
    def hostname(self):
        """The name after ``by`` in ``Received``: the constructor's
        ``hostname`` or, by default, ``socket.getfqdn()`` (looked up at the
        first delivery)."""
        if self._hostname is None:
            self._hostname = socket.getfqdn()
        return self._hostname

    def stored_octets(self, msg, timestamp=None):
        return stored_octets(msg, self.hostname, timestamp)

    def __repr__(self):
        return '%s(%r)' % (self.__class__.__name__, self.path)


class MaildirDeliverer(_StoringDeliverer):
    """Stores every message as a file of its own in the Maildir ``path``
    (``new/``, where mail clients look for new mail).

    ``create`` (True): make the Maildir (``path`` and its ``tmp``, ``new``
    and ``cur``, mode 0700; not the folders above it) where it is missing,
    at every delivery; False: a missing Maildir is an error (the client
    gets a 451). ``hostname``: the name after ``by`` in the ``Received``
    header (default ``socket.getfqdn()``).

    Several processes (the workers of the fork path, other programs) may
    deliver into one Maildir at once: ``mailbox.Maildir.add`` writes the
    message under a unique name into ``tmp/``, syncs it to disk and then
    links it into ``new/``, so a reader never sees half a message and no
    message replaces another."""

    def check(self):
        """Make the Maildir where it is missing (with ``create``) and check
        that it is one: raises the ``OSError`` a delivery would meet (a
        program that starts a server calls it first, to say so at once)."""
        if self.create:
            make_maildir(self.path)
        for name in ('tmp', 'new', 'cur'):
            folder = os.path.join(self.path, name)
            if not os.path.isdir(folder):
                raise OSError(errno.ENOENT, 'not a Maildir (no folder %s/)'
                              % name, self.path)

    def new_message_accepted(self, msg):
        octets = self.stored_octets(msg)
        if self.create:
            make_maildir(self.path)
        box = mailbox.Maildir(self.path, factory=None, create=False)
        for attempt in range(MAILDIR_ATTEMPTS):
            try:
                box.add(octets)
                return
            except mailbox.ExternalClashError:
                # the name in tmp/ was taken: the next attempt picks another
                if attempt + 1 == MAILDIR_ATTEMPTS:
                    raise


def make_maildir(path):
    """Make the Maildir ``path`` (mode 0700) and its ``tmp``, ``new`` and
    ``cur``, where missing; safe when several processes do it at once
    (``mailbox.Maildir(create=True)`` is not: the second ``mkdir`` of two
    raises)."""
    for folder in (path, os.path.join(path, 'tmp'),
                   os.path.join(path, 'new'), os.path.join(path, 'cur')):
        try:
            os.mkdir(folder, 0o700)
        except OSError as error:
            if error.errno != errno.EEXIST:
                raise


class MboxDeliverer(_StoringDeliverer):
    """Appends every message to the mbox file ``path``: its ``From `` line
    (envelope sender and date), the message, a blank line. Body lines that
    start with ``From `` get a ``>`` (``mailbox.mbox`` quotes them so: the
    "mboxo" format of most mail clients).

    ``create`` (True): make the file (mode 0600) where it is missing, at
    every delivery (so a mailbox moved away starts anew); False: a missing
    file is an error (the client gets a 451). ``hostname``: as for
    ``MaildirDeliverer``. ``lock_timeout``: the most seconds a delivery
    waits for the lock; then it raises (451). ``stale_lock_seconds``: a dot
    lock at least this old is removed where no process holds a ``lockf``
    lock on the mbox (a delivering process died).

    Each delivery opens the mbox anew, takes its lock
    (``mailbox.mbox.lock()``: ``fcntl.lockf`` and the dot lock
    ``<path>.lock``, as mutt, procmail and Postfix's local delivery use
    them), checks that the file it locked is still the one at ``path``
    (a mail client may have replaced it meanwhile), appends, syncs the
    file to disk and unlocks. If anything fails on the way, the file is cut
    back to its length before the delivery (no half message stays behind)
    and the exception goes on (451). The threads of one process (the
    threaded serial path) take turns: ``lockf`` locks belong to a process,
    not to a thread. The messages already in the mbox are never read: a
    delivery takes no longer with a large mbox than with an empty one."""

    def __init__(self, path, create=True, hostname=None,
                 lock_timeout=LOCK_TIMEOUT_SECONDS,
                 stale_lock_seconds=STALE_LOCK_SECONDS):
        super(MboxDeliverer, self).__init__(path, create, hostname)
        self.lock_timeout = lock_timeout
        self.stale_lock_seconds = stale_lock_seconds

    def new_message_accepted(self, msg):
        timestamp = time.time()
        octets = from_line(msg, timestamp) + b'\n' + \
            self.stored_octets(msg, timestamp)
        with _thread_lock_for(self.path):
            deadline = _now() + self.lock_timeout
            while True:
                box = self._open()
                length = self._lock(box, deadline)
                if length is not None:
                    break
                # the file locked is no longer at the path: open it anew
                _close_quietly(box)
                if _now() >= deadline:
                    raise mailbox.ExternalClashError(
                        '%s is replaced again and again' % self.path)
            self._append(box, octets, length)

    def check(self):
        """Make the mbox file where it is missing (with ``create``) and
        check that it can be written: raises the ``OSError`` a delivery
        would meet (a program that starts a server calls it first, to say so
        at once)."""
        # Can it be written? (mailbox would open a read-only file for
        # reading, and only its lock would fail, with EBADF.) And the file
        # made where it is missing: not by mailbox, which opens a missing
        # file with 'wb+', emptying what another process wrote meanwhile.
        flags = os.O_WRONLY | (os.O_CREAT if self.create else 0)
        os.close(os.open(self.path, flags, 0o600))

    def _open(self):
        self.check()
        return _AppendingMbox(self.path, factory=None, create=False)

    def _lock(self, box, deadline):
        """Lock ``box``; return the length of its file, or None if the file
        locked is no longer the one at the path (``box`` is unlocked
        again). Raises ``ExternalClashError`` after ``deadline``, and what
        else failed (``box`` closed)."""
        try:
            delay = 0.001
            while True:
                try:
                    box.lock()
                    break
                except mailbox.ExternalClashError:
                    if _now() >= deadline:
                        raise
                self._remove_stale_dot_lock(box)
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.05)
            handle = _mbox_file(box)
            if _same_file(handle, self.path):
                return os.fstat(handle.fileno()).st_size
            box.unlock()
            return None
        except BaseException:
            _close_quietly(box)
            raise

    def _remove_stale_dot_lock(self, box):
        """Remove a dot lock that is at least ``stale_lock_seconds`` old if
        no process holds a ``lockf`` lock on the mbox: a program that takes
        both locks (Python's ``mailbox``, mutt, procmail) holds the
        ``lockf`` lock as long as the dot lock, and the kernel releases it
        when the process dies, so the dot lock is left over by a process
        that died."""
        lock_path = self.path + '.lock'
        if not _older_than(lock_path, self.stale_lock_seconds):
            return
        handle = _mbox_file(box)
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (IOError, OSError):
            return      # a living process holds the mbox
        try:
            if _older_than(lock_path, self.stale_lock_seconds):
                os.remove(lock_path)
                log.warning('removed the stale dot lock %s', lock_path)
        except OSError as error:
            if error.errno != errno.ENOENT:
                raise
        finally:
            fcntl.lockf(handle, fcntl.LOCK_UN)

    def _append(self, box, octets, length):
        """Append ``octets`` to the locked ``box`` (whose file is
        ``length`` octets long), sync, unlock, close; on any failure cut
        the file back and raise."""
        try:
            box.add(octets)
            box.flush()
        except BaseException:
            _roll_back(box, _mbox_file(box), length)
            raise
        try:
            box.unlock()
        finally:
            box.close()


class _AppendingMbox(mailbox.mbox):
    """A ``mailbox.mbox`` to append to, which does not read the messages
    already in the file: ``mailbox.mbox`` reads the whole file before its
    first ``add``, to number them (which would take as long as the mbox is
    large, at every delivery, under the lock), but an append needs none of
    that: it writes at the end of the file, wherever that is. (The hook
    and what it sets are those of ``mailbox.mbox`` from Python 2.7 to
    3.13.)"""

    def _generate_toc(self):
        self._toc = {}
        self._next_key = 0
        self._file.seek(0, 2)
        self._file_length = self._file.tell()


#: ``{mbox path: threading.Lock}``: the deliveries of one process into one
#: mbox take turns (``lockf`` locks belong to the process: a thread would
#: take the lock that another thread holds, and closing any file of the
#: mbox releases them all)
_THREAD_LOCKS = {}
_THREAD_LOCKS_LOCK = threading.Lock()


def _thread_lock_for(path):
    with _THREAD_LOCKS_LOCK:
        lock = _THREAD_LOCKS.get(path)
        if lock is None:
            lock = _THREAD_LOCKS[path] = threading.Lock()
        return lock


def _mbox_file(box):
    """The file object of an open ``mailbox.mbox`` (its attribute
    ``_file`` from Python 2.5 to 3.13: the mailbox has no public way to
    reach it, and the lock belongs to it)."""
    return box._file


def _same_file(handle, path):
    """Is the open file ``handle`` the file at ``path``?"""
    opened = os.fstat(handle.fileno())
    try:
        current = os.stat(path)
    except OSError as error:
        if error.errno == errno.ENOENT:
            return False
        raise
    return (opened.st_dev, opened.st_ino) == (current.st_dev, current.st_ino)


def _older_than(path, seconds):
    try:
        return time.time() - os.stat(path).st_mtime >= seconds
    except OSError as error:
        if error.errno == errno.ENOENT:
            return False
        raise


def _roll_back(box, handle, length):
    """A delivery failed while ``box`` was locked: cut the file back to
    ``length`` (what others had appended before), unlock, and close the
    mailbox without writing what its buffer may still hold (it goes to
    ``os.devnull``). Failures on the way are logged: the delivery's own
    exception is the one to raise."""
    fd = handle.fileno()
    try:
        os.ftruncate(fd, length)
    except Exception:
        log.exception('could not cut %s back to %d octets', handle.name,
                      length)
    try:
        box.unlock()
    except Exception:
        log.exception('could not unlock %s', handle.name)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)
    except Exception:
        log.exception('could not discard the buffer of %s', handle.name)
    _close_quietly(box)


def _close_quietly(box):
    """Close ``box`` (unlocking it); its file is closed whatever fails."""
    try:
        box.close()
    except Exception:
        pass
    finally:
        handle = _mbox_file(box)
        try:
            if not handle.closed:
                handle.close()
        except Exception:
            pass
