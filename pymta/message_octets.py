# -*- coding: utf-8 -*-
"""A message's two forms and the way from each to the other: its octets as
the client sent them (``Message.msg_bytes``: line ends as sent, the last
line's end kept, dot-stuffing undone) and its text (``Message.msg_data``:
a native string, CRLF -> LF, the final line end removed)."""

from __future__ import absolute_import

from .compat import native_from_wire, wire_bytes


__all__ = ['octets_from_text', 'text_from_octets', 'text_size_of']


def text_from_octets(octets):
    """The text of the message ``octets`` (None: None): every CRLF one LF,
    one final LF removed, decoded as received text is (UTF-8 with
    surrogateescape on Python 3)."""
    if octets is None:
        return None
    # One copy while ``octets`` stays alive; decoding cuts the final LF off
    # without another.
    octets = octets.replace(b'\r\n', b'\n')
    if octets.endswith(b'\n'):
        return native_from_wire(octets, 0, len(octets) - 1)
    return native_from_wire(octets)


def text_size_of(octets):
    """The octets that ``text_from_octets(octets)`` has on the wire, counted
    without building it."""
    size = len(octets) - octets.count(b'\r\n')
    if octets.endswith(b'\n'):
        size -= 1
    return size


def octets_from_text(text):
    """The octets of the message ``text`` (None: None) as the client would
    have sent them: every LF a CRLF, and a final CRLF unless the text is
    empty (``text_from_octets`` gives ``text`` back)."""
    if text is None:
        return None
    octets = wire_bytes(text)
    if not octets:
        return b''
    return b''.join([octets.replace(b'\n', b'\r\n'), b'\r\n'])
