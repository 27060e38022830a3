"""Packaging for Flask-Events."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(
    r'^__version__ = "([^"]+)"', (HERE / "flask_events" / "__init__.py").read_text(), re.M
).group(1)

setup(
    name="Flask-Events",
    version=VERSION,
    description="The events protocol (GuiaBolso/Go-Events) for Flask: versioned, "
    "documented, traceable events over HTTP, with schemas, batches and async handlers.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    packages=find_packages(include=["flask_events", "flask_events.*"]),
    package_data={"flask_events": ["py.typed", "templates/flask_events/*.html", "static/*"]},
    include_package_data=True,
    python_requires=">=3.9",
    install_requires=[
        "flask>=2.3",
        "flask-smorest>=0.42",
        "blinker>=1.6.2",
        "msgspec>=0.18.6",
        "simple-websocket>=1.0",  # event_class, for the WebSocket connections' readers
        "wsproto>=1.0",  # simple-websocket's engine: its LocalProtocolError on closed sockets
        "httpx>=0.25",  # with httpcore 0.18, whose network backend classes the client uses
        "httpcore>=0.18",  # the deadline backend (client_limits.py): NetworkBackend exported
    ],
    extras_require={
        "pydantic": ["pydantic>=2"],
        # python-socketio: 5.10, a push reaches the pushing process's own clients before
        # Redis is asked; <5.19, the releases whose private Server._handle_event_internal
        # the Socket.IO transport is tested with (it tells acknowledged events apart)
        # flask-socketio 5.3.6: the lowest tested (its test client with python-socketio 5.10)
        "socketio": ["flask-socketio>=5.3.6", "python-socketio>=5.10,<5.19"],
        "redis": ["flask-socketio>=5.3.6", "python-socketio>=5.10,<5.19", "redis>=4"],
        "prometheus": ["prometheus-client>=0.17"],
        "opentelemetry": ["opentelemetry-api>=1.20", "opentelemetry-sdk>=1.20"],
        "test": [
            "pytest>=7.4",
            "pytest-flask>=1.3",
            "flask-login>=0.6.3",  # tests/test_flask_login.py: login_required in handlers
            # coverage's own subprocess measurement (pyproject: patch = ["subprocess"]);
            # pytest-cov 7 dropped its own older mechanism, which clashed with it
            "pytest-cov>=7",
            "coverage[toml]>=7.10.6",
            "pydantic>=2",
            "openapi-spec-validator>=0.7",
            "playwright>=1.40",  # drives Debian's chromium; never downloads a browser
            "websocket-client>=1.6",
            "flask-sock>=0.7",  # an app's own WebSocket routes beside ours
            "flask-socketio>=5.3.6",
            "python-socketio[client]>=5.10,<5.19",
            "redis>=4",
            "prometheus-client>=0.17",
            "opentelemetry-api>=1.20",
            "opentelemetry-sdk>=1.20",
            "sphinx>=7",
            "hypothesis>=6.80",
            "gunicorn>=21.2",  # tests/test_body.py: real gthread and sync workers
            "schemathesis>=4; python_version >= '3.11'",  # 4.x needs 3.11
            # tests/test_readme.py runs setup.py egg_info: Python 3.12+ venvs have none
            "setuptools>=61",
        ],
        "bench": ["gunicorn>=21.2", "orjson>=3.9", "flask-sock>=0.7"],
        "dev": ["ruff", "mypy", "tox>=4"],
        "docs": ["sphinx>=7"],
    },
    # the pytest fixtures (send_event, events_recorder), loaded wherever the package is
    # installed; `-p no:flask_events` disables them
    entry_points={"pytest11": ["flask_events = flask_events.pytest_plugin"]},
    classifiers=[
        "Development Status :: 3 - Alpha",
        "Framework :: Flask",
        "Intended Audience :: Developers",
        "License :: OSI Approved :: MIT License",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Topic :: Internet :: WWW/HTTP :: WSGI :: Application",
        "Typing :: Typed",
    ],
)
