#!/usr/bin/env python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Packaging for pymta. One code base for Python 2.7 and 3.6-3.13, so this file
must also work with the old setuptools that comes with Python 2.7."""

import io
import os

from setuptools import setup


HERE = os.path.abspath(os.path.dirname(__file__))


def read_text(filename):
    with io.open(os.path.join(HERE, filename), encoding='utf-8') as text_file:
        return text_file.read()


setup(
    name='pymta',
    version='0.9.0.dev0',
    description='Library to build a custom SMTP server in Python',
    long_description=read_text('README.md'),
    long_description_content_type='text/markdown',
    license='MIT',
    author='the pymta developers',
    # only the library: the tests are not installed
    packages=['pymta', 'pymta.lib'],
    install_requires=[
        'six',
        'pycerberus>=0.7',
    ],
    python_requires='>=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*, !=3.5.*',
    # the pytest fixtures smtp_server and make_smtp_server
    entry_points={'pytest11': ['pymta = pymta.pytest_plugin']},
    zip_safe=False,
    keywords='smtp server mta testing email',
    classifiers=[
        'Development Status :: 4 - Beta',
        'Intended Audience :: Developers',
        'License :: OSI Approved :: MIT License',
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
        'Topic :: Communications :: Email',
        'Topic :: Communications :: Email :: Mail Transport Agents',
        'Topic :: Software Development :: Libraries :: Python Modules',
        'Topic :: Software Development :: Testing',
        'Framework :: Pytest',
    ],
)
