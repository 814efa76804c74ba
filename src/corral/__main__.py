"""``python -m corral`` runs the same command line as the ``corral`` script."""

from corral.cli.main import app

app(prog_name="corral")
