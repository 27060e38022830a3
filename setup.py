"""Packaging for Flask-Events: the metadata is pyproject.toml's [project] table."""

from setuptools import setup

setup()
