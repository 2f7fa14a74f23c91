# -*- coding: utf-8 -*-
"""Sphinx configuration of pymta's documentation.

Build (what ``.ci/docs`` runs, warnings are errors)::

    sphinx-build -W --keep-going -b html docs build/docs

The pages are Markdown (myst-parser), the API reference is autodoc of the
checkout's ``pymta`` (found through ``sys.path``, not an installed copy).
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(HERE)
sys.path.insert(0, CHECKOUT)


def _version():
    # (defined once, in pymta/__init__.py, as setup.py reads it too)
    with open(os.path.join(CHECKOUT, 'pymta', '__init__.py')) as init_file:
        return re.search(r"^__version__ = '([^']+)'$", init_file.read(),
                         re.MULTILINE).group(1)


project = 'pymta'
author = 'the pymta developers'
copyright = 'the pymta developers (MIT license)'
release = _version()
version = release

extensions = [
    'myst_parser',
    'sphinx.ext.autodoc',
]

source_suffix = {
    '.rst': 'restructuredtext',
    '.md': 'markdown',
}
root_doc = 'index'
# (index-page.md is the package's long description, for the index)
exclude_patterns = ['_build', 'index-page.md']

# links to the headings of a page: [text](policies.md#closing-the-connection)
myst_heading_anchors = 3

autodoc_member_order = 'bysource'
autodoc_default_options = {
    'members': True,
    'show-inheritance': True,
}
# the signatures as written (no evaluated default values of constants)
autodoc_preserve_defaults = True

html_theme = 'alabaster'
html_static_path = []
html_theme_options = {
    'description': 'a custom SMTP server in Python, for tests and more',
}
