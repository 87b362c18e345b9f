"""`python -m pytest_cloudevents`: the console script `pytest-cloudevents`."""

from __future__ import annotations

import sys

from pytest_cloudevents.cli import main

sys.exit(main())
