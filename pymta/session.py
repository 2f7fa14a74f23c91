# -*- coding: utf-8 -*-
"""The SMTP dialogue, sans I/O.

Theory of operation
-------------------
An ``SMTPSession`` is fed one command at a time by its command parser
(``handle_input(command, argument)``) and answers through the parser's small
interface (``push``, ``multiline_push``, ``close_when_done``, the ``switch_to_*``
methods). It never touches a socket, so the same session serves the fork path,
the serial path and the unit tests.

Every command goes through the same four steps:

1. Is it a command at all (``pymta.commands``)?  no -> 500 (504 for an
                                        unknown AUTH mechanism, 501 for a
                                        verb without its keyword)
2. Does the state table (``pymta.states``) allow it now?  no -> 503
3. Does its schema accept the argument?  no -> 501
4. Its handler (named in its declaration) does the command's own work and
   hands the policy question to ``_decide``, the one path of every policy
   decision: ask the hook, close before the reply if told so, on accept
   move the state machine along, send the policy's custom reply or the
   default one (``pymta.replies``), close after the reply if told so.

Steps 1 to 3 change nothing when they refuse.

A policy, deliverer or authenticator that raises (or a policy that returns
something it may not) is a server-side fault: it is logged to the ``pymta``
logger, the client gets a 451 and the session stays where it was.

Client input quoted in a reply (the 500, the 503, pycerberus' 501 texts)
goes through ``replies.printable``. Every reply passes ``reply`` or
``multiline_reply``, which count the errors (500, 501, 503, 504) against
``max_errors`` and bad credentials (``535 Bad username or password``)
against ``max_auth_failures``.
"""

from __future__ import absolute_import

import logging

from pycerberus.errors import InvalidDataError

from .api import PolicyDecision
from .commands import COMMANDS, VERBS, VERBS_WITH_KEYWORD, usage_of
from .compat import b64decode, basestring, wire_bytes
from .model import Message, Peer
from .replies import printable, reply_for
from .states import build_state_machine
from .validation import SMTPCommandArgumentsSchema


__all__ = ['SMTPSession']

log = logging.getLogger('pymta')

# Commands that never come from the client's command line.
INTERNAL_COMMANDS = frozenset(['GREET', 'MSGDATA'])

# The replies that count as the client's errors (``max_errors``): unknown
# command or line too long (500), bad syntax (501), out of order (503),
# unknown AUTH mechanism (504).
_ERROR_CODES = (500, 501, 503, 504)
# The reply that counts as an AUTH failure (``max_auth_failures``).
_AUTH_FAILED = reply_for('auth_failed')


class _ServerFault(Exception):
    """A policy, deliverer or authenticator failed: answer 451."""


class SMTPSession(object):
    """One SMTP connection's dialogue: state, policy decisions and replies.

    ``command_parser`` is the object the session answers through (see the
    module docstring); ``deliverer`` receives accepted messages; ``policy``
    (an ``IMTAPolicy``) and ``authenticator`` (an ``IAuthenticator``) are
    optional.

    ``max_errors``: after this many error replies (every 500, 501, 503 and
    504 sent, a policy's custom reply with such a code too) the client gets
    ``421 4.7.0 <host> Error: too many errors`` and the connection is
    closed. ``max_auth_failures``: the same for AUTH attempts with bad
    credentials (``535 Bad username or password``), with ``421 4.7.0 <host>
    Error: too many authentication failures``. None (the default): no
    limit.
    """

    # Built once per class, on first use: the state table and the schemas
    # hold no per-connection state.
    _state_machine_template = None
    _schemas = None

    def __init__(self, command_parser, deliverer, policy=None,
                 authenticator=None, max_errors=None, max_auth_failures=None):
        self._command_parser = command_parser
        self._deliverer = deliverer
        self._policy = policy
        self._authenticator = authenticator
        self._max_errors = max_errors
        self._max_auth_failures = max_auth_failures
        self._errors = 0
        self._auth_failures = 0
        cls = self.__class__
        if cls.__dict__.get('_state_machine_template') is None:
            cls.build_tables()
        self.state = cls._state_machine_template.copy(initial_state='new')
        self._peer = None
        self._message = None
        self._is_closed = False
        # AUTH LOGIN exchange in progress: [username, or None before the
        # client sent it]
        self._auth_login = None

    @classmethod
    def build_tables(cls):
        """Build the class's state machine and argument schemas now rather
        than for its first session. A forking server calls it before it
        forks, so that its workers share them instead of each building its
        own for its first client."""
        if cls.__dict__.get('_state_machine_template') is None:
            cls._state_machine_template = build_state_machine()
            cls._schemas = dict((name, command.schema())
                                for name, command in COMMANDS.items()
                                if command.schema is not None)

    # --- the parser's side ----------------------------------------------
    def new_connection(self, remote_ip, remote_port):
        """Run the connection policy and send the greeting."""
        self._peer = Peer(remote_ip, remote_port)
        self._message = Message(self._peer)

        def greet():
            self._command_parser.set_maximum_message_size(
                self._max_message_size())
            self.state.execute('GREET')
        try:
            self._decide('accept_new_connection', (self._peer,),
                         reply_for('greeting', host=self._hostname(),
                                   ip=remote_ip),
                         'service_unavailable', greet,
                         close_if_rejected=True)
        except _ServerFault:
            self._send(reply_for('internal_error'))
            self.close_connection()

    def handle_input(self, smtp_command, data=None):
        """Handle one command (``data``: its argument string or None; for
        ``MSGDATA`` the message text)."""
        if self._is_closed:
            return
        name = smtp_command.upper()
        if name not in COMMANDS and name != 'MSGDATA':
            # Only other spacing ('mail  from', ' NOOP') needs normalising;
            # a name that is known already is normalised.
            name = ' '.join(name.split())
        if name == 'MSGDATA':
            self._handle_message_data(data)
            return
        command = COMMANDS.get(name)
        if command is None:
            self._reply_to_unknown_command(smtp_command, name)
            return
        if not self.state.can_execute(name):
            self._reply_not_allowed(smtp_command)
            return
        schema = self._schemas.get(name)
        if schema is None:
            arguments = data
        elif not data and schema.__class__ is SMTPCommandArgumentsSchema:
            # No argument where none is expected: nothing to validate.
            arguments = {}
        else:
            try:
                arguments = schema.process(data, context={
                    'esmtp': self.state.is_set('esmtp')})
            except InvalidDataError as e:
                # (pycerberus' texts quote the arguments)
                self.reply(501, printable(e.msg()))
                return
        if not name.startswith('AUTH'):
            # (credentials stay out of what deliverers see)
            self._message.unvalidated_input[name] = data
        try:
            getattr(self, command.handler)(command, arguments)
        except _ServerFault:
            self._auth_login = None
            self._send(reply_for('internal_error'))

    def handle_auth_credentials(self, line):
        """One line of an AUTH LOGIN exchange (the base64 user name or
        password, or ``*`` to cancel)."""
        if self._is_closed:
            return
        exchange, self._auth_login = self._auth_login, None
        if line.strip() == '*' and exchange is not None:
            self._end_auth_login()
            self._send(reply_for('auth_cancelled'))
            return
        try:
            value = b64decode(line.strip())
        except ValueError:
            self._end_auth_login()
            self.reply(501, 'Garbled data sent')
            return
        if exchange is None:
            self._send(reply_for('auth_not_in_progress'))
            return
        username = exchange[0]
        if username is None:
            self._auth_login = [value]
            self._send(reply_for('auth_password_prompt'))
            return
        self._end_auth_login()
        try:
            self._send(self._authenticate('AUTH LOGIN', username, value) or
                       reply_for('auth_ok'))
        except _ServerFault:
            self._send(reply_for('internal_error'))

    def abort_auth_login(self):
        """End an AUTH LOGIN exchange without a reply (the parser could not
        read the client's line and has answered it); the client may start
        AUTH again."""
        if self._auth_login is not None:
            self._end_auth_login()

    def input_exceeds_limits(self):
        """The message data was larger than the maximum message size: the
        transaction ends with a 552."""
        self._end_transaction()
        self._send(reply_for('message_too_big'))

    # --- replies and connection -----------------------------------------
    def reply(self, code, text):
        self._command_parser.push(code, text)
        if code in _ERROR_CODES:
            self._count_error()
        elif code == 535 and text == _AUTH_FAILED[1]:
            self._count_auth_failure()

    def multiline_reply(self, code, lines):
        self._command_parser.multiline_push(code, lines)
        if code in _ERROR_CODES:
            self._count_error()

    def close_connection(self):
        if self._is_closed:
            return
        self._is_closed = True
        self._auth_login = None
        self.state.set_state('finished')
        self._command_parser.close_when_done()

    def _count_error(self):
        """An error reply was sent (every one passes here): enforce
        ``max_errors``."""
        self._errors += 1
        if self._max_errors is not None and \
                self._errors >= self._max_errors and not self._is_closed:
            self._send(reply_for('too_many_errors', host=self._hostname()))
            self.close_connection()

    def _count_auth_failure(self):
        """AUTH with bad credentials was answered: enforce
        ``max_auth_failures``."""
        self._auth_failures += 1
        if self._max_auth_failures is not None and \
                self._auth_failures >= self._max_auth_failures and \
                not self._is_closed:
            self._send(reply_for('too_many_auth_failures',
                                 host=self._hostname()))
            self.close_connection()

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

    def _hostname(self):
        return self._command_parser.primary_hostname

    # --- introspection ----------------------------------------------------
    def uses_esmtp(self):
        return self.state.is_set('esmtp')

    def get_ehlo_lines(self):
        """The extension lines of the EHLO reply (without hostname and
        HELP)."""
        if self._policy is None:
            return ['AUTH PLAIN'] if self._authenticator is not None else []
        return list(self._call_policy('ehlo_lines', self._peer))

    def get_all_allowed_internal_commands(self):
        return self.state.allowed_actions()

    def get_all_allowed_smtp_commands(self):
        return self.state.allowed_actions() - INTERNAL_COMMANDS

    # --- asking the policy ------------------------------------------------
    def _max_message_size(self):
        """What the session's policy says now (legacy suites replace
        ``_policy`` after the connection started)."""
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
        decision = _as_policy_decision(result)
        if decision is None:
            log.error('policy method %s returned %r, which is not a decision',
                      method_name, result)
            raise _ServerFault()
        return decision

    def _reply_of(self, decision, default):
        if decision.use_custom_reply():
            return decision.get_custom_reply()
        return default

    def _decide(self, hook, args, accepted, rejected, on_accept=None,
                close_if_rejected=False):
        """The one path of every policy decision. Ask the policy's ``hook``
        (with ``args``); if the decision says close before the reply, close;
        if it accepts, run ``on_accept`` (which may return a reply that
        replaces the accepted one: AUTH's 535 for bad credentials); send
        the policy's custom reply or the default (``accepted``, a reply;
        ``rejected``, the name of one: built only when needed); close if the
        decision says so, or it rejected and ``close_if_rejected``."""
        if self._policy is None:
            # Without a policy every command is accepted with its default
            # reply: no decision to build and ask.
            reply = on_accept() if on_accept is not None else None
            self._send(reply or accepted)
            return
        decision = self._ask_policy(hook, *args)
        if decision.close_connection_before_response():
            self.close_connection()
            return
        is_accepted = decision.is_command_acceptable()
        if is_accepted:
            reply = on_accept() if on_accept is not None else None
            if reply is None:
                reply = self._reply_of(decision, accepted)
        else:
            reply = self._reply_of(decision, reply_for(rejected))
        self._send(reply)
        if decision.close_connection_after_response() or \
                (close_if_rejected and not is_accepted):
            self.close_connection()

    # --- the commands (declared in pymta.commands) ---------------------
    def smtp_helo(self, command, arguments):
        helo = arguments['helo']

        def accept():
            self._message.smtp_helo = helo
            self.state.execute(command.name)
        self._decide(command.hook, (helo, self._message),
                     reply_for(command.accepted, host=self._hostname()),
                     command.rejected, accept)

    def smtp_ehlo(self, command, arguments):
        helo = arguments['helo']
        lines = [self._hostname()] + self.get_ehlo_lines() + ['HELP']

        def accept():
            self._message.smtp_helo = helo
            self.state.execute(command.name)
        self._decide(command.hook, (helo, self._message),
                     (reply_for(command.accepted)[0], lines),
                     command.rejected, accept)

    def smtp_auth_plain(self, command, arguments):
        if self._authenticator is None:
            self._send(reply_for('auth_not_available'))
            return
        username, password = arguments['username'], arguments['password']
        self._decide(command.hook, (username, password, self._message),
                     reply_for(command.accepted), command.rejected,
                     lambda: self._authenticate(command.name, username,
                                                password))

    def smtp_auth_login(self, command, arguments):
        if self._authenticator is None:
            self._send(reply_for('auth_not_available'))
            return
        username = arguments['username']

        def start_exchange():
            self._auth_login = [username]
            self._command_parser.switch_to_auth_login_mode()
        # The prompt is the accepted reply here (a custom reply replaces
        # it); the exchange's last reply is the default one.
        prompt = 'auth_username_prompt' if username is None \
            else 'auth_password_prompt'
        self._decide(command.hook, (username, self._message),
                     reply_for(prompt), command.rejected, start_exchange)

    def _authenticate(self, command_name, username, password):
        """Check the credentials: on success the state moves and None is
        returned, else the 535 reply."""
        try:
            is_valid = self._authenticator.authenticate(username, password,
                                                        self._peer)
        except Exception:
            log.exception('authenticator raised')
            raise _ServerFault()
        if not is_valid:
            return _AUTH_FAILED
        self.state.execute(command_name)
        self._message.username = username
        return None

    def _end_auth_login(self):
        self._auth_login = None
        if not self._is_closed:
            self._command_parser.switch_to_command_mode()

    def smtp_mail_from(self, command, arguments):
        size = arguments.get('size')
        if size is not None:
            max_size = self._max_message_size()
            if max_size is not None and size > max_size:
                self._send(reply_for('message_too_big'))
                return
        sender = arguments['email']

        def accept():
            self._message.smtp_from = sender
            self.state.execute(command.name)
        self._decide(command.hook, (sender, self._message),
                     reply_for(command.accepted), command.rejected, accept)

    def smtp_rcpt_to(self, command, arguments):
        recipient = arguments['email']

        def accept():
            self._message.smtp_to.append(recipient)
            self.state.execute(command.name)
        self._decide(command.hook, (recipient, self._message),
                     reply_for(command.accepted), command.rejected, accept)

    def smtp_data(self, command, arguments):
        def accept():
            self.state.execute(command.name)
            self._command_parser.switch_to_data_mode()
        self._decide(command.hook, (self._message,),
                     reply_for(command.accepted), command.rejected, accept)

    def _handle_message_data(self, msg_data):
        if not self.state.can_execute('MSGDATA'):
            self._reply_not_allowed('MSGDATA')
            return
        try:
            is_too_big = _is_longer_than(msg_data, self._max_message_size())
        except _ServerFault:
            self._end_transaction()
            self._send(reply_for('internal_error'))
            return
        if is_too_big:
            # (data handed in directly; on the wire the parser stops it)
            self.input_exceeds_limits()
            return
        message = self._message
        message.msg_data = msg_data
        self._end_transaction()
        try:
            self._decide('accept_msgdata', (msg_data, message),
                         reply_for('ok'), 'content_not_acceptable',
                         lambda: self._deliver(message))
        except _ServerFault:
            self._send(reply_for('internal_error'))

    def _deliver(self, message):
        try:
            self._deliverer.new_message_accepted(message)
        except Exception:
            log.exception('deliverer raised')
            raise _ServerFault()

    def _end_transaction(self):
        """Leave data mode: the state goes back to after HELO (and AUTH), the
        next message starts afresh."""
        self.state.execute('MSGDATA')
        self._new_message()
        if not self._is_closed:
            self._command_parser.switch_to_command_mode()

    def _new_message(self):
        previous = self._message
        self._message = Message(self._peer, smtp_helo=previous.smtp_helo,
                                username=previous.username)

    def smtp_rset(self, command, arguments):
        self.state.execute(command.name)
        self._new_message()
        # (a session driven directly may get RSET while receiving a message)
        self._command_parser.switch_to_command_mode()
        self._send(reply_for(command.accepted))

    def smtp_noop(self, command, arguments):
        self._send(reply_for(command.accepted))

    def smtp_help(self, command, argument):
        code, first_line = reply_for(command.accepted)
        verb = (argument or '').strip().upper()
        if verb in VERBS:
            self.reply(code, usage_of(verb))
            return
        self.multiline_reply(code, [first_line, ' '.join(VERBS)])

    def smtp_quit(self, command, arguments):
        self._send(reply_for(command.accepted, host=self._hostname()))
        self.close_connection()

    # --- errors -----------------------------------------------------------
    def _reply_to_unknown_command(self, smtp_command, name):
        verb = name.split()[0] if name else ''
        if verb == 'AUTH' and name != 'AUTH':
            self._send(reply_for('auth_unknown_mechanism'))
        elif verb in VERBS_WITH_KEYWORD:
            self._send(reply_for('syntax_usage', command=usage_of(verb)))
        else:
            self._send(reply_for('unknown_command',
                                 command=printable(smtp_command)))

    def _reply_not_allowed(self, smtp_command):
        code, text = reply_for('not_allowed', command=printable(smtp_command))
        allowed = sorted(self.get_all_allowed_smtp_commands())
        if allowed:
            text += ', expected one of ' + ', '.join(allowed)
        self.reply(code, text)


class _DefaultsWithoutPolicy(object):
    """What the session assumes where no policy was given."""

    def max_message_size(self, peer):
        return None


_DEFAULTS_WITHOUT_POLICY = _DefaultsWithoutPolicy()


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


def _as_policy_decision(result):
    """Normalise every form a policy may return; None if it is none of
    them."""
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
