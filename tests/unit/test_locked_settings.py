"""Settings IT locks in the site file: the value is in force and the user's own choice is overridden."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config.settings import ConfigError, UserSettings, apply_locks, load_site_config


def _site(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_locked_language_overrides_the_users_choice(tmp_path: Path) -> None:
    site = load_site_config(_site(tmp_path, '[locked]\nlanguage = "zh_CN"\n'))
    assert site.locked.names() == frozenset({"language"})
    mine = UserSettings(language="en", last_username="dr.chen")
    effective = apply_locks(mine, site)
    assert effective.language == "zh_CN" and effective.last_username == "dr.chen"
    assert mine.language == "en"  # the user's own object is not changed


def test_nothing_locked_by_default(tmp_path: Path) -> None:
    site = load_site_config(_site(tmp_path, 'site_name = "X"\n'))
    assert site.locked.names() == frozenset()
    mine = UserSettings(language="en")
    assert apply_locks(mine, site) is mine


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[locked]\ntheme = "dark"\n', "key 'locked.theme': unknown key"),
        ('[locked]\nlanguage = "fr"\n', "key 'locked.language': expected one of"),
    ],
)
def test_bad_locks_are_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_site_config(_site(tmp_path, text))
    assert message in caught.value.report()


def test_example_site_file_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "installer" / "site.toml.example"
    site = load_site_config(example)
    assert site.locked.names() == frozenset()  # the example shows the lock commented out
