# -*- coding: utf-8 -*-
"""The structure of the package, read from its source with ``ast``:

- the sans-I/O core (and every pymta module it loads) imports nothing of
  ``socket``, ``select``, ``signal``, ``threading`` or ``multiprocessing`` at
  import time: only the drivers do I/O;
- no two pymta modules import each other in a loop (imports inside functions
  count too);
- and, run for real: importing the core loads no server module (on Python
  3.7+, where the package imports its names on first use).
"""
from __future__ import absolute_import, print_function

import ast
import os
import subprocess
import sys
import unittest

import pymta


#: the sans-I/O core: the dialogue, the framing, and what they are made of
CORE_MODULES = ('pymta.connection', 'pymta.dialogue', 'pymta.framing',
                'pymta.states', 'pymta.commands', 'pymta.decisions',
                'pymta.session', 'pymta.validation', 'pymta.statemachine',
                'pymta.replies', 'pymta.model', 'pymta.api', 'pymta.compat',
                'pymta.exceptions')
#: what only a driver may import
IO_MODULES = frozenset(['socket', 'select', 'signal', 'threading',
                        'multiprocessing'])


def package_sources():
    """``{module name: source path}`` for every module of the package."""
    root = os.path.dirname(os.path.abspath(pymta.__file__))
    sources = {}
    for folder, _, names in os.walk(root):
        package = 'pymta' + folder[len(root):].replace(os.sep, '.')
        for name in names:
            if not name.endswith('.py'):
                continue
            module = package if name == '__init__.py' else \
                package + '.' + name[:-3]
            sources[module] = os.path.join(folder, name)
    return sources


class _ImportCollector(ast.NodeVisitor):
    """Collects ``(imported module, at import time?)`` of one module."""

    def __init__(self, module, is_package, known):
        self.package = module if is_package else module.rsplit('.', 1)[0]
        self.known = known
        self.imports = []
        self._function_depth = 0

    def _visit_function(self, node):
        self._function_depth += 1
        self.generic_visit(node)
        self._function_depth -= 1

    visit_FunctionDef = visit_Lambda = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def _add(self, name):
        self.imports.append((name, self._function_depth == 0))

    def visit_Import(self, node):
        for alias in node.names:
            self._add(alias.name)

    def visit_ImportFrom(self, node):
        if node.level:
            base = self.package.split('.')
            base = base[:len(base) - (node.level - 1)]
            module = '.'.join(base + ([node.module] if node.module else []))
        else:
            module = node.module
        self._add(module)
        for alias in node.names:
            # ``from . import api``: the submodule is imported too
            submodule = module + '.' + alias.name
            if submodule in self.known:
                self._add(submodule)


def imports_of_package():
    """``{module: [(imported module, at import time?), ...]}``."""
    sources = package_sources()
    result = {}
    for module, path in sources.items():
        with open(path) as source_file:
            tree = ast.parse(source_file.read(), path)
        collector = _ImportCollector(module, path.endswith('__init__.py'),
                                     sources)
        collector.visit(tree)
        result[module] = collector.imports
    return result


def import_cycles(graph):
    """The loops in ``graph`` (``{node: set of nodes}``): each strongly
    connected component of more than one node, or a node importing
    itself, as a sorted list."""
    index = {}
    low = {}
    stack = []
    on_stack = set()
    cycles = []
    counter = [0]

    def connect(node):
        # Tarjan's algorithm, recursive (the package is small)
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(cycles)


def loaded_at_import(imports, modules, later_too=False):
    """The pymta modules that ``modules`` load: themselves and what they
    import at import time (``later_too``: also inside functions), and so
    on. (Not the package ``pymta`` that Python runs first: its ``__init__``
    gathers the public names, drivers included.)"""
    loaded = set()
    todo = list(modules)
    while todo:
        module = todo.pop()
        if module in loaded or module not in imports:
            continue
        loaded.add(module)
        todo.extend(name for name, at_import in imports[module]
                    if at_import or later_too)
    return loaded


def io_imports(imports, modules):
    """``[(module, I/O module)]`` for each import of an ``IO_MODULES``
    module at import time by one of ``modules``."""
    found = []
    for module in sorted(modules):
        for name, at_import in imports[module]:
            if at_import and name.split('.')[0] in IO_MODULES:
                found.append((module, name))
    return found


class PackageStructureTest(unittest.TestCase):
    def setUp(self):
        self.imports = imports_of_package()

    def test_the_core_imports_no_io_module(self):
        core = loaded_at_import(self.imports, CORE_MODULES)
        for module in CORE_MODULES:
            self.assertTrue(module in core, module)
        self.assertEqual([], io_imports(self.imports, core))

    def test_no_import_cycles(self):
        graph = {}
        for module, names in self.imports.items():
            graph[module] = set(name for name, _ in names
                                if name in self.imports and name != 'pymta')
        self.assertEqual([], import_cycles(graph))

    def test_the_checks_find_what_they_look_for(self):
        self.assertEqual([['a', 'b', 'c']],
                         import_cycles({'a': set('b'), 'b': set('c'),
                                        'c': set('a'), 'd': set('a')}))
        self.assertEqual([['e']], import_cycles({'e': set('e')}))
        imports = {'pymta.x': [('pymta.y', True), ('socket', False)],
                   'pymta.y': [('select', True), ('pymta.z', False)],
                   'pymta.z': [('threading', True)]}
        loaded = loaded_at_import(imports, ['pymta.x'])
        self.assertEqual(set(['pymta.x', 'pymta.y']), loaded)
        self.assertEqual([('pymta.y', 'select')], io_imports(imports, loaded))

    def test_the_drivers_are_seen(self):
        # the server imports socket: the collector sees what it must
        self.assertTrue(('socket', True) in self.imports['pymta.mta'])
        self.assertTrue(('pymta.connection', True) in
                        self.imports['pymta.connection_settings'])
        self.assertTrue(('pymta.fdwait', False) in self.imports['pymta.compat'])


class LoadedModulesTest(unittest.TestCase):
    def loaded_by(self, statement):
        """The pymta modules a fresh interpreter has loaded after
        ``statement``."""
        root = os.path.dirname(os.path.dirname(os.path.abspath(pymta.__file__)))
        script = ('import sys\n%s\nsys.stdout.write(" ".join(sorted(m for m in '
                  'sys.modules if m.split(".")[0] == "pymta")))' % statement)
        env = dict(os.environ, PYTHONPATH=root)
        output = subprocess.check_output([sys.executable, '-c', script],
                                         env=env)
        return set(output.decode('ascii').split())

    def test_the_core_loads_no_server_module(self):
        from pymta.compat import MODULE_GETATTR
        loaded = self.loaded_by('import pymta.connection')
        everything = self.loaded_by('import pymta.mta, pymta.test_util')
        self.assertTrue('pymta.worker' in everything)
        if MODULE_GETATTR:
            core = loaded_at_import(imports_of_package(), CORE_MODULES)
            self.assertEqual(set(), loaded - core - set(['pymta']))
            self.assertTrue('pymta.connection' in loaded)
        else:
            # (Python 2.7 and 3.6: the package imports every name at once)
            self.assertTrue('pymta.mta' in loaded)

    def test_the_names_of_the_package_load_on_first_use(self):
        from pymta.compat import MODULE_GETATTR
        loaded = self.loaded_by('import pymta\npymta.PythonMTA')
        self.assertTrue('pymta.mta' in loaded)
        if MODULE_GETATTR:
            self.assertFalse('pymta.mta' in self.loaded_by('import pymta'))
        self.assertRaises(AttributeError, getattr, pymta, 'NoSuchName')
        self.assertTrue('PythonMTA' in dir(pymta))


if __name__ == '__main__':
    unittest.main()
