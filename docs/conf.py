"""Sphinx configuration for Flask-Events."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "Flask-Events"
author = "The Flask-Events authors"
copyright = "2026, The Flask-Events authors"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
intersphinx_mapping = {}
nitpicky = False
html_theme = "alabaster"
html_theme_options = {"description": "The events protocol for Flask"}
exclude_patterns = ["_build"]
