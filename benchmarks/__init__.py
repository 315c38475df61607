"""Benchmarks against public logs and peer libraries (not part of the product build).

Only plain numpy/pandas at import time: ``benchmarks.real.peers`` and ``benchmarks.real.peers_io``
also run inside the peer venv (RecTools, numpy<2), which has none of the product packages.
"""
