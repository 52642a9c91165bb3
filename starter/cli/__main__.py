"""``python -m starter.cli``: the ``unbind`` command."""

from starter.cli import main

main()
