"""Security hardening of sign-in and accounts: lockouts an outsider cannot cause, X-Forwarded-For only
from trusted proxies, the password rule, changing and resetting passwords, disabling accounts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.integration.conftest import Api

STRONG = "violet-harbour-42"


def _login(api: Api, username: str, password: str, via: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": via} if via else {}
    return api.http.post("/auth/login", json={"username": username, "password": password}, headers=headers)


def _actions(api: Api) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = api.ok("GET", "/audit?limit=1000", "it.admin")
    return records


def _user(api: Api, username: str) -> dict[str, Any]:
    return next(u for u in api.ok("GET", "/users", "it.admin") if u["username"] == username)


def test_one_address_cannot_lock_the_real_user_out(make_server: Callable[..., Api]) -> None:
    api = make_server(
        login_max_failures_per_account=3, login_max_failures_per_address=100, trusted_proxies=("127.0.0.1",)
    )
    for _ in range(6):
        assert _login(api, "dr.wang", "guess", via="203.0.113.5").status_code in (401, 429)
    # The guessing address is slowed down...
    assert _login(api, "dr.wang", "demo", via="203.0.113.5").status_code == 429
    # ...but the real user, from elsewhere, signs in, and the account is not locked.
    assert _login(api, "dr.wang", "demo", via="198.51.100.7").status_code == 200
    assert _user(api, "dr.wang")["locked"] is False


def test_failures_from_several_addresses_lock_until_it_unlocks(make_server: Callable[..., Api]) -> None:
    api = make_server(
        login_max_failures_per_account=3,
        login_max_failures_per_address=100,
        login_lock_min_addresses=3,
        trusted_proxies=("127.0.0.1",),
    )
    for i in range(3):
        assert _login(api, "dr.wang", "guess", via=f"203.0.113.{i + 1}").status_code == 401
    blocked = _login(api, "dr.wang", "demo", via="198.51.100.7")
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
    user = _user(api, "dr.wang")
    assert user["locked"] is True
    assert api.call("POST", f"/users/{user['id']}/unlock", "dr.chen").status_code == 403
    unlocked = api.ok("POST", f"/users/{user['id']}/unlock", "it.admin")
    assert unlocked["locked"] is False
    assert _login(api, "dr.wang", "demo", via="198.51.100.7").status_code == 200
    records = _actions(api)
    locked = [r for r in records if r["action"] == "auth.account_locked"]
    assert len(locked) == 1 and locked[0]["client"] == "203.0.113.3"
    assert any(r["action"] == "user.unlock" and r["actor"] == "it.admin" for r in records)


def test_forwarded_for_is_believed_only_from_trusted_proxies(make_server: Callable[..., Api]) -> None:
    # No trusted proxy: a local client cannot pose as many addresses to dodge the per-address limit.
    api = make_server(login_max_failures_per_account=100, login_max_failures_per_address=3)
    api.token("it.admin")  # signed in before the address is blocked
    for i in range(3):
        assert _login(api, f"x{i}", "guess", via=f"203.0.113.{i + 1}").status_code == 401
    assert _login(api, "dr.chen", "demo", via="198.51.100.9").status_code == 429
    failed = [r for r in _actions(api) if r["action"] == "auth.login_failed"]
    assert {r["client"] for r in failed} == {"127.0.0.1"}


def test_forwarded_for_from_a_trusted_proxy_names_the_client(make_server: Callable[..., Api]) -> None:
    api = make_server(trusted_proxies=("127.0.0.0/8",))
    # The client wrote the leftmost entry itself; the proxy appended the real peer.
    _login(api, "nobody", "guess", via="10.9.9.9, 203.0.113.77")
    failed = [r for r in _actions(api) if r["action"] == "auth.login_failed"]
    assert failed[-1]["client"] == "203.0.113.77"


def test_change_own_password(api: Api) -> None:
    keep = api.login("dr.chen")
    other = api.login("dr.chen")
    headers = {"Authorization": f"Bearer {keep['access_token']}"}

    def change(old: str, new: str) -> httpx.Response:
        body = {"old_password": old, "new_password": new, "refresh_token": keep["refresh_token"]}
        return api.http.post("/me/password", headers=headers, json=body)

    assert change("wrong", STRONG).status_code == 403
    assert change("demo", "short1").status_code == 422
    assert change("demo", "Password123").status_code == 422  # on the shipped common list
    assert change("demo", "i-am-dr.chen-ok").status_code == 422  # contains the username
    assert change("demo", STRONG).status_code == 204
    assert _login(api, "dr.chen", "demo").status_code == 401
    assert _login(api, "dr.chen", STRONG).status_code == 200
    # The other sign-in is revoked; the one that changed the password goes on.
    assert api.http.post("/auth/refresh", json={"refresh_token": other["refresh_token"]}).status_code == 401
    assert api.http.post("/auth/refresh", json={"refresh_token": keep["refresh_token"]}).status_code == 200
    actions = [r["action"] for r in _actions(api)]
    assert "user.password_change" in actions and "user.password_change_failed" in actions


def test_it_disables_enables_and_resets(api: Api) -> None:
    victim = api.login("dr.wang")
    user = _user(api, "dr.wang")
    assert api.call("POST", f"/users/{user['id']}/disable", "dr.chen").status_code == 403
    disabled = api.ok("POST", f"/users/{user['id']}/disable", "it.admin")
    assert disabled["disabled"] is True
    assert _login(api, "dr.wang", "demo").status_code == 401
    me = api.http.get("/me", headers={"Authorization": f"Bearer {victim['access_token']}"})
    assert me.status_code == 401
    assert api.http.post("/auth/refresh", json={"refresh_token": victim["refresh_token"]}).status_code == 401
    admin = _user(api, "it.admin")
    assert api.call("POST", f"/users/{admin['id']}/disable", "it.admin").status_code == 409
    assert api.ok("POST", f"/users/{user['id']}/enable", "it.admin")["disabled"] is False
    assert _login(api, "dr.wang", "demo").status_code == 200
    weak = api.call("POST", f"/users/{user['id']}/password", "it.admin", json={"new_password": "qwertyuiop"})
    assert weak.status_code == 422
    assert (
        api.call("POST", "/users/999999/password", "it.admin", json={"new_password": STRONG}).status_code
        == 404
    )
    api.ok("POST", f"/users/{user['id']}/password", "it.admin", json={"new_password": STRONG})
    assert _login(api, "dr.wang", "demo").status_code == 401
    assert _login(api, "dr.wang", STRONG).status_code == 200
    actions = [r["action"] for r in _actions(api)]
    for action in ("user.disable", "user.enable", "user.password_reset"):
        assert action in actions


def test_password_rule() -> None:
    from backend.users import password_problem

    assert password_problem("short", "u") is not None
    assert password_problem("1234567890", "u") == "password is too common"
    assert password_problem("xx-Dr.Li-xx-long", "dr.li") == "password must not contain the username"
    assert password_problem(STRONG, "dr.li") is None


def test_account_routes_for_every_role(api: Api) -> None:
    api.add_user("t.target", "trainee", "Target", password=STRONG)
    target = _user(api, "t.target")["id"]
    others = ("dr.chen", "dr.li", "student.zhao")
    for action, body in (
        ("disable", None),
        ("enable", None),
        ("unlock", None),
        ("password", {"new_password": STRONG}),
    ):
        path = f"/users/{target}/{action}"
        assert api.call("POST", path, None, json=body).status_code == 401
        for username in others:
            assert api.call("POST", path, username, json=body).status_code == 403, (path, username)
        assert api.call("POST", path, "it.admin", json=body).status_code == 200, path
    change = {"old_password": "demo", "new_password": STRONG}
    assert api.call("POST", "/me/password", None, json=change).status_code == 401
    for username in ("dr.chen", "dr.li", "it.admin"):
        assert api.call("POST", "/me/password", username, json=change).status_code == 204, username
