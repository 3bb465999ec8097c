"""``python -m dsviz_widget demo``: see :mod:`dsviz_widget._cli`."""

from __future__ import annotations

from dsviz_widget._cli import main

raise SystemExit(main())
