# -*- coding: utf-8 -*-
"""pymta: a library to build a custom SMTP server in Python.

The names here are those of ``pymta.api``, ``pymta.model``, ``pymta.mta``,
``pymta.session``, ``SMTPCommandParser`` and ``BlackholeDeliverer``.
Importing pymta does no I/O and starts nothing. On Python 3.7+ each name is
imported when it is first used, so that ``import pymta.connection`` (the
sans-I/O core) does not load the server; older Pythons import them all at
once.

``pymta.__version__`` is the version of this release (setup.py reads it from
here); it is not in ``__all__``.
"""

from __future__ import absolute_import

from importlib import import_module

from .compat import MODULE_GETATTR


__version__ = '0.9.0.dev0'

#: name -> the module that defines it
_EXPORTED_FROM = {
    'IAuthenticator': 'api', 'IMessageDeliverer': 'api',
    'IMTAPolicy': 'api', 'PolicyDecision': 'api', 'PyMTAException': 'api',
    'Message': 'model', 'Peer': 'model',
    'PythonMTA': 'mta',
    'SMTPSession': 'session',
    'SMTPCommandParser': 'command_parser',
    'BlackholeDeliverer': 'deliverer',
}

__all__ = sorted(_EXPORTED_FROM)


def _load(name):
    value = getattr(import_module('.' + _EXPORTED_FROM[name], __name__), name)
    globals()[name] = value
    return value


def __getattr__(name):
    if name not in _EXPORTED_FROM:
        raise AttributeError('module %r has no attribute %r'
                             % (__name__, name))
    return _load(name)


def __dir__():
    return sorted(set(globals()) | set(__all__))


if not MODULE_GETATTR:
    for _name in __all__:
        _load(_name)
    del _name
