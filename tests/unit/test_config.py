from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.config.settings import (
    ConfigError,
    SiteConfig,
    UserSettings,
    UserSettingsStore,
    find_site_config,
    load_site_config,
)

GOOD = """
site_name = "County Hospital No. 2"
[backend]
url = "https://teleconsult.example.org"
[[ice_servers]]
urls = ["stun:stun.example.org:3478"]
[[ice_servers]]
urls = ["turn:turn.example.org:3478?transport=udp"]
username = "ws"
credential = "secret"
[[pacs]]
name = "Orthanc"
kind = "dicomweb"
url = "http://127.0.0.1:8042/dicom-web"
[[pacs]]
name = "Main PACS"
kind = "dimse"
host = "10.1.2.3"
port = 104
called_ae = "MAINPACS"
[ui]
language = "zh_CN"
[security]
inactivity_lock_minutes = 5
[worklist]
target_wait_minutes = 20
[plugins]
deny = ["experimental.thing"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_complete_site_file_loads(tmp_path: Path) -> None:
    site = load_site_config(write(tmp_path, GOOD))
    assert site.site_name == "County Hospital No. 2"
    assert str(site.backend.url) == "https://teleconsult.example.org/"
    assert [s.urls[0].split(":")[0] for s in site.ice_servers] == ["stun", "turn"]
    assert site.pacs[1].called_ae == "MAINPACS"
    assert site.ui.language == "zh_CN"
    assert site.security.inactivity_lock_minutes == 5
    assert site.worklist.target_wait_minutes == 20
    assert site.plugins.deny == ["experimental.thing"]


def test_no_site_file_gives_defaults() -> None:
    site = load_site_config(None)
    assert site == SiteConfig()
    assert site.backend.url == "embedded"
    assert site.security.inactivity_lock_minutes == 10


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[security]\ninactivity_lock_minutes = 'ten'",
            "key 'security.inactivity_lock_minutes': expected an integer, got 'ten'",
        ),
        (
            "[security]\ninactivity_lock_minutes = 0",
            "key 'security.inactivity_lock_minutes': expected a number >= 1, got 0",
        ),
        (
            "[security]\ninactivity_lock_minutes = 1000",
            "key 'security.inactivity_lock_minutes': expected a number <= 240, got 1000",
        ),
        ("[ui]\nlanguage = 'fr'", "key 'ui.language': expected one of 'system', 'en' or 'zh_CN', got 'fr'"),
        ("[backend]\nurl = 'ftp://pacs'", "key 'backend.url': must be 'embedded' or an http(s):// URL"),
        ("[backend]\nverify_tls = 'maybe'", "key 'backend.verify_tls': expected true or false, got 'maybe'"),
        (
            "[[ice_servers]]\nurls = ['http://stun']",
            "key 'ice_servers[0].urls': 'http://stun' must start with stun:",
        ),
        ("[[ice_servers]]\nurls = []", "key 'ice_servers[0].urls'"),
        (
            "[[pacs]]\nname = 'x'\nkind = 'dimse'",
            "key 'pacs[0]': a dimse endpoint needs 'host', 'port' and 'called_ae'",
        ),
        ("[[pacs]]\nname = 'x'\nkind = 'dicomweb'", "key 'pacs[0]': a dicomweb endpoint needs 'url'"),
        (
            "[[pacs]]\nname = 'x'\nkind = 'dimse'\nhost = 'h'\nport = 70000\ncalled_ae = 'A'",
            "key 'pacs[0].port': expected a number <= 65535, got 70000",
        ),
        ("[[pacs]]\nname = 'x'\nkind = 'wado'", "key 'pacs[0].kind': expected one of 'dicomweb' or 'dimse'"),
        (
            "[worklist]\ntarget_wait_minutes = -5",
            "key 'worklist.target_wait_minutes': expected a number >= 1",
        ),
        ("colour = 'blue'", "key 'colour': unknown key (check the spelling)"),
        ("[security]\ninactivity_lock_minute = 5", "key 'security.inactivity_lock_minute': unknown key"),
        ("[plugins]\ndeny = 'x'", "key 'plugins.deny': expected a list, got 'x'"),
    ],
)
def test_each_bad_key_names_file_key_and_expectation(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_site_config(path)
    assert caught.value.path == path
    assert any(message in problem for problem in caught.value.problems), caught.value.problems
    assert str(path) in caught.value.report()


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "[ui]\nlanguage = 'de'\n[security]\ninactivity_lock_minutes = 'x'\n")
    with pytest.raises(ConfigError) as caught:
        load_site_config(path)
    assert len(caught.value.problems) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"[ui\nlanguage = 'en'", "not valid TOML"), (b"\xff\xfe\x00bad", "not UTF-8 text")],
)
def test_unreadable_files_are_reported(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "site.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        load_site_config(path)


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_site_config(tmp_path / "nope.toml")


def test_site_file_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit, env = tmp_path / "a.toml", tmp_path / "b.toml"
    monkeypatch.setenv("TELECONSULT_SITE_CONFIG", str(env))
    assert find_site_config(explicit) == explicit
    assert find_site_config(None) == env


def test_user_settings_round_trip(tmp_path: Path) -> None:
    store = UserSettingsStore(tmp_path / "settings.json")
    settings = store.load()
    settings.language = "zh_CN"
    store.save(settings)
    assert UserSettingsStore(tmp_path / "settings.json").load().language == "zh_CN"


def test_corrupt_user_settings_are_set_aside_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{not json", encoding="utf-8")
    store = UserSettingsStore(path)
    assert store.load() == UserSettings()
    assert store.recovered_from is not None
    assert store.recovered_from.read_text(encoding="utf-8") == "{not json"
    assert not path.exists()


def test_user_settings_with_bad_values_are_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"language": "klingon"}), encoding="utf-8")
    store = UserSettingsStore(path)
    assert store.load().language == "system"
    assert store.recovered_from is not None


def test_the_shipped_example_site_file_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "installer" / "site.toml.example"
    site = load_site_config(example)
    assert site.pacs[1].kind == "dimse"
    assert site.ice_servers[1].username == "workstation"


def test_teaching_janus_url_is_optional_and_validated(tmp_path: Path) -> None:
    assert SiteConfig().teaching.janus_url == ""  # peer to peer unless IT names a Janus
    text = "[teaching]\njanus_url = ' http://sfu.example.org:8088/janus '\n"
    site = load_site_config(write(tmp_path, text))
    assert site.teaching.janus_url == "http://sfu.example.org:8088/janus"
    assert load_site_config(write(tmp_path, "[teaching]\njanus_url = ''\n")).teaching.janus_url == ""
    for bad, message in (
        ("janus_url = 'sfu.example.org:8088'", "key 'teaching.janus_url': must be empty or an http(s)://"),
        ("janus_url = 8088", "key 'teaching.janus_url': expected a string, got 8088"),
        ("janus = 'http://x'", "key 'teaching.janus': unknown key"),
    ):
        with pytest.raises(ConfigError) as caught:
            load_site_config(write(tmp_path, f"[teaching]\n{bad}\n"))
        assert any(message in problem for problem in caught.value.problems), caught.value.problems
