"""The command line as a user runs it: real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage


def run(args: list[str], env_extra: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_without_a_display_it_points_at_make_screenshot(isolated_home: Path) -> None:
    result = run(["--demo"], {"TELECONSULT_HOME": str(isolated_home)})
    assert result.returncode == 1
    assert "No display" in result.stderr and "make screenshot" in result.stderr


def test_a_bad_site_file_stops_start_up_with_its_message(isolated_home: Path, tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text("[security]\ninactivity_lock_minutes = 'soon'\n", encoding="utf-8")
    result = run(
        ["--demo", "--screenshot", str(tmp_path / "x.png"), "--site-config", str(site)],
        {"TELECONSULT_HOME": str(isolated_home)},
    )
    assert result.returncode == 2
    assert str(site) in result.stderr
    assert "key 'security.inactivity_lock_minutes': expected an integer, got 'soon'" in result.stderr
    assert not (tmp_path / "x.png").exists(), "no window, not even half-configured"


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_screenshot_renders_the_main_window(isolated_home: Path, tmp_path: Path, language: str) -> None:
    png = tmp_path / f"main-{language}.png"
    result = run(
        ["--demo", "--screenshot", str(png), "--lang", language, "--screenshot-delay", "0.2"],
        {"TELECONSULT_HOME": str(isolated_home)},
    )
    assert result.returncode == 0, result.stderr
    image = QImage(str(png))
    assert (image.width(), image.height()) == (1600, 1000)
    # Not a blank frame: the dark theme and the panels' text give many distinct colours.
    colours = {image.pixel(x, y) for x in range(0, 1600, 7) for y in range(0, 1000, 7)}
    assert len(colours) > 20
    log = (isolated_home / "logs" / "teleconsult.log").read_text(encoding="utf-8")
    assert "screenshot written" in log


def test_version(isolated_home: Path) -> None:
    result = run(["--version"], {"TELECONSULT_HOME": str(isolated_home)})
    assert result.returncode == 0 and result.stdout.startswith("teleconsult ")
