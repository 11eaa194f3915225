"""`python -m preserve` runs the command line."""

from preserve.cli import main

main()
