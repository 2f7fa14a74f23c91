# -*- coding: utf-8 -*-
"""The one place for differences between Python 2.7 and Python 3.

Everything that depends on the interpreter's version lives here, so the rest of
pymta reads the same on every Python it supports.
"""

from __future__ import absolute_import

import base64
import binascii
import hmac
import re
import sys

import six
from six.moves import queue


__all__ = ['b', 'b64decode', 'b64encode', 'basestring', 'queue', 'set',
           'unicode']

# pymta 0.4 and 0.5 suites import ``set`` from here (it once stood in for
# the Python 2.3 ``sets`` module); it is the built-in.
set = set
basestring = six.string_types
unicode = six.text_type

PY2 = (sys.version_info[0] == 2)


def b(text):
    """Return ``text`` as bytes (latin-1: every code point below 256 is one
    octet); bytes are returned unchanged."""
    if isinstance(text, bytes):
        return text
    return text.encode('latin-1')


if PY2:
    def native_from_wire(octets, start=0, stop=None):
        """Native str from ``octets[start:stop]`` read off the wire (Python
        2: the bytes)."""
        if start or stop is not None:
            return octets[start:stop]
        return octets

    def wire_bytes(text):
        """Octets to write to the wire for a native or unicode string."""
        if isinstance(text, unicode):
            return text.encode('utf-8')
        return text

    def text_to_wire_bytes(text):
        """Octets for input handed to the parser as text."""
        return wire_bytes(text)

    def text_for_validation(value):
        """pycerberus compares with unicode literals: hand it unicode (latin-1
        maps every octet to one code point, so nothing is lost)."""
        if isinstance(value, bytes):
            return value.decode('latin-1')
        return value

    def native_from_validation(value):
        """The inverse of ``text_for_validation`` for validated values and
        error texts: native (byte) strings again."""
        if not isinstance(value, unicode):
            return value
        try:
            return value.encode('latin-1')
        except UnicodeEncodeError:
            return value.encode('utf-8')

    def natives_from_validation(values):
        """A dict of ``values`` with each item made native."""
        natives = {}
        for key, item in values.items():
            # (only text needs it: most items are not, or are None)
            natives[key] = native_from_validation(item) \
                if isinstance(item, unicode) else item
        return natives

    # The octet sequences Python 3's strict UTF-8 decoder accepts as one
    # character (Unicode's table of well-formed UTF-8), over latin-1 text.
    _UTF8_CHARACTER = re.compile(
        u'[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|'
        u'[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]|'
        u'\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|'
        u'\xf4[\x80-\x8f][\x80-\xbf]{2}')

    def validation_character_at(value, index):
        """The character of ``value`` (text from ``text_for_validation``)
        that starts at ``index`` as Python 3 sees it: a whole UTF-8 sequence
        (several latin-1 characters here), else the one octet. So an error
        text that names a character reads the same on both."""
        match = _UTF8_CHARACTER.match(value, index)
        if match is None:
            return value[index]
        return match.group(0)
else:
    def native_from_wire(octets, start=0, stop=None):
        """Native str from ``octets[start:stop]`` read off the wire. UTF-8
        with surrogateescape: every byte sequence arrives and round-trips.
        (A memoryview avoids copying a large message to cut it.)"""
        if start or stop is not None:
            return str(memoryview(octets)[start:stop], 'utf-8',
                       'surrogateescape')
        return octets.decode('utf-8', 'surrogateescape')

    def wire_bytes(text):
        """Octets to write to the wire for a native string (the inverse of
        ``native_from_wire``)."""
        if isinstance(text, bytes):
            return text
        return text.encode('utf-8', 'surrogateescape')

    text_to_wire_bytes = wire_bytes

    def text_for_validation(value):
        """Native strings are text already."""
        return value

    def native_from_validation(value):
        return value

    def natives_from_validation(values):
        """A plain dict of ``values`` (the items are native already; a dict
        built for the result is returned as is, saving a copy per
        command)."""
        return values if type(values) is dict else dict(values)

    def validation_character_at(value, index):
        """The character of ``value`` that starts at ``index``."""
        return value[index]


def connection_accepter(listen_socket):
    """A function that does what ``listen_socket.accept()`` does (returns
    ``(connection, address)``). On Python 3, for a ``socket.socket`` whose
    class keeps the stdlib's ``accept``, without the two enum conversions
    (of the family and the type) that ``accept`` makes for every
    connection; otherwise (an ``ssl.SSLSocket``, a test's stand-in) it is
    ``listen_socket.accept``."""
    import socket
    if PY2 or not isinstance(listen_socket, socket.socket) or \
            type(listen_socket).accept is not socket.socket.accept:
        return listen_socket.accept
    import os
    new_socket = socket.socket
    default_timeout = socket.getdefaulttimeout
    accept_fd = listen_socket._accept
    # (Python 3.6's type of a non-blocking socket has SOCK_NONBLOCK in
    # it, which its accept() leaves out too)
    family = int(listen_socket.family)
    kind = int(listen_socket.type) & ~getattr(socket, 'SOCK_NONBLOCK', 0)
    proto = listen_socket.proto

    def accept():
        fd, address = accept_fd()
        try:
            connection = new_socket(family, kind, proto, fileno=fd)
        except BaseException:
            os.close(fd)
            raise
        # (as socket.accept: without a default timeout, a connection
        # accepted on a socket with a timeout is made blocking, where it
        # may have inherited the non-blocking mode)
        if default_timeout() is None and listen_socket.gettimeout():
            connection.setblocking(True)
        return connection, address
    return accept


def email_from_octets(octets):
    """An ``email.message.Message`` parsed from a message's ``octets``:
    Python 3 parses with ``email.policy.default`` (an ``EmailMessage``),
    Python 2 with its only parser. (``email`` is imported here: it loads
    ``socket``, which the sans-I/O core must not.)"""
    import email
    if PY2:
        return email.message_from_string(octets)
    import email.policy
    return email.message_from_bytes(octets, policy=email.policy.default)


def mailbox_octets(box, key):
    """The octets of message ``key`` of a stdlib ``mailbox`` mailbox as
    stored (LF line ends; an mbox's ``From `` line left out): Python 3's
    ``get_bytes``; Python 2 has none, its ``get_string`` returns the byte
    string. (Storing needs nothing of this kind: ``add`` takes a byte
    string on both, ``str`` on Python 2, ``bytes`` on Python 3, where a
    ``str`` must be ASCII; either way only LF counts as a line end, see
    ``pymta.mail_stores``.)"""
    if PY2:
        return box.get_string(key)
    return box.get_bytes(key)


def b64encode(text):
    """Base64-encode a (native or unicode) string, return a native string."""
    encoded = base64.b64encode(wire_bytes(text))
    return encoded if PY2 else encoded.decode('ascii')


def b64decode(text):
    """Decode base64 ``text`` strictly and return a native string.

    Raises ``ValueError`` for anything that is not well-formed base64."""
    try:
        octets = wire_bytes(text)
        if not _is_strict_base64(octets):
            raise ValueError('invalid base64: %r' % (text,))
        return native_from_wire(base64.b64decode(octets))
    except (binascii.Error, TypeError, UnicodeError) as e:
        raise ValueError(str(e))


def _is_strict_base64(octets):
    # b64decode on Python 2 silently drops characters outside the alphabet and
    # there is no 'validate' flag; check the alphabet and the length ourselves.
    if len(octets) % 4 != 0:
        return False
    body = octets.rstrip(b'=')
    if len(octets) - len(body) > 2:
        return False
    return not body.translate(None, _BASE64_ALPHABET)


_BASE64_ALPHABET = (b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
                    b'0123456789+/')


if hasattr(hmac, 'compare_digest'):     # Python 2.7.7+ and 3.3+
    def compare_digest(left, right):
        """Do the byte strings ``left`` and ``right`` match? In constant
        time: how long it takes tells nothing about where they differ."""
        return hmac.compare_digest(left, right)
else:
    def compare_digest(left, right):
        """Do the byte strings ``left`` and ``right`` match? In constant
        time: how long it takes tells nothing about where they differ."""
        if len(left) != len(right):
            return False
        difference = 0
        for x, y in zip(bytearray(left), bytearray(right)):
            difference |= x ^ y
        return difference == 0


def new_event():
    """A new ``threading.Event``; on Python 2 a ``pymta.fdwait.PipeEvent``
    (Python 2's own timed waits poll: they sleep 1 ms, 2 ms, ... up to 50 ms
    between looks, which added milliseconds to every start and stop of a
    test server). Imported here, not at the top: the sans-I/O core imports
    this module and must not load threads or ``select``."""
    if PY2:
        from .fdwait import PipeEvent
        return PipeEvent()
    import threading
    return threading.Event()


def import_multiprocessing():
    """Return the multiprocessing module, or None where it cannot be imported
    (as on the old Pythons pymta once ran on)."""
    try:
        import multiprocessing
    except ImportError:
        return None
    return multiprocessing


def cpu_count():
    """The CPUs this process may run on (1 where that is unknown)."""
    import os
    affinity = getattr(os, 'sched_getaffinity', None)   # (Linux, Python 3)
    if affinity is not None:
        try:
            return max(1, len(affinity(0)))
        except OSError:
            pass
    count = getattr(os, 'cpu_count', lambda: None)()     # (Python 3)
    if count is None:
        multiprocessing = import_multiprocessing()
        try:
            count = multiprocessing.cpu_count()
        except (AttributeError, NotImplementedError):
            count = None
    return count or 1


def fork_context(multiprocessing):
    """The 'fork' start method's context (Python 3), or the module itself
    (Python 2.7 always forks)."""
    get_context = getattr(multiprocessing, 'get_context', None)
    if get_context is None:
        return multiprocessing
    return get_context('fork')


def fds_kept_for_process(process):
    """The file descriptors ``multiprocessing`` keeps open in this (the
    parent) process for the started ``process``: Python 3.3+ keeps its
    ``sentinel`` (the read end of a pipe the child holds open), 3.8+ also
    the write end of the pipe whose read end is the child's
    ``parent_sentinel`` (found among the arguments of the Popen's
    finaliser, which closes both); Python 2.7 keeps none. A child forked
    later inherits them; it may close those of its siblings."""
    fds = []
    try:
        fds.append(process.sentinel)
    except (AttributeError, ValueError):
        pass
    finalizer = getattr(getattr(process, '_popen', None), 'finalizer', None)
    callback = getattr(finalizer, '_callback', None)
    if getattr(callback, '__name__', None) in ('close', 'close_fds'):
        fds.extend(getattr(finalizer, '_args', None) or ())
    return sorted(set(fd for fd in fds if isinstance(fd, int) and fd >= 0))


#: a module may define ``__getattr__`` for its missing names (PEP 562,
#: Python 3.7+): the package loads the server only when it is asked for
MODULE_GETATTR = sys.version_info >= (3, 7)


def new_tls_server_context():
    """A new ``ssl.SSLContext`` for a server, without certificates: TLS
    only (no SSL 2 or 3), the strongest protocol both ends know. (``ssl``
    is imported here: only the TLS driver needs it.)"""
    import ssl
    protocol = getattr(ssl, 'PROTOCOL_TLS_SERVER', None)    # 3.6+
    if protocol is None:
        protocol = ssl.PROTOCOL_SSLv23
    context = ssl.SSLContext(protocol)
    context.options |= ssl.OP_NO_SSLv2 | ssl.OP_NO_SSLv3
    return context
