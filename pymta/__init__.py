# -*- coding: utf-8 -*-
"""pymta: a library to build a custom SMTP server in Python.

The names here are those of ``pymta.api``, ``pymta.model``, ``pymta.mta``,
``pymta.session``, ``SMTPCommandParser`` and ``BlackholeDeliverer``.
Importing pymta does no I/O and starts nothing.
"""

from __future__ import absolute_import

from .api import *
from .command_parser import SMTPCommandParser
from .deliverer import BlackholeDeliverer
from .model import *
from .mta import *
from .session import *

from . import api as _api, model as _model, mta as _mta, session as _session

__all__ = (list(_api.__all__) + list(_model.__all__) + list(_mta.__all__)
           + list(_session.__all__)
           + ['SMTPCommandParser', 'BlackholeDeliverer'])
