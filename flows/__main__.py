"""`python -m flows` runs the newsmon command line."""

from flows.cli import main

main()
