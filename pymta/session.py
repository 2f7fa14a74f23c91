# -*- coding: utf-8 -*-
"""``SMTPSession``: the legacy face of the dialogue (pymta 0.4-0.8).

Legacy suites drive a session directly (``handle_input(command, data)``)
and watch what it tells its command parser: ``push``, ``multiline_push``,
``close_when_done``, ``set_maximum_message_size`` and the ``switch_to_*``
methods (what ``pymta.test_util.MockCommandParser`` records). The dialogue
itself (``pymta.dialogue.Dialogue``) calls nothing back; after each step
this adapter hands its replies to the parser and tells it how to read on
when the dialogue's reader changed.
"""

from __future__ import absolute_import

from .compat import basestring
from .dialogue import Dialogue
from .states import AUTH_LINE, COMMAND_LINE, MESSAGE_DATA


__all__ = ['SMTPSession']

_SWITCH_TO = {COMMAND_LINE: 'switch_to_command_mode',
              MESSAGE_DATA: 'switch_to_data_mode',
              AUTH_LINE: 'switch_to_auth_login_mode'}
_NOT_ASKED = object()


class SMTPSession(object):
    """One SMTP connection's dialogue, answering through
    ``command_parser`` (see the module docstring); ``deliverer`` receives
    accepted messages; ``policy`` (an ``IMTAPolicy``) and ``authenticator``
    (an ``IAuthenticator``) are optional; ``max_errors`` and
    ``max_auth_failures``: see ``pymta.dialogue.Dialogue``."""

    def __init__(self, command_parser, deliverer, policy=None,
                 authenticator=None, max_errors=None, max_auth_failures=None,
                 dialogue=None):
        self._command_parser = command_parser
        if dialogue is None:
            dialogue = Dialogue(deliverer, policy=policy,
                                authenticator=authenticator,
                                hostname=command_parser.primary_hostname,
                                max_errors=max_errors,
                                max_auth_failures=max_auth_failures)
        self._dialogue = dialogue

    @classmethod
    def build_tables(cls):
        """Build the dialogue's tables before the first connection (see
        ``Dialogue.build_tables``)."""
        Dialogue.build_tables()

    @property
    def state(self):
        """The dialogue's ``StateMachine``."""
        return self._dialogue.state

    @property
    def _policy(self):
        return self._dialogue._policy

    @_policy.setter
    def _policy(self, policy):
        # (legacy suites replace the policy of a running session)
        self._dialogue._policy = policy

    # --- the parser's side ----------------------------------------------
    def new_connection(self, remote_ip, remote_port):
        """Run the connection policy and send the greeting."""
        dialogue = self._dialogue
        parser = self._command_parser
        dialogue.hostname = parser.primary_hostname
        dialogue.max_message_size = _NOT_ASKED
        dialogue.greet(remote_ip, remote_port)
        if dialogue.max_message_size is _NOT_ASKED:
            dialogue.max_message_size = None
        else:
            # (the policy was asked: the connection was accepted)
            parser.set_maximum_message_size(dialogue.max_message_size)
        self._tell_parser(False, COMMAND_LINE)

    def handle_input(self, smtp_command, data=None):
        """Handle one command (``data``: its argument string or None; for
        ``MSGDATA`` the message text)."""
        dialogue = self._dialogue
        if smtp_command.upper() == 'MSGDATA':
            self._run(dialogue.message, data)
            return
        # (legacy parsers were told to read commands after every RSET)
        is_reset = ' '.join(smtp_command.upper().split()) == 'RSET' and \
            not dialogue.is_closed and dialogue.state.can_execute('RSET')
        self._run(dialogue.command, smtp_command, data,
                  reads_commands_again=is_reset)

    def handle_auth_credentials(self, line):
        """One line of an AUTH LOGIN exchange (the base64 user name or
        password, or ``*`` to cancel)."""
        self._run(self._dialogue.auth_line, line)

    def input_exceeds_limits(self):
        """The message data was larger than the maximum message size: the
        transaction ends with a 552."""
        self._run(self._dialogue.message_too_big)

    # --- replies and connection -----------------------------------------
    def reply(self, code, text):
        self._run(self._dialogue.reply, code, text)

    def multiline_reply(self, code, lines):
        self._run(self._dialogue.multiline_reply, code, lines)

    def close_connection(self):
        self._run(self._dialogue.close)

    def _run(self, step, *args, **kwargs):
        """Run one step of the dialogue, then tell the parser what it
        did."""
        dialogue = self._dialogue
        dialogue.hostname = self._command_parser.primary_hostname
        was_closed = dialogue.is_closed
        reader = dialogue.reader
        step(*args)
        self._tell_parser(was_closed, reader,
                          kwargs.get('reads_commands_again', False))

    def _tell_parser(self, was_closed, reader, reads_commands_again=False):
        """How to read on (if that changed), the replies, the close."""
        dialogue = self._dialogue
        parser = self._command_parser
        if not was_closed and (dialogue.reader is not reader or
                               reads_commands_again):
            # (a 0.5 parser has no switch to AUTH LOGIN)
            switch = getattr(parser, _SWITCH_TO[dialogue.reader], None)
            if switch is not None:
                switch()
        for code, text in dialogue.take_replies():
            if text is None or isinstance(text, basestring):
                parser.push(code, text)
            else:
                parser.multiline_push(code, text)
        if dialogue.is_closed and not was_closed:
            parser.close_when_done()

    # --- introspection ----------------------------------------------------
    def uses_esmtp(self):
        return self._dialogue.uses_esmtp()

    def get_ehlo_lines(self):
        """The extension lines of the EHLO reply (without hostname and
        HELP)."""
        return self._dialogue.get_ehlo_lines()

    def get_all_allowed_internal_commands(self):
        return self._dialogue.get_all_allowed_internal_commands()

    def get_all_allowed_smtp_commands(self):
        return self._dialogue.get_all_allowed_smtp_commands()
