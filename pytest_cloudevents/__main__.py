"""`python -m pytest_cloudevents`: the console script `pytest-cloudevents`."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
