"""The benchmarks and probes of bench/README.md, run from the repository root as
``python -m bench.<script>`` (so that ``bench`` and ``tests.servers``, the shared
server helpers, import plainly). Not part of the test suite nor of the wheel.
"""
