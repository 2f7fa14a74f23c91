# -*- coding: utf-8 -*-
"""pymta.commands: each command declared once, and everything that is
derived from the declarations (HELP, the usage of the 501, the line parser's
keywords)."""
from __future__ import absolute_import, print_function

import unittest

from pymta.api import IMTAPolicy
from pymta.commands import COMMANDS, VERBS, VERBS_WITH_KEYWORD, usage_of
from pymta.framing import ParserImplementation
from pymta.replies import REPLIES
from pymta.dialogue import Dialogue
from pycerberus.schemas import PositionalArgumentsParsingSchema


class DeclarationsTest(unittest.TestCase):
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
        self.assertEqual('AUTH LOGIN [<base64 username>] | AUTH PLAIN <base64 '
                         'of [authzid]\\0username\\0password>', usage_of('AUTH'))
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
