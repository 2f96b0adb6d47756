"""Hearth device firmware: portable core (hearth.core), platform ports, native runtime."""
__version__ = "0.1.0"
