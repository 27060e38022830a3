"""Transports other than HTTP: thin adapters over the one
:class:`~flask_events.dispatch.Dispatcher`.
"""
