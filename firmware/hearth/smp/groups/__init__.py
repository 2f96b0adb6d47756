"""SMP groups: each module's register(server, ...) adds its commands."""
