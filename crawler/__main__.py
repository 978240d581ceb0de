"""`python -m crawler` is the `briefs` command."""

from crawler.cli import main

main()
