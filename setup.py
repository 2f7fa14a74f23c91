#!/usr/bin/env python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Packaging for pymta. One code base for Python 2.7 and 3.6-3.13, so this file
must also work with the old setuptools that comes with Python 2.7 (44.x) as well
as with the new ones (tests/test_packaging.py builds with a pinned new one and
fails on any warning of the build).

- The version is defined once, as ``__version__`` in pymta/__init__.py; read
  from there as text (importing pymta here would need its dependencies).
- The wheel is universal, ``py2.py3-none-any``: setup.cfg sets the python tag
  (not ``universal = 1``, which new setuptools reports as deprecated).
- The long description is docs/index-page.md, written for the index page;
  README.md is for a checkout.
- No "License ::" classifier: new setuptools deprecates them in favour of the
  license field.
- No project URLs yet: there is no public home, repository or documentation
  site to name. Add ``project_urls={'Homepage': ..., 'Source': ...,
  'Documentation': ..., 'Issues': ...}`` here once there is.
"""

import io
import os
import re

from setuptools import setup


HERE = os.path.abspath(os.path.dirname(__file__))


def read_text(*path):
    with io.open(os.path.join(HERE, *path), encoding='utf-8') as text_file:
        return text_file.read()


def read_version():
    match = re.search(r"^__version__ = '([^']+)'$",
                      read_text('pymta', '__init__.py'), re.MULTILINE)
    if match is None:
        raise RuntimeError("no __version__ = '...' line in pymta/__init__.py")
    return match.group(1)


setup(
    name='pymta',
    version=read_version(),
    description='Library to build a custom SMTP server in Python, '
                'above all the real SMTP server that test suites send mail to',
    long_description=read_text('docs', 'index-page.md'),
    long_description_content_type='text/markdown',
    license='MIT',
    author='the pymta developers',
    # only the library: the tests are in the sdist, not installed
    packages=['pymta', 'pymta.lib'],
    install_requires=[
        'six',
        'pycerberus>=0.7',
    ],
    python_requires='>=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*, !=3.5.*',
    entry_points={
        'console_scripts': ['pymta = pymta.cli:main'],
        # the pytest fixtures smtp_server and make_smtp_server (named as
        # the module, so that '-p pymta.pytest_plugin' and a conftest's
        # pytest_plugins find it registered instead of loading it twice)
        'pytest11': ['pymta.pytest_plugin = pymta.pytest_plugin'],
    },
    zip_safe=False,
    keywords='smtp server mta testing email pytest',
    classifiers=[
        'Development Status :: 4 - Beta',
        'Framework :: Pytest',
        'Intended Audience :: Developers',
        'Operating System :: POSIX',
        'Programming Language :: Python',
        'Programming Language :: Python :: 2',
        'Programming Language :: Python :: 2.7',
        'Programming Language :: Python :: 3',
        'Programming Language :: Python :: 3.6',
        'Programming Language :: Python :: 3.7',
        'Programming Language :: Python :: 3.8',
        'Programming Language :: Python :: 3.9',
        'Programming Language :: Python :: 3.10',
        'Programming Language :: Python :: 3.11',
        'Programming Language :: Python :: 3.12',
        'Programming Language :: Python :: 3.13',
        'Programming Language :: Python :: Implementation :: CPython',
        'Topic :: Communications :: Email',
        'Topic :: Communications :: Email :: Mail Transport Agents',
        'Topic :: Software Development :: Libraries :: Python Modules',
        'Topic :: Software Development :: Testing',
    ],
)
