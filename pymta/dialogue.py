# -*- coding: utf-8 -*-
"""The SMTP dialogue of one connection, sans I/O: commands in, replies out.

Theory of operation
-------------------
A ``Dialogue`` is told what the client sent, one step at a time: a command
line already split into command and argument (``command``), the end of the
message data (``message``, or ``message_too_big``), a line of an AUTH
exchange (``auth_line``: AUTH LOGIN, CRAM-MD5), a line it could not read
(``line_too_long``). It appends its replies, ``(code, text)``, to
``replies`` and calls nothing back: whoever drives it
(``pymta.connection.SMTPConnection`` on the wire, the legacy
``SMTPSession`` in tests) takes them from there. Its state
(``pymta.states``) says how the client's next octets are to be read
(``reader``), and ``is_closed`` that the connection ends after the replies.

Every command goes through the same four steps:

1. Is it a command at all (``pymta.commands``)?  no -> 500 (504 for an
                                        unknown AUTH mechanism, 501 for a
                                        verb without its keyword)
2. Does the state table (``pymta.states``) allow it now?  no -> 503
3. Does its schema accept the argument?  no -> 501
4. Its handler (named in its declaration) does the command's own work and
   hands the policy question to ``_decide``, the one path of every policy
   decision: ask the hook, close before the reply if told so, on accept
   move the state along, send the policy's custom reply or the default one
   (``pymta.replies``), close after the reply if told so.

Steps 1 to 3 change nothing when they refuse.

A policy, deliverer or authenticator that raises (or a policy that returns
something it may not) is a server-side fault: it is logged to the ``pymta``
logger, the client gets a 451 and the dialogue stays where it was.

Client input quoted in a reply (the 500, the 503, pycerberus' 501 texts)
goes through ``replies.printable``. Every reply passes ``reply`` or
``multiline_reply``, which count the errors (500, 501, 503, 504) against
``max_errors`` and bad credentials (``535 Bad username or password``)
against ``max_auth_failures``.
"""

from __future__ import absolute_import

import logging

from pycerberus.errors import InvalidDataError

from .api import IMTAPolicy, PolicyDecision
from .commands import CARRY_OCTETS, COMMANDS, EXTENSIONS, \
    VERBS_WITH_KEYWORD, usage_of, verbs_with
from .compat import b64decode, b64encode, basestring, wire_bytes
from .cram_md5 import new_challenge
from .decisions import as_policy_decision
from .message_octets import text_size_of
from .model import Message, Peer
from .replies import SYNTAX_ERROR_CODE, enhanced_reply_for, printable, \
    reply_for, with_enhanced_code
from .states import AUTH_EXCHANGE_STATES, CHUNK_DATA, COMMAND_LINE, \
    INTERNAL_STEPS, SKIPPED_CHUNK, build_state_machine, reader_of
from .validation import CramMd5ResponseSchema, \
    SMTPCommandArgumentsSchema, chunk_size_of, mail_from_schema, \
    rcpt_to_schema


__all__ = ['Dialogue', 'MESSAGE_ACCEPTED']

log = logging.getLogger('pymta')

#: the event of a message the deliverer took: ``(MESSAGE_ACCEPTED, message)``
MESSAGE_ACCEPTED = 'message accepted'

# The replies that count as the client's errors (``max_errors``): unknown
# command or line too long (500), bad syntax (501), out of order (503),
# unknown AUTH mechanism (504).
_ERROR_CODES = (500, 501, 503, 504)
# The reply that counts as an AUTH failure (``max_auth_failures``).
_AUTH_FAILED = reply_for('auth_failed')
_CRAM_MD5 = 'AUTH CRAM-MD5'
# (RFC 2034: the greeting and the replies to HELO/EHLO carry no enhanced
# code, a policy's own as little as the default ones)
_WITHOUT_ENHANCED_CODES = ('accept_new_connection', 'accept_helo',
                           'accept_ehlo')


class _ServerFault(Exception):
    """A policy, deliverer or authenticator failed: answer 451."""


class Dialogue(object):
    """One SMTP connection's dialogue: state, policy decisions and replies.

    ``deliverer`` receives accepted messages; ``policy`` (an ``IMTAPolicy``)
    and ``authenticator`` (an ``IAuthenticator``) are optional.
    ``hostname``: the server's name in replies.

    ``max_errors``: after this many error replies (every 500, 501, 503 and
    504 sent, a policy's custom reply with such a code too) the client gets
    ``421 4.7.0 <host> Error: too many errors`` and the connection is
    closed. ``max_auth_failures``: the same for AUTH attempts with bad
    credentials (``535 Bad username or password``), with ``421 4.7.0 <host>
    Error: too many authentication failures``. None (the default): no
    limit. ``extensions``: the names of the SMTP extensions that are on.
    ``require_tls``: None; ``'auth'``: AUTH only over TLS (before, it is
    not offered and gets ``538 5.7.11 ...``); ``'all'``: MAIL too
    (``530 5.7.0 Must issue a STARTTLS command first``).

    Output: ``replies`` (``(code, text)``, ``text`` one line or a list of
    lines, the very list a policy returned), ``events`` (a
    ``(MESSAGE_ACCEPTED, message)`` for every message delivered),
    ``reader``, ``is_closed``; ``max_message_size`` is the policy's limit
    as it was at the greeting (None: none).
    """

    # Built once per class, on first use: the state table and the schemas
    # hold no per-connection state.
    _state_machine_template = None
    _schemas = None
    _cram_md5_schema = None

    # What a connection starts with (class attributes: most connections
    # never change them, and each instance attribute costs its set-up).
    #: the SMTP extensions that are on (names)
    extensions = frozenset()
    # (AUTH CRAM-MD5 too: it exists only where the authenticator can
    # check an answer)
    _commands_off = frozenset([_CRAM_MD5] + [
        name for name, command in COMMANDS.items()
        if command.extension is not None])
    _auth_needs_tls = False
    _mail_needs_tls = False
    _smtputf8 = False
    #: None, or for TLS ``{'version': ..., 'cipher': ...}``
    tls = None
    #: the octets of the BDAT chunk to read now (reader CHUNK_DATA or
    #: SKIPPED_CHUNK), whether it is the last one, and its number in its
    #: message (1: the first)
    chunk_size = 0
    chunk_is_last = False
    chunk_number = 0
    #: the default replies (with ENHANCEDSTATUSCODES: with their codes)
    _reply_for = staticmethod(reply_for)
    _enhanced_codes = False
    #: CRAM-MD5: ``hostname -> challenge`` (tests replace it for a fixed
    #: challenge), and the challenge of the exchange in progress
    cram_md5_challenge = staticmethod(new_challenge)
    _challenge = None

    def __init__(self, deliverer, policy=None, authenticator=None,
                 hostname='localhost', max_errors=None,
                 max_auth_failures=None, extensions=(), require_tls=None):
        self._deliverer = deliverer
        self._policy = policy
        self._authenticator = authenticator
        self.hostname = hostname
        self._max_errors = max_errors
        self._max_auth_failures = max_auth_failures
        can_cram_md5 = getattr(authenticator, 'authenticate_cram_md5',
                               None) is not None
        if extensions:
            if 'SMTPUTF8' in extensions:
                # (RFC 6531: a server with SMTPUTF8 has 8BITMIME too)
                extensions = set(extensions) | set(['8BITMIME'])
                self._smtputf8 = True
            self.extensions = frozenset(extensions)
            self._schemas = self.__class__._schemas_for(self.extensions)
            if 'ENHANCEDSTATUSCODES' in self.extensions:
                self._reply_for = enhanced_reply_for
                self._enhanced_codes = True
        if extensions or can_cram_md5:
            self._commands_off = _commands_off(self.extensions, can_cram_md5)
        if require_tls is not None:
            self._auth_needs_tls = require_tls in ('auth', 'all')
            self._mail_needs_tls = require_tls == 'all'
        self._errors = 0
        self._auth_failures = 0
        cls = self.__class__
        if cls.__dict__.get('_state_machine_template') is None:
            cls.build_tables()
        self.state = cls._state_machine_template.copy(initial_state='new')
        self.reader = COMMAND_LINE
        self.replies = []
        self.events = []
        self.is_closed = False
        self.max_message_size = None
        self._peer = None
        self._message = None
        # the user name of the AUTH LOGIN exchange in progress
        self._auth_username = None

    @classmethod
    def _schemas_for(cls, extensions):
        """The argument schemas where ``extensions`` are on (built once
        per set)."""
        if cls.__dict__.get('_state_machine_template') is None:
            cls.build_tables()
        by_extensions = cls.__dict__.get('_schemas_by_extensions')
        if by_extensions is None:
            by_extensions = cls._schemas_by_extensions = {}
        schemas = by_extensions.get(extensions)
        if schemas is None:
            schemas = dict(cls._schemas)
            schemas['MAIL FROM'] = mail_from_schema(extensions)
            schemas['RCPT TO'] = rcpt_to_schema(extensions)
            by_extensions[extensions] = schemas
        return schemas

    @classmethod
    def build_tables(cls):
        """Build the class's state machine and argument schemas now rather
        than for its first connection. A forking server calls it before it
        forks, so that its workers share them instead of each building its
        own for its first client."""
        if cls.__dict__.get('_state_machine_template') is None:
            template = build_state_machine()
            cls._schemas = dict((name, command.schema())
                                for name, command in COMMANDS.items()
                                if command.schema is not None)
            cls._cram_md5_schema = CramMd5ResponseSchema()
            # the template last: it tells the other threads (the threaded
            # serial path) that everything is built (two may build it all)
            cls._state_machine_template = template

    # --- what the client did ----------------------------------------------
    def greet(self, remote_ip, remote_port, tls=None):
        """A client connected: run the connection policy, greet it.
        ``tls``: ``(version, cipher)`` if the connection is TLS from the
        start (implicit TLS)."""
        self._peer = Peer(remote_ip, remote_port)
        self._message = Message(self._peer)
        if tls is not None:
            self.tls = self._message.tls = {'version': tls[0],
                                            'cipher': tls[1]}
            self.state.set_flag('tls')

        def greet():
            self.max_message_size = self._max_message_size()
            self._move('GREET')
        try:
            self._decide('accept_new_connection', (self._peer,),
                         self._reply_for('greeting', host=self.hostname,
                                   ip=remote_ip),
                         'service_unavailable', greet,
                         close_if_rejected=True)
        except _ServerFault:
            self._send(self._reply_for('internal_error'))
            self.close()

    def command(self, smtp_command, data=None):
        """One command line: ``smtp_command`` as the client spelled it
        (``'mail from'``), ``data`` its argument string or None."""
        if self.is_closed:
            return
        name = smtp_command.upper()
        command = COMMANDS.get(name)
        if command is None:
            # Only other spacing ('mail  from', ' NOOP') needs normalising;
            # a name that is known already is normalised.
            name = ' '.join(name.split())
            command = COMMANDS.get(name)
        if command is None or name in self._commands_off:
            self._reply_to_unknown_command(smtp_command, name)
            return
        if not self.state.can_execute(name):
            self._reply_not_allowed(smtp_command)
            self._skip_octets_of(name, data)
            return
        schema = self._schemas.get(name)
        if schema is None:
            arguments = data
        elif not data and schema.__class__ is SMTPCommandArgumentsSchema:
            # No argument where none is expected: nothing to validate.
            arguments = {}
        else:
            try:
                context = {'esmtp': self.state.is_set('esmtp')}
                if self._smtputf8:
                    context['smtputf8'] = self._utf8_addresses(name, data)
                arguments = schema.process(data, context=context)
            except InvalidDataError as e:
                # (pycerberus' texts quote the arguments)
                self.reply(501, self._enhanced(501, printable(e.msg()),
                                               SYNTAX_ERROR_CODE))
                self._skip_octets_of(name, data)
                return
        if command.verb != 'AUTH':
            # (credentials stay out of what deliverers see)
            self._message.unvalidated_input[name] = data
        try:
            getattr(self, command.handler)(command, arguments)
        except _ServerFault:
            self._send(self._reply_for('internal_error'))
            if self.reader is not CHUNK_DATA:
                self._skip_octets_of(name, data)

    def _utf8_addresses(self, name, data):
        """May the addresses of this MAIL FROM or RCPT TO be UTF-8
        (SMTPUTF8: MAIL FROM says so with the keyword SMTPUTF8, for the
        whole transaction)?"""
        if name == 'MAIL FROM':
            return 'SMTPUTF8' in (data or '').upper().split()[1:]
        if name == 'RCPT TO':
            return bool(self._message.mail_options.get('smtputf8'))
        return False

    def _skip_octets_of(self, name, data):
        """A refused command that octets follow (BDAT): read and throw
        them away, so they are not taken for commands."""
        if name not in CARRY_OCTETS or name in self._commands_off or \
                self.is_closed:
            return
        size = chunk_size_of(data)
        if size:
            self.chunk_size = size
            self.chunk_is_last = False
            self.reader = SKIPPED_CHUNK

    def last_chunk(self, msg_data, msg_bytes=None):
        """The last BDAT chunk arrived: ``msg_data`` is the text of all
        the chunks, ``msg_bytes`` their octets (see ``message``)."""
        self.message(msg_data, 'LAST_CHUNK', msg_bytes)

    def chunk(self):
        """A BDAT chunk that is not the last arrived (its octets are the
        connection's)."""
        if self.is_closed:
            return
        size = self.chunk_size
        self.chunk_size = 0
        self._move('CHUNK')
        self._send(self._reply_for('chunk_ok', octets=size))

    def chunk_skipped(self):
        """The octets of a refused BDAT were read: read as the state says
        again."""
        self.chunk_size = 0
        self.reader = reader_of(self.state.current())

    def chunks_too_big(self):
        """The chunks so far are more than the maximum message size (the
        connection read the whole chunk): the transaction ends with a
        552."""
        self.chunk_size = 0
        self.message_too_big('LAST_CHUNK')

    def message(self, msg_data, step='MSGDATA', msg_bytes=None):
        """The end of the message data: ``msg_data`` is the message text
        (``step``: the end of DATA, or of the last BDAT chunk).
        ``msg_bytes``: the octets as received (``Message.msg_bytes``) where
        known; either may be None, to be derived from the other."""
        if self.is_closed:
            return
        if not self.state.can_execute(step):
            self._reply_not_allowed(step)
            return
        try:
            max_size = self._max_message_size()
            if msg_data is None and msg_bytes is not None:
                # (the text's size counted on the octets: no copy made)
                is_too_big = max_size is not None and \
                    text_size_of(msg_bytes) > max_size
            else:
                is_too_big = _is_longer_than(msg_data, max_size)
        except _ServerFault:
            self._end_transaction(step)
            self._send(self._reply_for('internal_error'))
            return
        if is_too_big:
            # (data handed in directly; on the wire the reader stops it)
            self.message_too_big(step)
            return
        message = self._message
        message.msg_data = msg_data
        if msg_bytes is not None:
            message.msg_bytes = msg_bytes
            if _reads_msgdata(self._policy):
                # The text is made only for a policy that reads it: making
                # it takes a third copy of the message for a moment.
                msg_data = message.msg_data
        self._end_transaction(step)
        try:
            self._decide('accept_msgdata', (msg_data, message),
                         self._reply_for('ok'), 'content_not_acceptable',
                         lambda: self._deliver(message))
        except _ServerFault:
            self._send(self._reply_for('internal_error'))

    def message_too_big(self, step='MSGDATA'):
        """The message data was larger than the maximum message size: the
        transaction ends (``step``: DATA's end, or the last BDAT chunk's)
        with a 552."""
        self._end_transaction(step)
        self._send(self._reply_for('message_too_big'))

    def auth_line(self, line):
        """One line of an AUTH exchange: the base64 user name or password
        of AUTH LOGIN, the base64 answer to the CRAM-MD5 challenge, or
        ``*`` to cancel."""
        if self.is_closed:
            return
        state = self.state.current()
        in_exchange = state in AUTH_EXCHANGE_STATES
        token = line.strip()
        if token == '*' and in_exchange:
            self._move('CANCEL')
            self._send(self._reply_for('auth_cancelled'))
            return
        if state == 'auth_cram_md5_response':
            self._cram_md5_answer(token)
            return
        try:
            value = b64decode(token)
        except ValueError:
            if in_exchange:
                self._move('CANCEL')
            self._send(self._reply_for('garbled'))
            return
        if not in_exchange:
            self._send(self._reply_for('auth_not_in_progress'))
            return
        if state == 'auth_login_username':
            self._auth_username = value
            self._move('USERNAME')
            self._send(self._reply_for('auth_password_prompt'))
            return
        username, self._auth_username = self._auth_username, None
        try:
            is_valid = self._check_credentials(username, value)
        except _ServerFault:
            self._move('CANCEL')
            self._send(self._reply_for('internal_error'))
            return
        self._end_exchange(is_valid, 'LOGIN', username, password=value)

    def line_too_long(self):
        """The client sent a line over the limit: 500; an AUTH exchange
        cannot go on without it (the client may start AUTH again)."""
        self.reply(*self._reply_for('line_too_long'))
        self.cancel_auth_login()

    def cancel_auth_login(self):
        """End an AUTH exchange in progress (AUTH LOGIN, CRAM-MD5),
        without a reply."""
        if not self.is_closed and \
                self.state.current() in AUTH_EXCHANGE_STATES:
            self._auth_username = self._challenge = None
            self._move('CANCEL')

    # --- replies and connection -----------------------------------------
    def reply(self, code, text):
        """Send one reply line."""
        self.replies.append((code, text))
        if code in _ERROR_CODES:
            self._count_error()
        elif code == 535 and text is not None and \
                text.endswith(_AUTH_FAILED[1]):
            self._count_auth_failure()

    def multiline_reply(self, code, lines):
        """Send a reply of several lines."""
        self.replies.append((code, lines))
        if code in _ERROR_CODES:
            self._count_error()

    def close(self):
        """End the connection once the replies so far are sent."""
        if self.is_closed:
            return
        self.is_closed = True
        self._auth_username = self._challenge = None
        # (the reader stays: input after the close is not read at all)
        self.state.set_state('finished')

    def take_replies(self):
        """The replies since the last call."""
        replies = self.replies
        self.replies = []
        return replies

    def _move(self, step):
        """Take the table's transition for ``step``; the new state picks the
        reader."""
        self.reader = self.state.move(step)

    def _enhanced(self, code, text, enhanced_code):
        """``text`` with ``enhanced_code`` where ENHANCEDSTATUSCODES is
        on."""
        if not self._enhanced_codes:
            return text
        return with_enhanced_code(code, text, enhanced_code)

    def _count_error(self):
        """An error reply was sent (every one passes here): enforce
        ``max_errors``."""
        self._errors += 1
        if self._max_errors is not None and \
                self._errors >= self._max_errors and not self.is_closed:
            self._send(self._reply_for('too_many_errors', host=self.hostname))
            self.close()

    def _count_auth_failure(self):
        """AUTH with bad credentials was answered: enforce
        ``max_auth_failures``."""
        self._auth_failures += 1
        if self._max_auth_failures is not None and \
                self._auth_failures >= self._max_auth_failures and \
                not self.is_closed:
            self._send(self._reply_for('too_many_auth_failures',
                                 host=self.hostname))
            self.close()

    def _send(self, reply):
        code, text = reply
        if isinstance(text, basestring):
            self.reply(code, text)
        elif len(text) == 1:
            self.reply(code, text[0])
        else:
            # the very list or tuple the policy returned: legacy suites
            # compare what MockCommandParser recorded with it
            self.multiline_reply(code, text)

    # --- introspection ----------------------------------------------------
    @property
    def authenticated_as(self):
        """``(mechanism, username)`` once AUTH succeeded, else None."""
        message = self._message
        if message is None or message.auth_mechanism is None:
            return None
        return message.auth_mechanism, message.username

    def uses_esmtp(self):
        return self.state.is_set('esmtp')

    def get_ehlo_lines(self):
        """The extension lines of the EHLO reply (without hostname and
        HELP)."""
        if self._policy is None:
            lines = ['AUTH PLAIN'] if self._authenticator is not None else []
        else:
            lines = list(self._call_policy('ehlo_lines', self._peer))
        if self._auth_needs_tls and self.tls is None:
            lines = [line for line in lines
                     if line.split()[:1] != ['AUTH']]
        return lines

    def get_all_allowed_internal_commands(self):
        return self.state.allowed_actions() - self._commands_off

    def get_all_allowed_smtp_commands(self):
        return self.state.allowed_actions() - INTERNAL_STEPS - \
            self._commands_off

    # --- asking the policy ------------------------------------------------
    def _max_message_size(self):
        """What the policy says now (legacy suites replace ``_policy``
        after the connection started)."""
        return self._call_policy('max_message_size', self._peer)

    def _call_policy(self, method_name, *args):
        if self._policy is None:
            return getattr(_DEFAULTS_WITHOUT_POLICY, method_name)(*args)
        try:
            return getattr(self._policy, method_name)(*args)
        except Exception:
            log.exception('policy method %s raised', method_name)
            raise _ServerFault()

    def _ask_policy(self, method_name, *args):
        """The policy's answer as a PolicyDecision."""
        if self._policy is None:
            return PolicyDecision(True)
        result = self._call_policy(method_name, *args)
        decision = as_policy_decision(result)
        if decision is None:
            log.error('policy method %s returned %r, which is not a decision',
                      method_name, result)
            raise _ServerFault()
        return decision

    def _decide(self, hook, args, accepted, rejected, on_accept=None,
                close_if_rejected=False):
        """The one path of every policy decision. Ask the policy's ``hook``
        (with ``args``); if the decision says close before the reply, close;
        if it accepts, run ``on_accept`` (which may return a reply that
        replaces the accepted one: AUTH's 535 for bad credentials); send
        the policy's custom reply or the default (``accepted``, a reply;
        ``rejected``, the name of one: built only when needed); close if the
        decision says so, or it rejected and ``close_if_rejected``.
        ``accepted`` None: nothing is sent on accept (BDAT: the reply comes
        after the chunk; a custom reply to accept is not sent)."""
        if self._policy is None:
            # Without a policy every command is accepted with its default
            # reply: no decision to build and ask.
            reply = on_accept() if on_accept is not None else None
            reply = reply or accepted
            if reply is not None:
                self._send(reply)
            return
        decision = self._ask_policy(hook, *args)
        if decision.close_connection_before_response():
            self.close()
            return
        is_accepted = decision.is_command_acceptable()
        if is_accepted:
            reply = on_accept() if on_accept is not None else None
            if reply is None and accepted is not None:
                reply = decision.get_custom_reply() \
                    if decision.use_custom_reply() else accepted
        else:
            reply = decision.get_custom_reply() \
                if decision.use_custom_reply() else self._reply_for(rejected)
        if reply is not None:
            if self._enhanced_codes and hook not in _WITHOUT_ENHANCED_CODES \
                    and decision.use_custom_reply() and \
                    reply is decision.get_custom_reply():
                reply = (reply[0], with_enhanced_code(*reply))
            self._send(reply)
        if decision.close_connection_after_response() or \
                (close_if_rejected and not is_accepted):
            self.close()

    # --- the commands (declared in pymta.commands) ---------------------
    def smtp_helo(self, command, arguments):
        helo = arguments['helo']

        def accept():
            self._message.smtp_helo = helo
            self._move(command.name)
        self._decide(command.hook, (helo, self._message),
                     self._reply_for(command.accepted, host=self.hostname),
                     command.rejected, accept)

    def smtp_ehlo(self, command, arguments):
        helo = arguments['helo']
        lines = [self.hostname] + self.get_ehlo_lines()
        if self.extensions:
            lines.extend(extension for extension in EXTENSIONS
                         if extension in self.extensions and not (
                             extension == 'STARTTLS' and
                             self.tls is not None))
        lines.append('HELP')

        def accept():
            self._message.smtp_helo = helo
            self._move(command.name)
        self._decide(command.hook, (helo, self._message),
                     (self._reply_for(command.accepted)[0], lines),
                     command.rejected, accept)

    def _auth_refused(self):
        """AUTH cannot be: the 535 or 538 sent; else False."""
        if self._auth_needs_tls and self.tls is None:
            self._send(self._reply_for('auth_needs_tls'))
            return True
        if self._authenticator is None:
            self._send(self._reply_for('auth_not_available'))
            return True
        return False

    def smtp_auth_plain(self, command, arguments):
        if self._auth_refused():
            return
        username, password = arguments['username'], arguments['password']

        def authenticate():
            if not self._check_credentials(username, password):
                return self._reply_for('auth_failed')
            self._move(command.name)
            self._authenticated('PLAIN', username, password=password)
            return None
        self._decide(command.hook, (username, password, self._message),
                     self._reply_for(command.accepted), command.rejected,
                     authenticate)

    def smtp_auth_login(self, command, arguments):
        if self._auth_refused():
            return
        username = arguments['username']

        def start_exchange():
            self._move(command.name)
            if username is not None:
                self._auth_username = username
                self._move('USERNAME')
        # The prompt is the accepted reply here (a custom reply replaces
        # it); the exchange's last reply is the default one.
        prompt = 'auth_username_prompt' if username is None \
            else 'auth_password_prompt'
        self._decide(command.hook, (username, self._message),
                     self._reply_for(prompt), command.rejected, start_exchange)

    def smtp_auth_cram_md5(self, command, arguments):
        if self._auth_refused():
            return

        def send_challenge():
            self._move(command.name)
            self._challenge = self.cram_md5_challenge(self.hostname)
            # (the client needs this very challenge: a policy's custom
            # reply to accept is not sent)
            return self._reply_for('auth_challenge',
                                   challenge=b64encode(self._challenge))
        self._decide(command.hook, (self._message,), None, command.rejected,
                     send_challenge)

    def _cram_md5_answer(self, line):
        """The client's answer to the CRAM-MD5 challenge (not ``*``)."""
        challenge, self._challenge = self._challenge, None
        try:
            answer = self._cram_md5_schema.process(line, context={})
        except InvalidDataError:
            self._move('CANCEL')
            self._send(self._reply_for('garbled'))
            return
        username, digest = answer['username'], answer['digest']
        try:
            is_valid = self._authenticator.authenticate_cram_md5(
                username, challenge, digest, self._peer)
        except Exception:
            log.exception('authenticator raised')
            self._move('CANCEL')
            self._send(self._reply_for('internal_error'))
            return
        self._end_exchange(is_valid, 'CRAM-MD5', username, cram_md5={
            'challenge': challenge, 'digest': digest})

    def _end_exchange(self, is_valid, mechanism, username, **secrets):
        """The credentials of an AUTH exchange were checked."""
        if not is_valid:
            self._move('CREDENTIALS_BAD')
            self._send(self._reply_for('auth_failed'))
            return
        self._move('CREDENTIALS_OK')
        self._authenticated(mechanism, username, **secrets)
        self._send(self._reply_for('auth_ok'))

    def _authenticated(self, mechanism, username, password=None,
                       cram_md5=None):
        """AUTH succeeded: the facts go on the message (the password or the
        CRAM-MD5 answer only where the authenticator asks for it)."""
        message = self._message
        message.username = username
        message.auth_mechanism = mechanism
        if getattr(self._authenticator, 'records_password', False):
            message.password = password
            message.cram_md5 = cram_md5

    def _check_credentials(self, username, password):
        try:
            return self._authenticator.authenticate(username, password,
                                                    self._peer)
        except Exception:
            log.exception('authenticator raised')
            raise _ServerFault()

    def smtp_mail_from(self, command, arguments):
        if self._mail_needs_tls and self.tls is None:
            self._send(self._reply_for('mail_needs_tls'))
            return
        size = arguments.get('size')
        if size is not None:
            max_size = self._max_message_size()
            if max_size is not None and size > max_size:
                self._send(self._reply_for('message_too_big'))
                return
        sender = arguments['email']

        def accept():
            self._message.smtp_from = sender
            if size is not None or len(arguments) > 2:
                self._message.mail_options = dict(
                    (name, value) for name, value in arguments.items()
                    if name != 'email' and value is not None)
            self._move(command.name)
        self._decide(command.hook, (sender, self._message),
                     self._reply_for(command.accepted), command.rejected, accept)

    def smtp_rcpt_to(self, command, arguments):
        recipient = arguments['email']

        def accept():
            self._message.smtp_to.append(recipient)
            if len(arguments) > 1:
                options = dict((name, value)
                               for name, value in arguments.items()
                               if name != 'email' and value is not None)
                if options:
                    self._message.rcpt_options[recipient] = options
            self._move(command.name)
        self._decide(command.hook, (recipient, self._message),
                     self._reply_for(command.accepted), command.rejected, accept)

    def smtp_bdat(self, command, arguments):
        size, last = arguments['size'], arguments['last']

        def start():
            self.chunk_number = 1 if self.state.current() != \
                'chunks_received' else self.chunk_number + 1
            self._move(command.name)
            self.chunk_size, self.chunk_is_last = size, last
        if self.state.current() == 'chunks_received':
            start()
            return
        # the first chunk: the policy's accept_data decides (as for DATA)
        self._decide(command.hook, (self._message,), None, command.rejected,
                     start)
        if self.reader is not CHUNK_DATA and not self.is_closed:
            self._skip_octets_of(command.name, str(size))

    def smtp_data(self, command, arguments):
        self._decide(command.hook, (self._message,),
                     self._reply_for(command.accepted), command.rejected,
                     lambda: self._move(command.name))

    def _deliver(self, message):
        try:
            self._deliverer.new_message_accepted(message)
        except Exception:
            log.exception('deliverer raised')
            raise _ServerFault()
        self.events.append((MESSAGE_ACCEPTED, message))

    def _end_transaction(self, step='MSGDATA'):
        """The data phase is over (``step``: the end of DATA or of the last
        BDAT chunk): the state goes back to after HELO (and AUTH), the next
        message starts afresh."""
        self._move(step)
        self._new_message()

    def _new_message(self):
        previous = self._message
        message = self._message = Message(self._peer, previous.smtp_helo,
                                          username=previous.username)
        if self.tls is not None:
            message.tls = self.tls
        if previous.auth_mechanism is not None:
            _carry_auth_facts(previous, message)

    def smtp_rset(self, command, arguments):
        self._move(command.name)
        self._new_message()
        self._send(self._reply_for(command.accepted))

    def smtp_noop(self, command, arguments):
        self._send(self._reply_for(command.accepted))

    def smtp_help(self, command, argument):
        code, first_line = self._reply_for(command.accepted)
        verb = (argument or '').strip().upper()
        verbs = verbs_with(self.extensions)
        if verb in verbs:
            self.reply(code, self._enhanced(
                code, usage_of(verb, self._commands_off), '2.0.0'))
            return
        self.multiline_reply(code, [first_line, self._enhanced(
            code, ' '.join(verbs), '2.0.0')])

    def smtp_starttls(self, command, arguments):
        self._decide(command.hook, (self._message,),
                     self._reply_for(command.accepted), command.rejected,
                     lambda: self._move(command.name))

    def tls_started(self, version, cipher):
        """The TLS handshake that STARTTLS announced succeeded: the
        dialogue starts again after the greeting (RFC 3207: the client
        says EHLO again; nothing it said before counts)."""
        self.tls = {'version': version, 'cipher': cipher}
        self._move('TLS_STARTED')
        self._message = Message(self._peer, tls=self.tls)

    def smtp_quit(self, command, arguments):
        self._send(self._reply_for(command.accepted, host=self.hostname))
        self.close()

    # --- errors -----------------------------------------------------------
    def _reply_to_unknown_command(self, smtp_command, name):
        verb = name.split()[0] if name else ''
        if verb == 'AUTH' and name != 'AUTH':
            self._send(self._reply_for('auth_unknown_mechanism'))
        elif verb in VERBS_WITH_KEYWORD:
            self._send(self._reply_for(
                'syntax_usage', command=usage_of(verb, self._commands_off)))
        else:
            self._send(self._reply_for('unknown_command',
                                 command=printable(smtp_command)))

    def _reply_not_allowed(self, smtp_command):
        code, text = self._reply_for('not_allowed', command=printable(smtp_command))
        allowed = sorted(self.get_all_allowed_smtp_commands())
        if allowed:
            text += ', expected one of ' + ', '.join(allowed)
        self.reply(code, text)


def _carry_auth_facts(previous, message):
    """What AUTH put on ``previous`` (but the user name) goes on the next
    ``message`` of the connection too."""
    message.auth_mechanism = previous.auth_mechanism
    if previous.password is not None:
        message.password = previous.password
    if previous.cram_md5 is not None:
        message.cram_md5 = dict(previous.cram_md5)


_COMMANDS_OFF = {}


def _commands_off(extensions, can_cram_md5=False):
    """The names of the commands of the extensions not in ``extensions``,
    and AUTH CRAM-MD5 unless ``can_cram_md5`` (the authenticator can check
    its answer)."""
    key = (extensions, can_cram_md5)
    off = _COMMANDS_OFF.get(key)
    if off is None:
        off = _COMMANDS_OFF[key] = frozenset(
            name for name, command in COMMANDS.items()
            if (command.extension is not None and
                command.extension not in extensions) or
            (name == _CRAM_MD5 and not can_cram_md5))
    return off


class _DefaultsWithoutPolicy(object):
    """What the dialogue assumes where no policy was given."""

    def max_message_size(self, peer):
        return None


_DEFAULTS_WITHOUT_POLICY = _DefaultsWithoutPolicy()


def _reads_msgdata(policy):
    """Does ``policy`` have an ``accept_msgdata`` of its own (not
    ``IMTAPolicy``'s, which accepts whatever the text)?"""
    if policy is None:
        return False
    method = getattr(policy, 'accept_msgdata', None)
    return getattr(method, '__func__', method) is not \
        IMTAPolicy.__dict__['accept_msgdata']


def _is_longer_than(text, max_size):
    """Is the message ``text`` more than ``max_size`` octets (None: no
    limit) as the client sent it (UTF-8 on Python 3)?"""
    if max_size is None or text is None:
        return False
    if len(text) > max_size:
        return True
    # A character is at most four octets: only a text near the limit needs
    # encoding to be counted.
    if len(text) * 4 <= max_size:
        return False
    return len(wire_bytes(text)) > max_size
