"""``teleconsult``: the workstation's command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from app.logs import setup_logging
from app.versions import app_version
from core.config.paths import app_paths
from core.config.roles import Role
from core.config.settings import (
    ConfigError,
    UserSettingsStore,
    apply_locks,
    find_site_config,
    load_site_config,
)
from core.i18n import SUPPORTED_LANGUAGES, resolve_language

if TYPE_CHECKING:
    from app.context import Workstation
    from app.services import BackendLink

log = logging.getLogger("app")
_STARTED = time.perf_counter()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="teleconsult",
        description="Teleconsult Workstation: remote consultation and guided procedures.",
        epilog="`teleconsult doctor [--json]` checks this workstation and says what to do.",
    )
    parser.add_argument("--demo", action="store_true", help="tell the whole story on this machine alone")
    parser.add_argument(
        "--role",
        choices=[r.value for r in Role],
        default=Role.SPECIALIST.value,
        help="the role to open the demo as (default: specialist)",
    )
    parser.add_argument("--lang", choices=SUPPORTED_LANGUAGES, help="UI language (overrides settings)")
    parser.add_argument("--site-config", type=Path, help="site configuration file (TOML)")
    parser.add_argument(
        "--screenshot",
        type=Path,
        metavar="PNG",
        help="render the main window to this PNG and exit (works without a display)",
    )
    parser.add_argument(
        "--screenshot-delay",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds to let the window settle before the screenshot",
    )
    parser.add_argument("--reset-layout", action="store_true", help="start with the default panel layout")
    parser.add_argument("--exit-after-paint", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--version", action="version", version=f"teleconsult {app_version()}")
    return parser.parse_args(argv)


def has_display() -> bool:
    if sys.platform != "linux":
        return True
    return bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")
    )


def doctor(argv: list[str]) -> int:
    """``teleconsult doctor [--json] [--site-config FILE]``: check this workstation, say what to do."""
    from app.doctor import doctor_main, render_probe

    if argv == ["--render-probe"]:  # the child process of the 3D check (the bundle has no -m)
        import json

        print(json.dumps(render_probe()), flush=True)
        return 0
    return doctor_main(argv, app_paths(), app_version())


def _screenshot_ready(link: BackendLink, ws: Workstation) -> Callable[[], bool]:
    """When the window shows what a screenshot is for: the demo signed in with its worklist filled
    (for the specialist, with the county doctor's live request in it);
    without the demo, the backend reached (a sign-in dialog, then). A backend or sign-in failure is
    ready too: the picture shows it."""
    from app.demo import LIVE_REQUEST

    seen = {"failed": False, "fetches": 0}

    def failed(*_args: object) -> None:
        seen["failed"] = True

    def fetched() -> None:
        seen["fetches"] += 1

    link.sig_failed.connect(failed)
    link.sig_sign_in_failed.connect(failed)
    link.worklist.changed.connect(fetched)
    live_question = LIVE_REQUEST["question"]

    def ready() -> bool:
        if seen["failed"]:
            return True
        if not ws.demo:
            return link.client is not None
        user = link.sign_in_state.user
        if user is None:
            return False
        if user.role == Role.IT_ADMIN.value:
            return True  # IT has no worklist
        items = link.worklist.items
        if ws.role is Role.SPECIALIST:
            return any(i.question == live_question for i in items)  # the identity waits for accept
        return seen["fetches"] > 0

    return ready


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["doctor"]:
        return doctor(argv[1:])
    args = parse_args(argv)
    paths = app_paths().ensure()
    setup_logging(paths.log_file)
    log.info("teleconsult %s starting (demo=%s, role=%s)", app_version(), args.demo, args.role)

    headless = args.screenshot is not None or args.exit_after_paint
    if not has_display():
        if not headless:
            print(
                "No display found (DISPLAY is not set), so the workstation window cannot open here.\n"
                "To see what it shows on this machine, run `make screenshot` (or "
                "`teleconsult --demo --screenshot out.png`) and open the PNG.",
                file=sys.stderr,
            )
            return 1
        os.environ["QT_QPA_PLATFORM"] = "offscreen"

    site_file = find_site_config(args.site_config)
    try:
        site = load_site_config(site_file)
    except ConfigError as exc:
        log.error("%s", exc)
        print(exc.report(), file=sys.stderr)
        if not headless:
            from app.gui import create_application, show_config_error

            create_application(sys.argv[:1])
            show_config_error(exc.report())
        return 2

    store = UserSettingsStore(paths.user_settings_file)
    settings = apply_locks(store.load(), site)
    # A language the site locked wins over --lang too: the lock is the site's policy.
    wanted = None if site.locked.language else args.lang
    language = resolve_language(wanted, settings.language, site.ui.language)

    from PySide6.QtCore import QTimer

    from app.context import Workstation
    from app.gui import CrashReporter, LanguageManager, create_application
    from app.workstation import compose

    ws = Workstation(
        paths=paths,
        site=site,
        site_file=site_file,
        settings_store=store,
        settings=settings,
        role=Role(args.role),
        language=language,
        demo=args.demo,
    )
    app = create_application(sys.argv[:1])
    languages = LanguageManager(app)
    languages.apply(language)
    crash = CrashReporter(paths.log_file, app)
    crash.install()

    composed = compose(ws)
    window = composed.window
    window.sig_language_requested.connect(
        lambda chosen: languages.apply(resolve_language(None, chosen, site.ui.language))
    )
    if args.reset_layout:
        window.reset_layout()
    if args.screenshot is not None:
        window.resize(1600, 1000)  # the same picture whatever size the window was last left at
    if store.recovered_from is not None:
        from core.i18n import tr

        notice = tr(
            "MainWindow", "Your settings file was damaged and was set aside as %1; defaults are in use."
        )
        window.statusBar().showMessage(notice.replace("%1", str(store.recovered_from)), 30000)
    window.show()
    # The backend starts after the window is on screen: start-up never waits for it.
    QTimer.singleShot(0, composed.link.start)

    if args.exit_after_paint:

        def report_paint() -> None:
            print(f"first-paint {time.perf_counter() - _STARTED:.4f}", flush=True)
            app.quit()

        window.sig_first_paint.connect(report_paint)
    if args.screenshot is not None:
        from app.screenshot import schedule_screenshot

        schedule_screenshot(
            window, args.screenshot, args.screenshot_delay, _screenshot_ready(composed.link, ws)
        )

    code = app.exec()
    composed.shutdown()
    crash.uninstall()
    log.info("teleconsult exiting with %s", code)
    return int(code)
