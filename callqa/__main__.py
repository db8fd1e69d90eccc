"""`python -m callqa` runs the command line."""

from callqa.cli import app

app()
