"""The bundle's one executable: the workstation, or the backend when started as ``teleconsult-server``.

One executable keeps the bundle to one copy of Python and the shared libraries; the Debian package's
``/usr/bin/teleconsult-server`` wrapper starts it with argv[0] set to that name.
"""

from __future__ import annotations

import multiprocessing
import os
import sys


def _run() -> int:
    name = os.path.basename(sys.argv[0])
    args = sys.argv[1:]
    # The workstation starts its embedded backend as `sys.executable -m backend serve ...`; in the
    # bundle sys.executable is this program, so `-m backend` is answered here.
    if args[:2] == ["-m", "backend"]:
        name, args = "teleconsult-server", args[2:]
    elif args[:2] == ["-m", "app"]:
        args = args[2:]
    if name.startswith("teleconsult-server"):
        from backend.cli import main as server_main

        return server_main(args)
    from app.cli import main as app_main

    return app_main(args)


if __name__ == "__main__":
    multiprocessing.freeze_support()
    raise SystemExit(_run())
