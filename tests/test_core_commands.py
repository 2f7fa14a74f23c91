# -*- coding: utf-8 -*-
"""pymta.commands: each command declared once, and everything that is
derived from the declarations (HELP, the usage of the 501, the line parser's
keywords)."""
from __future__ import absolute_import, print_function

import unittest

from pymta.api import IMTAPolicy
from pymta.commands import COMMANDS, VERBS, VERBS_WITH_KEYWORD, Command, \
    usage_of
from pymta.framing import ParserImplementation
from pymta.replies import REPLIES
from pymta.dialogue import Dialogue
from pymta.states import build_state_machine
from pycerberus.schemas import PositionalArgumentsParsingSchema

from .core_support import RecordingDeliverer


class DeclarationsTest(unittest.TestCase):
    def test_a_new_command_is_one_declaration_and_one_handler(self):
        # what adding VRFY to pymta.commands and pymta.dialogue amounts to
        COMMANDS['VRFY'] = Command('VRFY', None, '<user>', None, None, None,
                                   'smtp_vrfy')
        self.addCleanup(COMMANDS.pop, 'VRFY')

        class WithVrfy(Dialogue):
            def smtp_vrfy(self, command, argument):
                self.reply(252, 'Cannot VRFY %s' % argument)
        dialogue = WithVrfy(RecordingDeliverer())
        dialogue.greet('127.0.0.1', 4567)
        for command, argument in (('VRFY', 'a'), ('HELO', 'x'), ('vrfy', 'b'),
                                  ('MAIL FROM', '<a@example.com>'),
                                  ('VRFY', 'c')):
            dialogue.command(command, argument)
        self.assertEqual([(220, 'localhost Hello 127.0.0.1'),
                          (252, 'Cannot VRFY a'), (250, 'localhost'),
                          (252, 'Cannot VRFY b'), (250, 'OK'),
                          (252, 'Cannot VRFY c')], dialogue.take_replies())
        self.assertEqual('sender_known', dialogue.state.state())
        # the state table allows it wherever NOOP is allowed
        machine = build_state_machine()
        for state in machine.known_states():
            machine.set_state(state)
            self.assertEqual(machine.can_execute('NOOP'),
                             machine.can_execute('VRFY'), state)

    def test_every_declaration_is_complete(self):
        for name, command in COMMANDS.items():
            self.assertEqual(name, command.name)
            self.assertTrue(callable(getattr(Dialogue, command.handler)),
                            name)
            if command.schema is not None:
                self.assertTrue(issubclass(command.schema,
                                           PositionalArgumentsParsingSchema),
                                name)
            if command.hook is not None:
                self.assertTrue(callable(getattr(IMTAPolicy, command.hook)),
                                name)
                self.assertTrue(command.rejected in REPLIES, name)
            else:
                self.assertEqual(None, command.rejected)
            self.assertTrue(command.accepted in REPLIES, name)

    def test_verb_and_keyword(self):
        mail = COMMANDS['MAIL FROM']
        self.assertEqual(('MAIL', 'FROM', True),
                         (mail.verb, mail.keyword, mail.keyword_ends_at_colon))
        auth = COMMANDS['AUTH PLAIN']
        self.assertEqual(('AUTH', 'PLAIN', False),
                         (auth.verb, auth.keyword, auth.keyword_ends_at_colon))
        noop = COMMANDS['NOOP']
        self.assertEqual(('NOOP', None, False),
                         (noop.verb, noop.keyword, noop.keyword_ends_at_colon))
        self.assertEqual("Command('NOOP')", repr(noop))

    def test_derived_verbs(self):
        self.assertEqual(['AUTH', 'DATA', 'EHLO', 'HELO', 'HELP', 'MAIL',
                          'NOOP', 'QUIT', 'RCPT', 'RSET'], VERBS)
        self.assertEqual(frozenset(['AUTH', 'MAIL', 'RCPT']),
                         VERBS_WITH_KEYWORD)

    def test_usage(self):
        self.assertEqual('MAIL FROM:<address> [SIZE=<octets>]',
                         usage_of('MAIL'))
        self.assertEqual('AUTH CRAM-MD5 | AUTH LOGIN [<base64 username>] | '
                         'AUTH PLAIN <base64 of [authzid]\\0username\\0password>',
                         usage_of('AUTH'))
        # (a command that is off is left out: CRAM-MD5 without an
        # authenticator that can do it)
        self.assertEqual('AUTH LOGIN [<base64 username>] | AUTH PLAIN <base64 '
                         'of [authzid]\\0username\\0password>',
                         usage_of('AUTH', frozenset(['AUTH CRAM-MD5'])))
        self.assertEqual('NOOP', usage_of('NOOP'))
        self.assertEqual('', usage_of('FNORD'))

    def test_the_line_parser_takes_its_keywords_from_the_declarations(self):
        self.assertEqual(frozenset(['AUTH']),
                         ParserImplementation._VERBS_WITH_WORD_KEYWORD)
        parser = ParserImplementation()
        self.assertEqual(('rcpt  to', 'a@b'), parser.parse('rcpt  to : a@b'))
        self.assertEqual(('AUTH LOGIN', None), parser.parse('AUTH LOGIN'))


if __name__ == '__main__':
    unittest.main()
