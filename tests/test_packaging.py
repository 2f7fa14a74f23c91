# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Packaging (issue 15): the version, the index page, and the artifacts.

VersionTest and IndexPageTest are quick and run everywhere. BuildAndInstallTest
builds the sdist and the wheel with ``python -m build`` (the wheel from the
sdist), checks both, installs the wheel into a new Python 2.7 and a new Python
3.13 environment (the dependencies come from the package index) and imports
pymta there. It takes tens of seconds and needs the network, so it runs only
where ``PYMTA_TEST_PACKAGING`` is set: the tox environment ``packaging``, once
per ``bash .ci/test``. There it needs ``build``, ``setuptools`` and
``virtualenv`` (tox.ini pins them) and Python 2.7 and 3.13 under pyenv or on
PATH; anything missing is a failure, not a skip.
"""

from __future__ import absolute_import

import email
import glob
import io
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import unittest
import zipfile

from .programs import find_executable


ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    os.pardir))
INDEX_PAGE = os.path.join(ROOT, 'docs', 'index-page.md')
SUPPORTED_PYTHONS = ('2.7', '3.6', '3.7', '3.8', '3.9', '3.10', '3.11', '3.12',
                     '3.13')
WHEEL_TAG = 'py2.py3-none-any'
# what the sdist holds besides the package, and the folders it holds completely
SDIST_FILES = set(['COPYING.txt', 'MANIFEST.in', 'PKG-INFO', 'README.md',
                   'pyproject.toml', 'setup.cfg', 'setup.py'])
SDIST_FOLDERS = ('pymta', 'tests', 'docs', 'examples')
# setuptools' notes on MANIFEST.in exclusions that found nothing to exclude
HARMLESS_BUILD_LINES = re.compile(
    r"warning: no previously-included files matching '[^']*' found anywhere in"
    r" distribution|no previously-included directories found matching")
# the test modules run from the unpacked sdist: those that read README.md,
# docs/ or examples/ (every test module is imported, see below)
SDIST_TEST_MODULES = ('tests.test_core_exports', 'tests.test_core_states',
                      'tests.test_docs_examples',
                      'tests.test_readme_examples',
                      'tests.test_debugging_server_example')


def read_text(path):
    with io.open(path, encoding='utf-8') as text_file:
        return text_file.read()


def checkout_version():
    """The version as pymta/__init__.py defines it (what setup.py reads)."""
    source = read_text(os.path.join(ROOT, 'pymta', '__init__.py'))
    versions = re.findall(r"^__version__ = '([^']+)'$", source, re.MULTILINE)
    assert len(versions) == 1, versions
    return versions[0]


def python_examples(text):
    return re.findall(r'^```python\n(.*?)^```', text, re.MULTILINE | re.DOTALL)


def files_below(root, folder):
    """The files below ``root/folder`` as paths relative to ``root`` (with
    '/'), without compiled Python."""
    found = set()
    for directory, subdirectories, filenames in os.walk(os.path.join(root, folder)):
        subdirectories[:] = [name for name in subdirectories
                             if name not in ('__pycache__', '_build')]
        for filename in filenames:
            if filename.endswith(('.pyc', '.pyo')):
                continue
            path = os.path.relpath(os.path.join(directory, filename), root)
            found.add(path.replace(os.sep, '/'))
    return found


class VersionTest(unittest.TestCase):
    def test_the_version_is_defined_once_in_the_package(self):
        import pymta
        self.assertEqual(checkout_version(), pymta.__version__)
        self.assertTrue(re.match(r'^\d+\.\d+\.\d+((a|b|rc)\d+)?(\.dev\d+)?$',
                                 pymta.__version__), pymta.__version__)

    def test_it_is_not_exported(self):
        # SPEC section 1 fixes what `from pymta import *` gives
        import pymta
        self.assertFalse('__version__' in pymta.__all__)

    def test_setup_py_reads_it_and_uses_the_index_page(self):
        setup_py = read_text(os.path.join(ROOT, 'setup.py'))
        self.assertTrue('version=read_version()' in setup_py)
        self.assertTrue("read_text('docs', 'index-page.md')" in setup_py)


class IndexPageTest(unittest.TestCase):
    """docs/index-page.md is the long description: written for the package
    index, where there is no checkout."""

    def setUp(self):
        self.text = read_text(INDEX_PAGE)

    def test_it_tells_how_to_install_from_the_index(self):
        self.assertTrue('\npip install pymta\n' in self.text)

    def test_it_names_no_command_that_needs_a_checkout(self):
        for command in (r'\.ci/', r'\btox\b', r'pip install (-e )?\.',
                        r'python examples/', r'setup\.py'):
            self.assertEqual([], re.findall(command, self.text), command)

    def test_it_names_every_supported_python(self):
        self.assertTrue('Python 2.7 and 3.6 to 3.13' in self.text)

    def test_the_example_runs(self):
        examples = python_examples(self.text)
        self.assertEqual(2, len(examples))
        self.assertTrue(len(examples[0].splitlines()) <= 12)
        namespace = {'__name__': 'index_page_example'}
        exec(compile(examples[0], INDEX_PAGE, 'exec'), namespace)
        self.assertEqual('Subject: hi\n\nHello', namespace['message'].msg_data)

    def test_the_pytest_example_passes(self):
        from .test_pytest_plugin import run_pytest_on
        source = python_examples(self.text)[1]
        self.assertTrue('def test_sends_mail(smtp_server)' in source)
        returncode, output = run_pytest_on(source)
        self.assertEqual(0, returncode, output)
        self.assertTrue('1 passed' in output, output)


# --- building and installing ----------------------------------------------------
def version_key(path):
    match = re.search(r'/(\d+)\.(\d+)\.(\d+)/bin/', path)
    return tuple(int(number) for number in match.groups())


def find_python(minor):
    """The newest pyenv Python ``minor`` (e.g. '2.7'), else ``pythonX.Y`` on
    PATH (not pyenv's shim, which needs PYENV_VERSION); None if neither."""
    pyenv_root = os.environ.get('PYENV_ROOT') or os.path.expanduser('~/.pyenv')
    pattern = os.path.join(pyenv_root, 'versions', minor + '.*', 'bin',
                           'python' + minor)
    found = [path for path in glob.glob(pattern)
             if re.search(r'/%s\.\d+/bin/' % re.escape(minor), path)]
    if found:
        return max(found, key=version_key)
    for directory in os.environ.get('PATH', '').split(os.pathsep):
        path = os.path.join(directory, 'python' + minor)
        if 'shims' not in directory and os.access(path, os.X_OK):
            return path
    return None


def run(command, **options):
    """Run ``command``: (exit status, stdout and stderr as text)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, **options)
    output = process.communicate()[0].decode('utf-8', 'replace')
    return process.returncode, output


def build_environment():
    env = dict(os.environ)
    # (tox sets it; setuptools then warns that it cannot byte-compile)
    env.pop('PYTHONDONTWRITEBYTECODE', None)
    # every warning shown once, DeprecationWarning included
    env['PYTHONWARNINGS'] = 'default'
    for name in list(env):
        if name.startswith('PYMTA_TEST_'):
            del env[name]
    return env


def warnings_in(build_output):
    return [line for line in build_output.splitlines()
            if re.search(r'(?i)warn|deprecat', line)
            and not HARMLESS_BUILD_LINES.search(line)]


class BuildAndInstallTest(unittest.TestCase):
    """Everything is built and installed once, for all the tests, by
    setUpClass (which skips the class, as one skip, where not asked for)."""

    @classmethod
    def setUpClass(cls):
        if not os.environ.get('PYMTA_TEST_PACKAGING'):
            raise unittest.SkipTest('slow and needs the network: runs in the tox '
                                    'environment "packaging" (PYMTA_TEST_PACKAGING=1)')
        cls.workdir = tempfile.mkdtemp(prefix='pymta-packaging-')
        try:
            cls.build_and_install()
        except BaseException:
            shutil.rmtree(cls.workdir, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.workdir, ignore_errors=True)

    # --- the work, done once --------------------------------------------------
    @classmethod
    def build_and_install(cls):
        cls.version = checkout_version()
        # a copy, as a fresh clone has it: the build writes pymta.egg-info and
        # build/ beside setup.py, and tox may be building the checkout meanwhile
        source = os.path.join(cls.workdir, 'source')
        shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
            '.git', '.tox', '.venv*', 'build', 'dist', '*.egg-info', '__pycache__',
            '*.py[co]', '.pytest_cache', '.hypothesis', '_build'))
        dist = os.path.join(cls.workdir, 'dist')
        status, output = run([sys.executable, '-m', 'build', '--no-isolation',
                              '--outdir', dist, source], env=build_environment())
        assert status == 0, 'python -m build failed:\n' + output
        cls.build_output = output
        cls.wheel = os.path.join(dist, 'pymta-%s-%s.whl' % (cls.version, WHEEL_TAG))
        cls.sdist = os.path.join(dist, 'pymta-%s.tar.gz' % cls.version)
        cls.dist_files = sorted(os.listdir(dist))
        expected = sorted(os.path.basename(path) for path in (cls.wheel, cls.sdist))
        assert cls.dist_files == expected, (
            'the build gave %s, not %s:\n%s' % (cls.dist_files, expected, output))
        cls.environments = {}
        for minor in ('2.7', '3.13'):
            cls.environments[minor] = cls.install(minor)
        cls.sdist_dir = cls.unpack_sdist()

    @classmethod
    def install(cls, minor):
        python = find_python(minor)
        assert python, 'no Python %s (under $PYENV_ROOT/versions or on PATH)' % minor
        directory = os.path.join(cls.workdir, 'venv' + minor)
        if minor == '2.7':   # (the venv module is Python 3's)
            command = [sys.executable, '-m', 'virtualenv', '--quiet', '-p', python,
                       directory]
        else:
            command = [python, '-m', 'venv', directory]
        status, output = run(command)
        assert status == 0, 'making the %s environment failed:\n%s' % (minor, output)
        env_python = os.path.join(directory, 'bin', 'python')
        status, output = run([env_python, '-m', 'pip', 'install', cls.wheel])
        assert status == 0, 'installing the wheel on %s failed:\n%s' % (minor, output)
        return dict(directory=directory, python=env_python, install_output=output)

    @classmethod
    def unpack_sdist(cls):
        prefix = 'pymta-' + cls.version
        target = os.path.join(cls.workdir, 'sdist')
        with tarfile.open(cls.sdist) as archive:
            for member in archive.getmembers():
                assert member.name == prefix or (
                    member.name.startswith(prefix + '/') and
                    '..' not in member.name.split('/')), member.name
                if not member.isfile():
                    continue
                path = os.path.join(target, *member.name.split('/'))
                if not os.path.isdir(os.path.dirname(path)):
                    os.makedirs(os.path.dirname(path))
                with open(path, 'wb') as unpacked:
                    unpacked.write(archive.extractfile(member).read())
        return os.path.join(target, prefix)

    # --- helpers --------------------------------------------------------------
    def wheel_file(self, name):
        with zipfile.ZipFile(self.wheel) as wheel:
            return wheel.read(name).decode('utf-8')

    def wheel_names(self):
        with zipfile.ZipFile(self.wheel) as wheel:
            return wheel.namelist()

    def dist_info(self, name):
        return self.wheel_file('pymta-%s.dist-info/%s' % (self.version, name))

    def metadata(self):
        return email.message_from_string(self.dist_info('METADATA'))

    def run_in(self, minor, *arguments, **options):
        # (in the work folder: nothing may come from the checkout)
        return run([self.environments[minor]['python']] + list(arguments),
                   cwd=self.workdir, **options)

    # --- the build ------------------------------------------------------------
    def test_the_build_gives_one_sdist_and_one_universal_wheel(self):
        # (setUpClass checked the names: pymta-<version>-py2.py3-none-any.whl)
        wheel_info = self.dist_info('WHEEL')
        self.assertTrue('Root-Is-Purelib: true' in wheel_info, wheel_info)
        self.assertEqual(['py2-none-any', 'py3-none-any'],
                         sorted(re.findall(r'^Tag: (\S+)$', wheel_info, re.MULTILINE)))

    def test_the_build_gives_no_warnings(self):
        self.assertEqual([], warnings_in(self.build_output), self.build_output)

    def test_the_metadata(self):
        metadata = self.metadata()
        self.assertEqual('pymta', metadata['Name'])
        self.assertEqual(self.version, metadata['Version'])
        self.assertEqual('the pymta developers', metadata['Author'])
        self.assertEqual('MIT', metadata['License'])
        self.assertEqual('>=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*, '
                         '!=3.5.*', metadata['Requires-Python'])
        self.assertEqual(['pycerberus>=0.7', 'six'],
                         sorted(metadata.get_all('Requires-Dist')))
        classifiers = metadata.get_all('Classifier')
        for version in SUPPORTED_PYTHONS:
            self.assertTrue('Programming Language :: Python :: ' + version
                            in classifiers, version)
        self.assertTrue('Framework :: Pytest' in classifiers)
        # no value setuptools fills in for what it was not told
        self.assertEqual([], [(key, value) for key, value in metadata.items()
                              if value.strip() == 'UNKNOWN'])

    def test_the_project_urls_are_well_formed(self):
        # (none yet: there is no public home; setup.py says where they go)
        for entry in self.metadata().get_all('Project-URL') or []:
            label, url = entry.split(', ', 1)
            self.assertTrue(label in ('Homepage', 'Source', 'Documentation',
                                      'Issues', 'Changelog'), entry)
            self.assertTrue(re.match(r'^https://[^\s]+$', url), entry)

    def test_the_long_description_is_the_index_page(self):
        metadata = self.metadata()
        self.assertEqual('text/markdown', metadata['Description-Content-Type'])
        self.assertEqual(read_text(INDEX_PAGE).strip(),
                         metadata.get_payload().strip())

    def test_the_entry_points(self):
        entry_points = self.dist_info('entry_points.txt')
        sections = dict(re.findall(r'^\[(\w+)\]\n((?:.+\n?)*)', entry_points,
                                   re.MULTILINE))
        self.assertEqual(['console_scripts', 'pytest11'], sorted(sections))
        self.assertEqual('pymta = pymta.cli:main', sections['console_scripts'].strip())
        self.assertEqual('pymta.pytest_plugin = pymta.pytest_plugin',
                         sections['pytest11'].strip())

    def test_the_wheel_holds_the_package_and_the_license(self):
        names = self.wheel_names()
        package = set(name for name in names if not name.startswith('pymta-'))
        self.assertEqual(files_below(ROOT, 'pymta'), package)
        self.assertTrue([name for name in names
                         if name.endswith('.dist-info/licenses/COPYING.txt')
                         or name.endswith('.dist-info/COPYING.txt')], names)

    # --- the sdist ------------------------------------------------------------
    def sdist_files(self):
        with tarfile.open(self.sdist) as archive:
            prefix = 'pymta-%s/' % self.version
            return set(member.name[len(prefix):] for member in archive.getmembers()
                       if member.isfile())

    def test_the_sdist_holds_the_package_tests_docs_and_examples_completely(self):
        shipped = self.sdist_files()
        for folder in SDIST_FOLDERS:
            expected = files_below(ROOT, folder)
            self.assertTrue(expected, folder)
            self.assertEqual(set(), expected - shipped, folder)
        self.assertEqual(set(), SDIST_FILES - shipped)

    def test_the_sdist_holds_nothing_else(self):
        unexpected = [name for name in self.sdist_files()
                      if name not in SDIST_FILES
                      and name.split('/')[0] not in SDIST_FOLDERS + ('pymta.egg-info',)]
        self.assertEqual([], unexpected)
        self.assertEqual([], [name for name in self.sdist_files()
                              if name.endswith(('.pyc', '.pyo'))
                              or '__pycache__' in name])

    def test_every_test_module_imports_from_the_unpacked_sdist(self):
        # (Python 3.13 with the wheel's dependencies; neither pytest nor
        # hypothesis there: the test modules must import without them)
        # (the test modules import the support modules; mta_server_process.py
        # is a program, not a module)
        modules = sorted('tests.' + name[len('tests/'):-len('.py')]
                         for name in self.sdist_files()
                         if re.match(r'^tests/test_\w+\.py$', name))
        self.assertTrue('tests.test_packaging' in modules)
        script = ('import importlib, sys\n'
                  'for name in sys.argv[1:]:\n'
                  '    importlib.import_module(name)\n'
                  'import pymta\n'
                  'print(pymta.__file__)\n')
        status, output = run([self.environments['3.13']['python'], '-c', script]
                             + modules, cwd=self.sdist_dir)
        self.assertEqual(0, status, output)
        # (the sdist's pymta, the current directory coming first)
        self.assertTrue(output.strip().startswith(self.sdist_dir), output)

    def test_the_tests_on_readme_docs_and_examples_pass_in_the_unpacked_sdist(self):
        env = build_environment()
        env.pop('PYTHONWARNINGS')
        # (the sdist's own pymta, not an installed one: the examples run
        # under pytest are skipped there, pytest is not installed)
        env.pop('PYMTA_TEST_SITE_PACKAGES', None)
        status, output = run([self.environments['3.13']['python'], '-m', 'unittest']
                             + list(SDIST_TEST_MODULES), cwd=self.sdist_dir, env=env)
        self.assertEqual(0, status, output)
        self.assertTrue(re.search(r'^OK\b', output, re.MULTILINE), output)

    # --- the wheel installed ----------------------------------------------------
    def assert_installed(self, minor):
        directory = self.environments[minor]['directory']
        script = ('import pymta; print(pymta.__version__); print(pymta.__file__)\n'
                  'from pymta import *\n'
                  'print(PythonMTA.__module__)')
        status, output = self.run_in(minor, '-c', script)
        self.assertEqual(0, status, output)
        version, filename, module = output.split()[-3:]
        self.assertEqual(self.version, version)
        self.assertTrue(filename.startswith(directory + os.sep), filename)
        self.assertEqual('pymta.mta', module)

        dist_info = glob.glob(os.path.join(directory, 'lib', 'python*',
                                           'site-packages',
                                           'pymta-%s.dist-info' % self.version))
        self.assertEqual(1, len(dist_info), dist_info)
        entry_points = read_text(os.path.join(dist_info[0], 'entry_points.txt'))
        self.assertTrue('pymta.pytest_plugin = pymta.pytest_plugin' in
                        entry_points)

        # the console script (the CLI itself: tests/test_cli.py)
        script = os.path.join(directory, 'bin', 'pymta')
        self.assertTrue(os.access(script, os.X_OK), script)
        self.assertTrue('from pymta.cli import main' in read_text(script))
        status, output = run([script, '--help'], cwd=self.workdir)
        self.assertEqual(0, status, output)
        self.assert_serves_into_a_maildir(minor)

    def assert_serves_into_a_maildir(self, minor):
        """What a new user does: ``python -m pymta --maildir DIR`` from
        the installed wheel, a message with swaks, the message in DIR."""
        swaks = find_executable('swaks')
        if swaks is None:
            self.fail('swaks is not installed (.ci/packages installs it)')
        maildir = os.path.join(self.workdir, 'maildir-%s' % minor)
        with open(os.devnull, 'rb') as devnull:
            server = subprocess.Popen(
                [self.environments[minor]['python'], '-m', 'pymta', '--host',
                 '127.0.0.1', '--port', '0', '--maildir', maildir,
                 '--quiet'], stdin=devnull, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, cwd=self.workdir)
        try:
            # (the first line says where it listens; select bounds the wait)
            self.assertTrue(select.select([server.stdout], [], [], 30.0)[0])
            line = server.stdout.readline().decode('ascii')
            self.assertTrue(' listening on 127.0.0.1:' in line, line)
            port = int(line.split('127.0.0.1:')[1].split()[0])
            status, sent = run([swaks, '--server', '127.0.0.1:%d' % port,
                                '--from', 'me@example.com', '--to',
                                'you@example.com', '--header',
                                'Subject: from the wheel'])
            self.assertEqual(0, status, sent)
            server.send_signal(signal.SIGINT)
            # (Ctrl-C: the output ends, within the time the wait allows)
            ended = False
            while select.select([server.stdout], [], [], 30.0)[0]:
                if not server.stdout.read(4096):
                    ended = True
                    break
            self.assertTrue(ended, 'still running 30 s after Ctrl-C')
            self.assertEqual(0, server.wait())
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
            server.stdout.close()
        stored = os.listdir(os.path.join(maildir, 'new'))
        self.assertEqual(1, len(stored), stored)
        message = read_text(os.path.join(maildir, 'new', stored[0]))
        self.assertTrue('\nSubject: from the wheel\n' in message, message)
        self.assertTrue(message.startswith('Return-Path: <me@example.com>\n'),
                        message)

    def test_the_wheel_installs_on_python_2_7(self):
        self.assert_installed('2.7')
        self.assertTrue('Successfully installed' in
                        self.environments['2.7']['install_output'])

    def test_the_wheel_installs_on_python_3_13(self):
        self.assert_installed('3.13')

    def test_python_2_7_builds_the_same_universal_wheel_from_the_sdist(self):
        # with the setuptools 44 and wheel 0.37 that virtualenv put there
        # (the default warning filters: with DeprecationWarning shown, the
        # vendored packages of 2.7's pip warn about themselves)
        wheels = os.path.join(self.workdir, 'wheels27')
        env = build_environment()
        env.pop('PYTHONWARNINGS')
        # (the sdist's own pymta, not an installed one: the examples run
        # under pytest are skipped there, pytest is not installed)
        env.pop('PYMTA_TEST_SITE_PACKAGES', None)
        status, output = self.run_in('2.7', '-m', 'pip', 'wheel', '-v', '--no-deps',
                                     '--no-build-isolation', '-w', wheels, self.sdist,
                                     env=env)
        self.assertEqual(0, status, output)
        self.assertEqual([os.path.basename(self.wheel)], os.listdir(wheels))
        # (pip's own notice that 2.7 is past its end of life is not the build's)
        self.assertEqual([], [line for line in warnings_in(output)
                              if 'DEPRECATION: Python 2.7 reached the end' not in line
                              and 'is ignored: it is neither a file nor a directory'
                              not in line], output)
