"""CLI commands, one module each (see hearth_tools.cli for the contract)."""
