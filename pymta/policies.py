# -*- coding: utf-8 -*-
"""Ready-made policies: ``AcceptAllPolicy`` (what the test servers and
``python -m pymta`` use), and fault injection: a policy that makes the
server fail on purpose, to test how a sending application copes.

A fault names the command it acts on (``'connect'``, ``'HELO'``, ``'EHLO'``,
``'AUTH'`` (or ``'AUTH PLAIN'``, ``'AUTH LOGIN'``, ``'AUTH CRAM-MD5'``),
``'MAIL FROM'``, ``'RCPT TO'``, ``'DATA'`` (and the first BDAT),
``'message'`` (the end of the message data), ``'STARTTLS'``; case does not
matter; a sequence of
names for several) and, optionally, when: ``nth`` (the Nth time, 1 for the
first, or a collection of such numbers) and ``rate`` (a random fraction,
with ``seed`` for the same sequence every run). ``FaultPolicy`` asks its
faults in order, then its ``base`` policy::

    from pymta.policies import FaultPolicy, TempFail
    from pymta.test_util import SMTPTestHelper

    # the first recipient gets 451, later ones are accepted
    with SMTPTestHelper(policy_class=FaultPolicy(TempFail('RCPT TO', nth=1))):
        ...

Counting is per fault instance. On the fork path each worker process has
its own copy of the policy (and of its counters, random generator and
greylisting records), so there "the Nth" is the Nth that worker served; in
the test helpers (one process) it counts every connection, the helper's own
probe connection first. See docs/fault-injection.md.
"""

from __future__ import absolute_import

import numbers
import random
import threading
import time

from .api import IMTAPolicy, PolicyDecision
from .compat import basestring
from .decisions import as_policy_decision


__all__ = ['AcceptAllPolicy', 'COMMAND_HOOKS', 'Delay', 'Drop', 'Fault',
           'FaultPolicy', 'Greylisting', 'Reject', 'Reply', 'Shutdown421',
           'TempFail']


class AcceptAllPolicy(IMTAPolicy):
    """Accepts everything; announces ``max_message_size`` (EHLO
    ``SIZE``; None: none) and offers the AUTH mechanisms
    ``auth_methods`` (none by default: AUTH only where the server has an
    authenticator to check it)."""

    def __init__(self, max_message_size=None, auth_methods=()):
        self._max_message_size = max_message_size
        self._auth_methods = tuple(auth_methods)

    def max_message_size(self, peer):
        return self._max_message_size

    def auth_methods(self, peer):
        return self._auth_methods


#: command name (as faults spell it) -> the IMTAPolicy methods asked for it
COMMAND_HOOKS = {
    'connect': ('accept_new_connection',),
    'HELO': ('accept_helo',),
    'EHLO': ('accept_ehlo',),
    'AUTH': ('accept_auth_plain', 'accept_auth_login',
             'accept_auth_cram_md5'),
    'AUTH PLAIN': ('accept_auth_plain',),
    'AUTH LOGIN': ('accept_auth_login',),
    'AUTH CRAM-MD5': ('accept_auth_cram_md5',),
    'MAIL FROM': ('accept_from',),
    'RCPT TO': ('accept_rcpt_to',),
    'DATA': ('accept_data',),
    'message': ('accept_msgdata',),
    'STARTTLS': ('accept_starttls',),
}

_BY_UPPER_NAME = dict((name.upper(), name) for name in COMMAND_HOOKS)

# The IMTAPolicy methods that are not decisions: FaultPolicy hands them to
# its base as they are.
_PLAIN_METHODS = ('max_message_size', 'auth_methods', 'ehlo_lines')


def _command_names(command):
    """The canonical names of ``command`` (a name or a sequence of them)."""
    names = [command] if isinstance(command, basestring) else list(command)
    if not names:
        raise ValueError('a fault needs a command')
    canonical = []
    for name in names:
        known = _BY_UPPER_NAME.get(' '.join(name.upper().split())) \
            if isinstance(name, basestring) else None
        if known is None:
            raise ValueError('unknown command %r; known: %s' % (
                name, ', '.join(sorted(COMMAND_HOOKS))))
        canonical.append(known)
    return tuple(canonical)


class Fault(object):
    """Something a ``FaultPolicy`` does to ``command`` (a name of
    ``COMMAND_HOOKS`` or a sequence of them): every time (default), only
    the ``nth`` time the policy is asked about it (an int, 1 for the first,
    or a collection of ints), and/or at random with probability ``rate``
    (``random.Random(seed)``: the same ``seed``, the same choices).
    ``count``: how often the policy was asked about ``command`` so far.

    Subclasses implement ``decide(hook, args, rest)``."""

    def __init__(self, command, nth=None, rate=None, seed=None):
        self.commands = _command_names(command)
        self.hooks = frozenset(hook for name in self.commands
                               for hook in COMMAND_HOOKS[name])
        if nth is not None:
            try:
                nth = frozenset([nth] if isinstance(nth, numbers.Integral)
                                else nth)
            except TypeError:   # (not a collection: refused below)
                nth = frozenset([nth])
            if not nth or any(not isinstance(n, numbers.Integral) or n < 1
                              for n in nth):
                raise ValueError('nth must be 1 or more (1: the first '
                                 'time), not %r' % (sorted(nth, key=repr),))
        self.nth = nth
        if rate is not None and not 0 <= rate <= 1:
            raise ValueError('rate must be between 0 and 1, not %r' % (rate,))
        if seed is not None and rate is None:
            raise ValueError('seed without rate: nothing is random')
        self.rate = rate
        self._random = random.Random(seed) if rate is not None else None
        self.count = 0
        # (the test helpers serve connections in threads)
        self._lock = threading.Lock()

    def selected(self):
        """Count one more time the command was asked about; True if the
        fault acts this time. Every fault of a command is counted every
        time, whichever of them decides, so its ``nth`` and random choices
        do not depend on the other faults."""
        with self._lock:
            self.count += 1
            count = self.count
            # drawn every time, so the sequence depends on the seed only
            draw = self._random.random() if self._random is not None \
                else None
        if self.nth is not None and count not in self.nth:
            return False
        return draw is None or draw < self.rate

    def decide(self, hook, args, rest):
        """The answer to the policy method ``hook`` called with ``args``
        (anything an IMTAPolicy method may return); ``rest()`` is the answer
        of the faults after this one and the base policy."""
        raise NotImplementedError

    def _commands_repr(self):
        return repr(self.commands[0] if len(self.commands) == 1
                    else self.commands)

    def _when(self):
        parts = []
        if self.nth is not None:
            parts.append('nth=%r' % (sorted(self.nth),))
        if self.rate is not None:
            parts.append('rate=%r' % (self.rate,))
        return ''.join(', ' + part for part in parts)

    def __repr__(self):
        return '%s(%s%s)' % (self.__class__.__name__, self._commands_repr(),
                             self._when())


class Reply(Fault):
    """Answer ``command`` with ``code`` (200-599) and ``text`` (one line or
    a list of lines): a code below 400 accepts the command, any other
    refuses it. A refused 'connect' also ends the connection."""

    #: the codes a reply of this class may have
    CODES = (200, 599)

    def __init__(self, command, code, text, nth=None, rate=None, seed=None):
        Fault.__init__(self, command, nth, rate, seed)
        lowest, highest = self.CODES
        if not isinstance(code, numbers.Integral) or \
                not lowest <= code <= highest:
            raise ValueError('%s: the code must be %d-%d, not %r' % (
                self.__class__.__name__, lowest, highest, code))
        self.code = code
        self.text = text

    def decide(self, hook, args, rest):
        return PolicyDecision(self.code < 400, (self.code, self.text))

    def __repr__(self):
        return '%s(%s, %r, %r%s)' % (
            self.__class__.__name__, self._commands_repr(), self.code,
            self.text, self._when())


class TempFail(Reply):
    """Refuse ``command`` with a temporary failure: by default ``451
    Temporary failure, please try again later`` (``421 ...`` for
    'connect'); ``code``: 400-499."""

    CODES = (400, 499)

    def __init__(self, command, code=None, text=None, nth=None, rate=None,
                 seed=None):
        connect = _command_names(command) == ('connect',)
        if code is None:
            code = 421 if connect else 451
        if text is None:
            text = 'Service not available, try again later' if connect \
                else 'Temporary failure, please try again later'
        Reply.__init__(self, command, code, text, nth, rate, seed)


class Reject(Reply):
    """Refuse ``command`` for good: by default ``550 Rejected`` (``554
    Service not available`` for 'connect'); ``code``: 500-599."""

    CODES = (500, 599)

    def __init__(self, command, code=None, text=None, nth=None, rate=None,
                 seed=None):
        connect = _command_names(command) == ('connect',)
        if code is None:
            code = 554 if connect else 550
        if text is None:
            text = 'Service not available' if connect else 'Rejected'
        Reply.__init__(self, command, code, text, nth, rate, seed)


class Shutdown421(Reply):
    """Answer ``command`` with ``421 Service not available, closing
    transmission channel`` and close the connection: the server going away
    in the middle of a session."""

    def __init__(self, command, text='Service not available, closing '
                 'transmission channel', nth=None, rate=None, seed=None):
        Reply.__init__(self, command, 421, text, nth, rate, seed)

    def decide(self, hook, args, rest):
        decision = Reply.decide(self, hook, args, rest)
        decision._close_connection_after_response = True
        return decision


class Drop(Fault):
    """Close the connection at ``command``: with ``before_reply`` (the
    default) without answering it (the command is not carried out); else
    after the usual reply (the command is decided as without this fault,
    e.g. the message is delivered)."""

    def __init__(self, command, before_reply=True, nth=None, rate=None,
                 seed=None):
        Fault.__init__(self, command, nth, rate, seed)
        self.before_reply = before_reply

    def decide(self, hook, args, rest):
        if self.before_reply:
            decision = PolicyDecision(False)
            decision._close_connection_before_response = True
            return decision
        result = rest()
        decision = as_policy_decision(result)
        if decision is None:
            return result   # not a decision: the server logs the fault
        # a copy: the base policy may hand out the same object again
        closing = PolicyDecision(decision.decision, decision.reply)
        closing._close_connection_before_response = \
            decision.close_connection_before_response()
        closing._close_connection_after_response = True
        return closing

    def __repr__(self):
        return 'Drop(%s, before_reply=%r%s)' % (
            self._commands_repr(), self.before_reply, self._when())


class Delay(Fault):
    """Wait ``seconds`` before ``command`` is decided (as without this
    fault) and answered. ``sleep``: the function that waits (tests pass
    their own)."""

    def __init__(self, command, seconds, nth=None, rate=None, seed=None,
                 sleep=time.sleep):
        Fault.__init__(self, command, nth, rate, seed)
        _require_not_negative('seconds', seconds)
        self.seconds = seconds
        self._sleep = sleep

    def decide(self, hook, args, rest):
        self._sleep(self.seconds)
        return rest()

    def __repr__(self):
        return 'Delay(%s, %r%s)' % (self._commands_repr(), self.seconds,
                                    self._when())


class Greylisting(Fault):
    """Greylisting at RCPT TO: the first attempt of each (client address,
    sender, recipient) gets ``451 4.7.1 Greylisted, please try again
    later``, as does every retry before ``retry_after_seconds`` have passed;
    a retry after that, and every later attempt, is decided as without this
    fault. ``clock``: the time in seconds (tests pass their own). The
    records are kept in memory, per policy instance."""

    def __init__(self, retry_after_seconds=300, clock=time.time,
                 text='4.7.1 Greylisted, please try again later'):
        Fault.__init__(self, 'RCPT TO')
        _require_not_negative('retry_after_seconds', retry_after_seconds)
        self.retry_after_seconds = retry_after_seconds
        self.text = text
        self._clock = clock
        self._first_seen = {}

    def decide(self, hook, args, rest):
        recipient, message = args
        triple = (message.peer.remote_ip, message.smtp_from, recipient)
        now = self._clock()
        with self._lock:
            first_seen = self._first_seen.setdefault(triple, now)
        if now - first_seen < self.retry_after_seconds:
            return PolicyDecision(False, (451, self.text))
        return rest()

    def __repr__(self):
        return 'Greylisting(%r)' % (self.retry_after_seconds,)


def _require_not_negative(name, seconds):
    if not isinstance(seconds, numbers.Real) or seconds < 0:
        raise ValueError('%s must be 0 or more (seconds), not %r'
                         % (name, seconds))


def _decision_method(hook):
    def method(self, *args):
        return self._decide(hook, args)
    method.__name__ = hook
    method.__doc__ = 'Ask the faults of this hook in order, then the base.'
    return method


def _delegated_method(name):
    def method(self, *args):
        return getattr(self.base, name)(*args)
    method.__name__ = name
    method.__doc__ = "The base policy's answer."
    return method


class FaultPolicy(IMTAPolicy):
    """``FaultPolicy(*faults, base=None)``: a policy whose every decision
    asks ``faults`` (``Fault`` instances) in order, then ``base`` (an
    ``IMTAPolicy`` instance; default ``IMTAPolicy()``, which accepts
    everything). The first fault that decides ends the chain; ``Delay``
    and ``Drop(before_reply=False)`` pass it on. The methods no fault acts
    on (``max_message_size``, ``ehlo_lines``, ...) are the base's."""

    def __init__(self, *faults, **options):
        base = options.pop('base', None)
        if options:
            raise TypeError('unexpected keyword arguments: %s' % (
                ', '.join(sorted(options)),))
        for fault in faults:
            if not isinstance(fault, Fault):
                raise TypeError('not a Fault: %r' % (fault,))
        self.faults = faults
        self.base = base if base is not None else IMTAPolicy()

    def _decide(self, hook, args):
        # every fault of the hook counts this call, whichever decides
        acting = [fault for fault in self.faults
                  if hook in fault.hooks and fault.selected()]

        def rest(index):
            if index == len(acting):
                return getattr(self.base, hook)(*args)
            return acting[index].decide(hook, args,
                                        lambda: rest(index + 1))
        return rest(0)

    def __repr__(self):
        return 'FaultPolicy(%s)' % (', '.join(repr(fault)
                                               for fault in self.faults),)


# Every IMTAPolicy method is FaultPolicy's own (none falls back to
# IMTAPolicy's default instead of the base's answer).
for _hook in set(hook for hooks in COMMAND_HOOKS.values() for hook in hooks):
    setattr(FaultPolicy, _hook, _decision_method(_hook))
for _name in _PLAIN_METHODS:
    setattr(FaultPolicy, _name, _delegated_method(_name))
del _hook, _name
