"""The ``corral`` command line (typer): ``simulate``, ``traces``, ``policies``."""
