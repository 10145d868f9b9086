"""``python -m directives`` is the ``directives`` command."""

from directives.cli import main

main()
