"""``python -m rmasim``: the same command line as the ``rmasim`` script."""

from .cli import app

app(prog_name="rmasim")
