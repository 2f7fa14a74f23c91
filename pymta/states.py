# -*- coding: utf-8 -*-
"""The state table of the SMTP dialogue: which command may come when, and
where it leads.

Theory of operation
-------------------
A connection starts in ``new``; the greeting (``GREET``) leads to
``greeted``, HELO or EHLO to ``initialized``. A mail transaction is MAIL
FROM (``sender_known``), one or more RCPT TO (``recipient_known``), DATA
(``receiving_message``) and the end of the message data (``MSGDATA``), after
which the session is *ready* for the next transaction. RSET also makes it
ready; NOOP and HELP change nothing; QUIT ends it (``finished``).

Flags ride along, set by a command that succeeded: ``esmtp`` (by EHLO:
only then are AUTH and extensions allowed), ``authenticated`` (by AUTH:
*ready* then means ``authenticated`` instead of ``initialized``, so another
AUTH is out of order) and ``tls`` (by the end of the TLS handshake that
STARTTLS starts, in ``starting_tls``; the dialogue then starts again at
``greeted``, ``esmtp`` cleared, as RFC 3207 wants).

The state also chooses how the client's next octets are read (``READERS``):
a command line, the message data (``receiving_message``, until
``<CRLF>.<CRLF>``) or one line of an AUTH exchange. AUTH LOGIN's has
two states of its own: AUTH LOGIN leads to ``auth_login_username`` (no
initial response) and the user name line (``USERNAME``) to
``auth_login_password``; the password line ends it (``CREDENTIALS_OK`` or
``CREDENTIALS_BAD``), and so does a cancelled or unreadable line
(``CANCEL``). AUTH CRAM-MD5 leads to ``auth_cram_md5_response``, where
the client's one line (the answer to the challenge) ends the exchange the
same ways. A failed AUTH is back where it started: ``initialized``. (To
the legacy API the exchange happens inside the AUTH command, so
``state()`` calls the exchange states ``initialized``; ``current()``
names them.)

A command the table does not allow in the current state gets a 503 and
changes nothing. ``render()`` writes the table as text; docs/state-table.txt
is its output (a test keeps it current).
"""

from __future__ import absolute_import

from .commands import COMMANDS
from .statemachine import StateMachine


__all__ = ['build_state_machine', 'reader_of', 'render', 'COMMAND_LINE',
           'MESSAGE_DATA', 'AUTH_LINE', 'AUTH_EXCHANGE_STATES']

#: not a state: "where HELO/EHLO (and AUTH) left the session":
#: ``authenticated`` after a successful AUTH, else ``initialized``
READY = 'READY'
#: not a state: the state the command was sent in
SAME = 'SAME'

#: state -> {command: next state}
TRANSITIONS = {
    'new':               {'GREET': 'greeted'},
    'greeted':           {'HELO': 'initialized',
                          'EHLO': 'initialized',
                          'RSET': 'greeted'},
    'initialized':       {'AUTH PLAIN': 'authenticated',
                          'AUTH LOGIN': 'auth_login_username',
                          'AUTH CRAM-MD5': 'auth_cram_md5_response',
                          'STARTTLS': 'starting_tls',
                          'MAIL FROM': 'sender_known',
                          'RSET': 'initialized'},
    'auth_login_username': {'USERNAME': 'auth_login_password',
                            'CANCEL': 'initialized'},
    'auth_login_password': {'CREDENTIALS_OK': 'authenticated',
                            'CREDENTIALS_BAD': 'initialized',
                            'CANCEL': 'initialized'},
    'auth_cram_md5_response': {'CREDENTIALS_OK': 'authenticated',
                               'CREDENTIALS_BAD': 'initialized',
                               'CANCEL': 'initialized'},
    # (the client says EHLO again over TLS)
    'starting_tls':      {'TLS_STARTED': 'greeted'},
    'authenticated':     {'MAIL FROM': 'sender_known',
                          'RSET': 'authenticated'},
    'sender_known':      {'RCPT TO': 'recipient_known',
                          'RSET': READY},
    'recipient_known':   {'RCPT TO': 'recipient_known',
                          'DATA': 'receiving_message',
                          'BDAT': 'receiving_chunk',
                          'RSET': READY},
    # (CHUNKING: BDAT <size> [LAST]; the last chunk ends the transaction)
    'receiving_chunk':   {'CHUNK': 'chunks_received',
                          'LAST_CHUNK': READY},
    'chunks_received':   {'BDAT': 'receiving_chunk',
                          'RSET': READY},
    # (the end of the data ends the transaction, accepted or not)
    'receiving_message': {'MSGDATA': READY,
                          'RSET': READY},
}

#: commands allowed in every state but ``new``, ``finished`` and the AUTH
#: LOGIN exchange (whose lines are credentials, not commands). A declared
#: command (``pymta.commands``) that no row of TRANSITIONS names is one of
#: them too, leaving the state as it is (NOOP, HELP): a new command that
#: changes nothing needs no row here.
IN_EVERY_STATE = {'QUIT': 'finished'}

#: how the client's next octets are read
COMMAND_LINE = 'command line'
MESSAGE_DATA = 'message data'
AUTH_LINE = 'AUTH line'
#: nothing more is read in the clear: the driver does the TLS handshake
TLS_HANDSHAKE = 'TLS handshake'
#: the octets of a BDAT chunk (their number is the dialogue's
#: ``chunk_size``)
CHUNK_DATA = 'chunk data'
#: the same, thrown away: the chunk of a refused BDAT (the dialogue sets
#: this reader itself, in any state, and takes it back afterwards)
SKIPPED_CHUNK = 'skipped chunk'

#: state -> its reader, where it is not COMMAND_LINE
READERS = {'receiving_message': MESSAGE_DATA,
           'auth_login_username': AUTH_LINE,
           'auth_login_password': AUTH_LINE,
           'auth_cram_md5_response': AUTH_LINE,
           'starting_tls': TLS_HANDSHAKE,
           'receiving_chunk': CHUNK_DATA}

#: the steps that happen without a command line from the client
INTERNAL_STEPS = frozenset(['GREET', 'MSGDATA', 'USERNAME', 'CREDENTIALS_OK',
                            'CREDENTIALS_BAD', 'CANCEL', 'TLS_STARTED',
                            'CHUNK', 'LAST_CHUNK'])

#: command -> what must hold for it: a flag that must be set (``'esmtp'``)
#: or not (``'not tls'``)
REQUIRES = {'AUTH PLAIN': ('esmtp',), 'AUTH LOGIN': ('esmtp',),
            'AUTH CRAM-MD5': ('esmtp',),
            'STARTTLS': ('esmtp', 'not tls'), 'BDAT': ('esmtp',)}

#: command -> the flag it sets when it succeeds
SETS = {'EHLO': 'esmtp', 'AUTH PLAIN': 'authenticated',
        'CREDENTIALS_OK': 'authenticated', 'TLS_STARTED': 'tls'}

#: command -> the flags it clears (over TLS the client starts afresh)
CLEARS = {'TLS_STARTED': ('esmtp',)}

#: what READY stands for: (next state, the condition for it)
_READY_STATES = (('initialized', 'if_not_authenticated'),
                 ('authenticated', 'if_authenticated'))


def _rows():
    """``(state, command, next state)`` for every transition, READY and
    SAME left as they are, in a stable order."""
    for state in sorted(TRANSITIONS, key=_state_order):
        for command in sorted(TRANSITIONS[state]):
            yield state, command, TRANSITIONS[state][command]
        if state != 'new' and state not in _READS_NO_COMMANDS:
            anywhere = in_every_state()
            for command in sorted(anywhere):
                yield state, command, anywhere[command]


def in_every_state():
    """IN_EVERY_STATE with every declared command that no row names."""
    named = set()
    for commands in TRANSITIONS.values():
        named.update(commands)
    anywhere = dict((name, SAME) for name in COMMANDS
                    if name not in named and name not in IN_EVERY_STATE)
    anywhere.update(IN_EVERY_STATE)
    return anywhere


#: the states of an AUTH exchange (AUTH LOGIN, CRAM-MD5): the client's
#: lines are credentials, not commands
AUTH_EXCHANGE_STATES = ('auth_login_username', 'auth_login_password',
                        'auth_cram_md5_response')
#: the states in which the client sends no commands
_READS_NO_COMMANDS = AUTH_EXCHANGE_STATES + ('starting_tls',
                                             'receiving_chunk')


class DialogueStateMachine(StateMachine):
    """The dialogue's machine: ``current()`` is the table's state;
    ``state()`` is what SPEC section 4 calls it (the AUTH LOGIN exchange
    happens inside the AUTH command, before the state moves: its states
    read as ``initialized``)."""

    def current(self):
        return self._state

    def move(self, step):
        """Take the transition for ``step``; the reader of the new state."""
        return READERS.get(self.execute(step), COMMAND_LINE)

    def state(self):
        state = StateMachine.state(self)
        if state in AUTH_EXCHANGE_STATES:
            return 'initialized'
        return state


def reader_of(state):
    """How the client's next octets are read in ``state``."""
    return READERS.get(state, COMMAND_LINE)


def _state_order(state):
    order = ('new', 'greeted', 'initialized', 'auth_login_username',
             'auth_login_password', 'auth_cram_md5_response',
             'starting_tls', 'authenticated',
             'sender_known', 'recipient_known', 'receiving_chunk',
             'chunks_received',
             'receiving_message')
    return order.index(state) if state in order else len(order)


def build_state_machine():
    """A ``DialogueStateMachine`` in state ``new`` with this table (the generic
    machine of SPEC section 5 runs it: conditions and flags become its
    ``if_<flag>`` conditions and ``set_<flag>``/``clear_<flag>``
    operations)."""
    machine = DialogueStateMachine(initial_state='new')
    for state, command, target in _rows():
        operations = tuple('clear_' + flag for flag in CLEARS.get(command, ()))
        if command in SETS:
            operations += ('set_' + SETS[command],)
        conditions = tuple('if_' + required.replace('not ', 'not_')
                           for required in REQUIRES.get(command, ()))
        condition = conditions[0] if len(conditions) == 1 else \
            (conditions or None)
        if target == SAME:
            target = state
        if target == READY:
            for ready_state, ready_condition in _READY_STATES:
                machine.add(state, ready_state, command,
                            operations=operations, condition=ready_condition)
        else:
            machine.add(state, target, command, operations=operations,
                        condition=condition)
    return machine


def render():
    """The table as text, one line per transition (docs/state-table.txt)."""
    lines = ['# The SMTP dialogue of pymta: state, command -> next state',
             '# (generated by pymta.states.render(); READY: "initialized",',
             '# or "authenticated" after a successful AUTH)', '',
             '# How the next input is read: %s, unless' % COMMAND_LINE]
    for state in sorted(READERS, key=_state_order):
        lines.append('#   %s: %s' % (state, READERS[state]))
    lines.append('')
    width = max(len(state) for state in TRANSITIONS)
    for state, command, target in _rows():
        if target == SAME:
            target = state
        notes = []
        if command in REQUIRES:
            notes.append('if %s' % ' and '.join(REQUIRES[command]))
        if command in CLEARS:
            notes.append('clears %s' % ', '.join(CLEARS[command]))
        if command in SETS:
            notes.append('sets %s' % SETS[command])
        note = ('   (%s)' % ', '.join(notes)) if notes else ''
        lines.append('%-*s  %-15s -> %s%s' % (width, state, command, target,
                                               note))
    return '\n'.join(lines) + '\n'
