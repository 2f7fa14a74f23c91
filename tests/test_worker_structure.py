# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""The structure of the server side, read from its source with ``ast``
(see tests/test_core_imports.py for the package as a whole):

- the sans-I/O core never imports a server module, not even inside a
  function;
- a server module reaches the core only through ``SMTPConnection`` (the
  warm-up also builds the dialogue's tables; the loop asks the connection's
  reader against ``pymta.states``) and writes no reply of its own: reply
  texts come from ``pymta.replies`` by name;
- every server module says its one job in a docstring.
"""

from __future__ import absolute_import

import ast
import re
import unittest

from .test_core_imports import CORE_MODULES, imports_of_package, \
    loaded_at_import, package_sources


#: the modules of the server, each with one job
SERVER_MODULES = ('pymta.mta', 'pymta.worker_pool', 'pymta.worker',
                  'pymta.pool_link', 'pymta.worker_board', 'pymta.warm_up',
                  'pymta.connection_loop', 'pymta.connection_settings',
                  'pymta.time_limits', 'pymta.stop_signal', 'pymta.spinner',
                  'pymta.accept_waiter', 'pymta.sockets', 'pymta.wakeup',
                  'pymta.tls')
#: the core modules a server module may import: the connection (the one
#: way in), the names of its readers, the reply table, and the version
#: differences
CORE_FOR_DRIVERS = frozenset(['pymta.connection', 'pymta.states',
                              'pymta.replies', 'pymta.compat'])
#: a reply written by hand: a reply code at the start of a literal
_REPLY_LITERAL = re.compile(r'^[2-5][0-9][0-9]( |-|$)')


def reachable(imports, modules):
    """The pymta modules ``modules`` import, at import time or later, and
    so on (themselves included)."""
    return loaded_at_import(imports, modules, later_too=True)


def literals(tree):
    """The string and bytes literals of ``tree``, as text (bytes read as
    latin-1)."""
    constant = getattr(ast, 'Constant', None)     # (Python 3.8+ parses to it)
    for node in ast.walk(tree):
        if constant is not None and isinstance(node, constant):
            value = node.value
        elif type(node).__name__ in ('Str', 'Bytes'):
            value = node.s
        else:
            continue
        if isinstance(value, bytes):
            value = value.decode('latin-1')
        if isinstance(value, type(u'')):
            yield value


class ServerStructureTest(unittest.TestCase):

    def setUp(self):
        self.imports = imports_of_package()
        self.sources = package_sources()

    def tree(self, module):
        with open(self.sources[module]) as source_file:
            return ast.parse(source_file.read(), self.sources[module])

    def test_every_server_module_exists(self):
        for module in SERVER_MODULES:
            self.assertTrue(module in self.imports, module)

    def test_the_core_never_imports_a_server_module(self):
        core = reachable(self.imports, CORE_MODULES)
        self.assertEqual([], sorted(core & set(SERVER_MODULES)))

    def test_the_server_reaches_the_core_only_through_the_connection(self):
        # (the core and every module it is made of)
        core = loaded_at_import(self.imports, CORE_MODULES)
        self.assertTrue('pymta.dialogue' in core)
        found = []
        for module in SERVER_MODULES:
            allowed = CORE_FOR_DRIVERS
            if module == 'pymta.warm_up':
                # (it builds the dialogue's tables before the fork)
                allowed = allowed | set(['pymta.dialogue'])
            for name, _ in self.imports[module]:
                if name in core and name not in allowed:
                    found.append((module, name))
        self.assertEqual([], found)

    def test_no_server_module_writes_a_reply_of_its_own(self):
        found = []
        for module in SERVER_MODULES:
            for literal in literals(self.tree(module)):
                if _REPLY_LITERAL.match(literal):
                    found.append((module, literal))
        self.assertEqual([], found)

    def test_every_server_module_says_its_job(self):
        for module in SERVER_MODULES:
            docstring = ast.get_docstring(self.tree(module))
            self.assertTrue(docstring, module)

    def test_the_checks_find_what_they_look_for(self):
        imports = {'pymta.a': [('pymta.b', False)], 'pymta.b': [],
                   'pymta.c': [('pymta.a', True)]}
        self.assertEqual(set(['pymta.a', 'pymta.b']),
                         reachable(imports, ['pymta.a']))
        tree = ast.parse('x = "421 bye"\ny = b"250-ok"\nz = "a 421"\n')
        self.assertEqual(['421 bye', '250-ok'],
                         [text for text in literals(tree)
                          if _REPLY_LITERAL.match(text)])


if __name__ == '__main__':
    unittest.main()
