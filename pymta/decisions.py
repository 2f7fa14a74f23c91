# -*- coding: utf-8 -*-
"""Every form a policy method may return (SPEC section 2), turned into one
``PolicyDecision``: None or True (accept), False (reject), a
``PolicyDecision``, or ``(bool, reply)``; a reply is ``(code, text)`` with
``text`` one line or a sequence of lines."""

from __future__ import absolute_import

from .api import PolicyDecision
from .compat import basestring


__all__ = ['as_policy_decision']


def as_policy_decision(result):
    """The ``PolicyDecision`` ``result`` stands for; None if it stands for
    none (the caller treats that as a fault of the policy)."""
    if result is None or result is True:
        return PolicyDecision(True)
    if result is False:
        return PolicyDecision(False)
    if isinstance(result, PolicyDecision):
        if result.use_custom_reply():
            reply = _valid_reply(result.get_custom_reply())
            if reply is None:
                return None
            result.reply = reply
        return result
    if isinstance(result, (tuple, list)) and len(result) == 2 and \
            isinstance(result[0], (bool, int)):
        reply = _valid_reply(result[1])
        if reply is not None:
            return PolicyDecision(result[0], reply)
    return None


def _valid_reply(reply):
    """``reply`` if it is ``(code, text)`` with ``text`` a string or a
    non-empty list or tuple of strings (kept as the very object: legacy suites
    compare the recorded reply with it); another iterable of lines becomes a
    list; None if it is not a reply."""
    if not isinstance(reply, (tuple, list)) or len(reply) != 2:
        return None
    code, text = reply
    if isinstance(text, basestring):
        return reply
    if not isinstance(text, (tuple, list)):
        try:
            text = list(text)
        except TypeError:
            return None
        reply = (code, text)
    if text and all(isinstance(line, basestring) for line in text):
        return reply
    return None
