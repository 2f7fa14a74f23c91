# -*- coding: utf-8 -*-
"""The pytest plugin (registered as ``pymta`` through the ``pytest11``
entry point, so installing pymta is all it takes; a vendored copy loads
it with ``-p pymta.pytest_plugin`` or ``pytest_plugins``).

Fixtures:

* ``smtp_server``: a fresh, started ``pymta.testing.SMTPTestServer`` per
  test (``host``, ``port``, ``messages``, ``wait_for_messages()``,
  ``clear_messages()``), stopped after it;
* ``make_smtp_server``: a factory, ``make_smtp_server(**options)`` starts
  one with ``SMTPTestServer``'s options (policy, authenticator, TLS, size
  limit, fault injection, ...); every server it made stops after the
  test.

Each server listens on a free port of its own, so tests run in parallel
(pytest-xdist) never share one.
"""

from __future__ import absolute_import

import pytest

from .testing import SMTPTestServer


@pytest.fixture
def make_smtp_server():
    """A factory of started ``SMTPTestServer`` s, each stopped after the
    test."""
    servers = []

    def make(**options):
        server = SMTPTestServer(**options)
        servers.append(server)
        return server.start()
    try:
        yield make
    finally:
        while servers:
            servers.pop().stop()


@pytest.fixture
def smtp_server(make_smtp_server):
    """A started ``SMTPTestServer`` with the default options."""
    return make_smtp_server()
