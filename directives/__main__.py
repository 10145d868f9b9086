"""``python -m directives`` is the ``directives`` command."""

from directives.cli import main

if __name__ == "__main__":  # guarded: the dispatcher's spawned workers import this module
    main()
