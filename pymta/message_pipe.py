# -*- coding: utf-8 -*-
"""Accepted messages from the fork path's worker processes to the parent
(``PythonMTA(collect_messages=True)``): one socket pair per worker.

A worker sends each message (pickled, behind its length) and waits for the
parent's one-octet acknowledgement before its deliverer call returns, so by
the time the client reads its 250 the message is in the parent's
``server.messages``; a worker that dies mid-message leaves only an
incomplete frame, which the parent drops (that client got no 250 either).
"""

from __future__ import absolute_import

import logging
import pickle
import struct

from .fdwait import _errno_of
from .sockets import RETRY_ERRNOS, socket_pair


__all__ = ['MessageReceiver', 'MessageSender', 'message_socket_pair']

log = logging.getLogger('pymta')

_LENGTH = struct.Struct('>Q')
_ACK = b'A'
_READ_SIZE = 256 * 1024


def message_socket_pair():
    """``(parent end, worker end)``; the parent's is non-blocking."""
    parent_end, worker_end = socket_pair()
    parent_end.setblocking(False)
    return parent_end, worker_end


class MessageSender(object):
    """(in a worker) ``sender(message)`` hands ``message`` to the parent
    and returns once the parent has it. Raises if the message cannot be
    pickled or the parent is gone."""

    def __init__(self, sock):
        self.sock = sock

    def __call__(self, message):
        data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
        self.sock.sendall(_LENGTH.pack(len(data)))
        self.sock.sendall(data)
        if self.sock.recv(1) != _ACK:
            raise IOError('the server process is gone: the message was '
                          'delivered but not collected')


class MessageReceiver(object):
    """(in the parent) Reads what one worker sends: ``read()`` whenever the
    socket is readable passes every complete message to ``deliver`` and
    acknowledges it; it returns False once the worker closed its end."""

    def __init__(self, sock, deliver):
        self.sock = sock
        self.deliver = deliver
        self._buffer = bytearray()
        self._needed = None     # the length of the frame being read

    def fileno(self):
        return self.sock.fileno()

    def read(self):
        try:
            data = self.sock.recv(_READ_SIZE)
        except (IOError, OSError) as e:
            if _errno_of(e) in RETRY_ERRNOS:
                return True
            data = b''
        if not data:
            return False
        self._buffer += data
        self._take_messages()
        return True

    def _take_messages(self):
        buffer = self._buffer
        while True:
            if self._needed is None:
                if len(buffer) < _LENGTH.size:
                    return
                self._needed = _LENGTH.unpack(bytes(buffer[:_LENGTH.size]))[0]
                del buffer[:_LENGTH.size]
            if len(buffer) < self._needed:
                return
            frame = bytes(buffer[:self._needed])
            del buffer[:self._needed]
            self._needed = None
            try:
                self.deliver(pickle.loads(frame))
            except Exception:
                log.exception('could not collect a message from a worker')
            try:
                self.sock.send(_ACK)
            except (IOError, OSError):
                pass    # (the worker is gone)

    def close(self):
        """Take what is left to read (of a worker that ended), then
        close."""
        while True:
            try:
                data = self.sock.recv(_READ_SIZE)
            except (IOError, OSError):
                break
            if not data:
                break
            self._buffer += data
            self._take_messages()
        self.sock.close()
