"""CLI command groups. Each module defines ``register(app)`` adding its commands to the
``hwnn`` typer app; ``hwnn.cli`` lists the modules. Commands are thin: they parse options,
call the public API, and print a rich table or ``--json``."""
