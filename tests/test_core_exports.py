# -*- coding: utf-8 -*-
"""SPEC section 1: every module exports exactly the listed public names, and
importing any pymta module has no side effects (no I/O, nothing started)."""
from __future__ import absolute_import, print_function

import os
import subprocess
import sys
import unittest


API_NAMES = set(['IAuthenticator', 'IMessageDeliverer', 'IMTAPolicy',
                 'PolicyDecision', 'PyMTAException'])
MODEL_NAMES = set(['Message', 'Peer'])
MTA_NAMES = set(['PythonMTA'])
SESSION_NAMES = set(['SMTPSession'])

EXPORTS = {
    'pymta.api': API_NAMES,
    'pymta.model': MODEL_NAMES,
    'pymta.exceptions': set(['SMTPViolationError', 'InvalidParametersError']),
    'pymta.mta': MTA_NAMES,
    'pymta.session': SESSION_NAMES,
    'pymta.command_parser': set(['SMTPCommandParser', 'WorkerProcess',
                                 'ClientDisconnectedError',
                                 'ParserImplementation']),
    'pymta.statemachine': set(['StateMachine', 'StateMachineError',
                               'StateMachineDefinitionError']),
    'pymta.validation': set(['SMTPCommandArgumentsSchema', 'SMTPEmailValidator',
                             'HeloSchema', 'MailFromSchema', 'RcptToSchema',
                             'AuthPlainSchema', 'AuthLoginSchema']),
    'pymta.compat': set(['b64encode', 'b64decode', 'b', 'basestring', 'unicode',
                         'queue', 'set']),
    'pymta.test_util': set(['BlackholeDeliverer', 'DebuggingMTA', 'MTAThread',
                            'SMTPTestCase', 'SMTPTestHelper', 'CommandParserHelper',
                            'CommandParserTestCase', 'MockCommandParser',
                            'MockChannel', 'DummyAuthenticator']),
    # SPEC section 10: the test support of pymta 0.5
    'pymta.lib': set(['PythonicTestCase', 'SuperProxy']),
    'pymta.lib.testcase': set(['PythonicTestCase']),
    'pymta.lib.simple_super': set(['SuperProxy']),
    # "everything exported by pymta.api, pymta.model, pymta.mta, pymta.session,
    # pymta.command_parser (SMTPCommandParser), plus BlackholeDeliverer"
    # (set semantics: a name exported by two modules appears once)
    'pymta': (API_NAMES | MODEL_NAMES | MTA_NAMES | SESSION_NAMES
              | set(['SMTPCommandParser', 'BlackholeDeliverer'])),
}

ALL_MODULES = sorted(EXPORTS)


def star_import(module_name):
    namespace = {}
    exec('from %s import *' % module_name, namespace)
    namespace.pop('__builtins__', None)
    return namespace


class StarImportTest(unittest.TestCase):
    def assert_exports(self, module_name):
        names = set(star_import(module_name))
        expected = EXPORTS[module_name]
        self.assertEqual(expected, names,
            '%s: missing %r, unexpected %r' % (module_name,
                sorted(expected - names), sorted(names - expected)))

    def test_pymta(self):
        self.assert_exports('pymta')

    def test_api(self):
        self.assert_exports('pymta.api')

    def test_model(self):
        self.assert_exports('pymta.model')

    def test_exceptions(self):
        self.assert_exports('pymta.exceptions')

    def test_mta(self):
        self.assert_exports('pymta.mta')

    def test_session(self):
        self.assert_exports('pymta.session')

    def test_command_parser(self):
        self.assert_exports('pymta.command_parser')

    def test_statemachine(self):
        self.assert_exports('pymta.statemachine')

    def test_validation(self):
        self.assert_exports('pymta.validation')

    def test_compat(self):
        self.assert_exports('pymta.compat')

    def test_test_util(self):
        self.assert_exports('pymta.test_util')

    def test_lib(self):
        self.assert_exports('pymta.lib')
        self.assert_exports('pymta.lib.testcase')
        self.assert_exports('pymta.lib.simple_super')
        import pymta.lib
        import pymta.lib.simple_super
        import pymta.lib.testcase
        self.assertTrue(pymta.lib.PythonicTestCase is
                        pymta.lib.testcase.PythonicTestCase)
        self.assertTrue(pymta.lib.SuperProxy is
                        pymta.lib.simple_super.SuperProxy)

    def test_compat_set_is_the_builtin(self):
        from six.moves import builtins
        from pymta.compat import set as compat_set
        self.assertTrue(compat_set is builtins.set)

    def test_top_level_names_are_the_objects_of_the_defining_modules(self):
        top = star_import('pymta')
        for module_name in ('pymta.api', 'pymta.model', 'pymta.mta', 'pymta.session'):
            for name, value in star_import(module_name).items():
                self.assertTrue(top[name] is value, '%s.%s' % (module_name, name))
        parser_ns = star_import('pymta.command_parser')
        self.assertTrue(top['SMTPCommandParser'] is parser_ns['SMTPCommandParser'])
        test_util_ns = star_import('pymta.test_util')
        self.assertTrue(top['BlackholeDeliverer'] is test_util_ns['BlackholeDeliverer'])

    def test_exceptions_subclass_pymta_exception(self):
        from pymta.api import PyMTAException
        from pymta.exceptions import SMTPViolationError, InvalidParametersError
        self.assertTrue(issubclass(PyMTAException, Exception))
        self.assertTrue(issubclass(SMTPViolationError, PyMTAException))
        self.assertTrue(issubclass(InvalidParametersError, PyMTAException))


# Runs in a fresh interpreter: records sockets, name look-ups, threads,
# processes, signal handlers, file opens and logging configuration done while
# the pymta modules are imported. Third-party dependencies and the stdlib
# modules are imported first so that only pymta's own import is observed.
SIDE_EFFECT_SCRIPT = r'''
import sys
import os
import io
import socket
import signal
import logging
import subprocess
import threading
import base64, re, select, errno, time, traceback, binascii, pickle
try:
    import builtins
except ImportError:
    import __builtin__ as builtins
import six
import pycerberus, pycerberus.api, pycerberus.errors, pycerberus.schema
import pycerberus.schemas, pycerberus.validators

events = []

def recorder(name, original):
    def wrapper(*args, **kwargs):
        events.append(name)
        return original(*args, **kwargs)
    return wrapper

_Socket = socket.socket
class RecordingSocket(_Socket):
    def __init__(self, *args, **kwargs):
        events.append('socket.socket')
        _Socket.__init__(self, *args, **kwargs)
socket.socket = RecordingSocket
for name in ('getfqdn', 'gethostname', 'gethostbyname', 'gethostbyname_ex',
             'gethostbyaddr', 'getaddrinfo', 'create_connection', 'socketpair'):
    if hasattr(socket, name):
        setattr(socket, name, recorder('socket.' + name, getattr(socket, name)))
threading.Thread.start = recorder('Thread.start', threading.Thread.start)
os.fork = recorder('os.fork', os.fork)
for name in ('system', 'popen', 'spawnv', 'spawnve', 'execv', 'execve', 'kill'):
    if hasattr(os, name):
        setattr(os, name, recorder('os.' + name, getattr(os, name)))
_Popen = subprocess.Popen
class RecordingPopen(_Popen):
    def __init__(self, *args, **kwargs):
        events.append('subprocess.Popen')
        _Popen.__init__(self, *args, **kwargs)
subprocess.Popen = RecordingPopen
signal.signal = recorder('signal.signal', signal.signal)
if hasattr(signal, 'alarm'):
    signal.alarm = recorder('signal.alarm', signal.alarm)
builtins.open = recorder('open', builtins.open)
io.open = recorder('io.open', io.open)
root_handlers = list(logging.getLogger().handlers)

for module_name in sys.argv[1:]:
    __import__(module_name)

pymta_logger = logging.getLogger('pymta')
if list(logging.getLogger().handlers) != root_handlers:
    events.append('root logging handlers changed')
sys.stdout.write('EVENTS=' + repr(sorted(set(events))) + '\n')
sys.stdout.flush()
'''


class ImportSideEffectsTest(unittest.TestCase):
    def run_import(self, module_names):
        import pymta
        source_dir = os.path.dirname(os.path.dirname(os.path.abspath(pymta.__file__)))
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join(
            [source_dir] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])
        env['PYTHONDONTWRITEBYTECODE'] = '1'
        warn_args = ['-W' + option for option in sys.warnoptions]
        command = [sys.executable] + warn_args + ['-c', SIDE_EFFECT_SCRIPT] + list(module_names)
        process = subprocess.Popen(command, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=env)
        stdout, stderr = process.communicate()
        stdout = stdout.decode('utf-8', 'replace')
        stderr = stderr.decode('utf-8', 'replace')
        self.assertEqual(0, process.returncode, stderr)
        self.assertEqual('', stderr)
        lines = stdout.splitlines()
        # nothing printed while importing: the only output is the script's own line
        self.assertEqual(1, len(lines), stdout)
        self.assertTrue(lines[0].startswith('EVENTS='), stdout)
        return lines[0][len('EVENTS='):]

    def test_importing_every_module_has_no_side_effects(self):
        events = self.run_import(ALL_MODULES)
        self.assertEqual('[]', events)

    def test_importing_top_level_package_alone_has_no_side_effects(self):
        self.assertEqual('[]', self.run_import(['pymta']))

    def test_importing_test_util_alone_has_no_side_effects(self):
        self.assertEqual('[]', self.run_import(['pymta.test_util']))


if __name__ == '__main__':
    unittest.main()
