"""``python -m hwnn`` runs the CLI."""

from hwnn.cli import main

main()
