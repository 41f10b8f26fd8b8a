"""``python -m horizon.cli``: the ``horizon`` command."""

from horizon.cli import main

raise SystemExit(main())
