# -*- coding: utf-8 -*-
"""Every SMTP command a client may send, declared once.

A declaration says everything about a command but how it is carried out:
how the client spells it (verb, keyword), the schema that validates its
argument (pymta.validation, pycerberus), its usage (for HELP and the 501 of a
verb sent without its keyword), the policy hook it asks (an ``IMTAPolicy``
method, None: none), the names of its default replies in ``pymta.replies``
(accepted, rejected), the ``Dialogue`` method (handler) that carries it out
and, for the command of an SMTP extension (off unless the server switches
it on), the extension's name. Where it may come in the dialogue is the
state table's business
(``pymta.states``).

To add a command: one ``Command(...)`` here and one handler method in
``pymta.dialogue.Dialogue``. A command that leaves the state as it is (like
NOOP) is then allowed in every state; one that moves the dialogue also
needs its rows in ``pymta.states``.
"""

from __future__ import absolute_import

from .validation import (AuthLoginSchema, AuthPlainSchema, BdatSchema,
                         HeloSchema, MailFromSchema, RcptToSchema,
                         SMTPCommandArgumentsSchema)


__all__ = ['CARRY_OCTETS', 'COMMANDS', 'Command', 'EXTENSIONS', 'usage_of',
           'verbs_with']


class Command(object):
    """One SMTP command (see the module docstring)."""

    __slots__ = ('name', 'verb', 'keyword', 'keyword_ends_at_colon',
                 'schema', 'usage', 'hook', 'accepted', 'rejected', 'handler',
                 'extension')

    def __init__(self, name, schema, usage, hook, accepted, rejected,
                 handler, extension=None):
        #: the name the session and the state table use ('MAIL FROM')
        self.name = name
        words = name.split()
        #: the first word the client sends ('MAIL')
        self.verb = words[0]
        #: the second word, if any ('FROM'; the AUTH mechanism)
        self.keyword = words[1] if len(words) > 1 else None
        #: the pycerberus schema class of the argument (None: any argument)
        self.schema = schema
        #: the argument syntax for humans ('FROM:<address> ...')
        self.usage = usage
        #: 'MAIL FROM:<a>': the argument follows the keyword's colon;
        #: otherwise (the AUTH mechanism) it follows after whitespace
        self.keyword_ends_at_colon = self.keyword is not None and \
            usage.startswith(self.keyword + ':')
        #: the IMTAPolicy method asked (None: the command asks no policy)
        self.hook = hook
        #: the names of the default replies in pymta.replies
        self.accepted = accepted
        self.rejected = rejected
        #: the Dialogue method that carries the command out
        self.handler = handler
        #: the name of the SMTP extension the command belongs to (None: it
        #: is always there); off, the command does not exist
        self.extension = extension

    def __repr__(self):
        return 'Command(%r)' % (self.name,)


_NO_ARGUMENT = SMTPCommandArgumentsSchema

#: name -> Command, for every command a client may send
COMMANDS = dict((command.name, command) for command in (
    Command('HELO', HeloSchema, '<domain or [address literal]>',
            'accept_helo', 'helo_ok', 'administrative_prohibition',
            'smtp_helo'),
    Command('EHLO', HeloSchema, '<domain or [address literal]>',
            'accept_ehlo', 'ehlo_ok', 'administrative_prohibition',
            'smtp_ehlo'),
    Command('AUTH PLAIN', AuthPlainSchema,
            'PLAIN <base64 of [authzid]\\0username\\0password>',
            'accept_auth_plain', 'auth_ok', 'administrative_prohibition',
            'smtp_auth_plain'),
    Command('AUTH LOGIN', AuthLoginSchema, 'LOGIN [<base64 username>]',
            'accept_auth_login', 'auth_ok', 'administrative_prohibition',
            'smtp_auth_login'),
    # (RFC 2195: no initial response; the exchange is one line, read by
    # Dialogue.auth_line. It exists only where the authenticator can check
    # a CRAM-MD5 answer.)
    Command('AUTH CRAM-MD5', _NO_ARGUMENT, 'CRAM-MD5',
            'accept_auth_cram_md5', 'auth_ok', 'administrative_prohibition',
            'smtp_auth_cram_md5'),
    Command('MAIL FROM', MailFromSchema, 'FROM:<address> [SIZE=<octets>]',
            'accept_from', 'ok', 'administrative_prohibition',
            'smtp_mail_from'),
    Command('RCPT TO', RcptToSchema, 'TO:<address>',
            'accept_rcpt_to', 'ok', 'relay_not_permitted', 'smtp_rcpt_to'),
    Command('DATA', _NO_ARGUMENT, '', 'accept_data', 'start_data',
            'administrative_prohibition', 'smtp_data'),
    Command('RSET', _NO_ARGUMENT, '', None, 'reset_ok', None, 'smtp_rset'),
    Command('NOOP', _NO_ARGUMENT, '', None, 'ok', None, 'smtp_noop'),
    Command('QUIT', _NO_ARGUMENT, '', None, 'closing', None, 'smtp_quit'),
    Command('HELP', None, '', None, 'help', None, 'smtp_help'),
    Command('STARTTLS', _NO_ARGUMENT, '', 'accept_starttls', 'ready_for_tls',
            'tls_not_available', 'smtp_starttls', extension='STARTTLS'),
    # (the policy's accept_data decides on the first chunk)
    Command('BDAT', BdatSchema, '<size> [LAST]', 'accept_data', 'chunk_ok',
            'administrative_prohibition', 'smtp_bdat', extension='CHUNKING'),
))

#: the SMTP extensions pymta knows (each off unless the server switches it
#: on), in the order EHLO lists them: PIPELINING (RFC 2920: nothing to do
#: but say so: replies to a pipelined group go out together), 8BITMIME
#: (RFC 6152: BODY= on MAIL FROM), SMTPUTF8 (RFC 6531: UTF-8 addresses
#: after MAIL FROM ... SMTPUTF8; brings 8BITMIME), ENHANCEDSTATUSCODES
#: (RFC 2034: every reply but the greeting, HELO/EHLO and 3xx with its code
#: of RFC 3463), DSN (RFC 3461: RET and ENVID on MAIL FROM, NOTIFY and ORCPT on RCPT TO),
#: CHUNKING (RFC 3030: BDAT), STARTTLS (RFC 3207: the command)
EXTENSIONS = ('PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES',
              'DSN', 'CHUNKING', 'STARTTLS')

#: commands followed by octets that are not commands, as many as their
#: argument starts with: read (and thrown away) whatever the reply
CARRY_OCTETS = frozenset(['BDAT'])

#: the verbs that are always there, sorted (HELP lists them, and those of
#: the extensions that are on)
VERBS = sorted(set(command.verb for command in COMMANDS.values()
                   if command.extension is None))

#: verbs that need their keyword ('MAIL' needs 'FROM:', 'AUTH' a mechanism)
VERBS_WITH_KEYWORD = frozenset(command.verb for command in COMMANDS.values()
                               if command.keyword is not None)


def usage_of(verb, commands_off=()):
    """``'MAIL FROM:<address> [SIZE=<octets>]'`` for ``'MAIL'``; the usages
    of a verb's commands joined by `` | `` (``AUTH``), leaving out those
    named in ``commands_off``."""
    usages = []
    for name in sorted(COMMANDS):
        command = COMMANDS[name]
        if command.verb == verb and name not in commands_off:
            usages.append((verb + ' ' + command.usage).strip())
    return ' | '.join(usages)


def verbs_with(extensions):
    """The verbs, sorted, with those of ``extensions`` (names)."""
    if not extensions:
        return VERBS
    return sorted(set(VERBS) | set(
        command.verb for command in COMMANDS.values()
        if command.extension in extensions))
