"""CLI command modules; each defines ``register(cli)``."""
