"""`python -m backend ...` is `teleconsult-server ...`."""

from backend.cli import main

raise SystemExit(main())
