"""Instrument drivers: one module per family, each a frozen config, a pure codec and a thin transport.

The registry (drivers/registry.py) is the one list of drivers the agent knows.
"""
