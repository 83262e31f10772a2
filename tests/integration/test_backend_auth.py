"""Sign-in, token rotation and reuse detection, sign-out, expiry, and the login rate limits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt

from backend.config import resolve_key_file
from tests.integration.conftest import Api


def _secret(api: Api) -> str:
    """The JWT secret: in its key file, outside the database (backend.server.resolve_secret)."""
    settings = api.server.settings
    return settings.secret or resolve_key_file(settings.database_url, settings.key_file).read_text().strip()


def test_login_returns_tokens_and_user(api: Api) -> None:
    body = api.login("dr.chen")
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert body["user"] == {
        "id": body["user"]["id"],
        "username": "dr.chen",
        "display_name": "Dr. Chen Jing",
        "role": "specialist",
        "specialties": ["cardiology", "radiology", "ultrasound"],
    }
    me = api.ok("GET", "/me", "dr.chen")
    assert me == body["user"]
    claims = jwt.decode(body["access_token"], _secret(api), algorithms=["HS256"])
    assert claims["sub"] == str(me["id"]) and claims["role"] == "specialist"
    assert claims["exp"] - claims["iat"] == 900


def test_bad_password_and_unknown_user_are_401(api: Api) -> None:
    for username, password in (("dr.chen", "wrong"), ("nobody", "demo")):
        response = api.http.post("/auth/login", json={"username": username, "password": password})
        assert response.status_code == 401
        assert response.json() == {"detail": "invalid username or password"}
    assert api.call("GET", "/me", None).status_code == 401


def test_refresh_rotates_and_reuse_revokes_family(api: Api) -> None:
    first = api.login("dr.li")
    second = api.http.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert rotated["user"]["username"] == "dr.li"
    assert (
        api.http.get("/me", headers={"Authorization": f"Bearer {rotated['access_token']}"}).status_code == 200
    )
    # Replaying the rotated-away token: refused, and the whole family (the new token too) is revoked.
    replay = api.http.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert "reused" in replay.json()["detail"]
    assert api.http.post("/auth/refresh", json={"refresh_token": rotated["refresh_token"]}).status_code == 401
    # Another sign-in (another family) is unaffected.
    other = api.login("dr.li")
    assert api.http.post("/auth/refresh", json={"refresh_token": other["refresh_token"]}).status_code == 200
    admin = api.ok("GET", "/audit?limit=1000", "it.admin")
    assert any(r["action"] == "auth.refresh_reuse" for r in admin)


def test_logout_revokes_refresh_token(api: Api) -> None:
    tokens = api.login("dr.chen")
    assert api.http.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    assert api.http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    # Logging out twice (or with an unknown token) is harmless.
    assert api.http.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    assert api.http.post("/auth/refresh", json={"refresh_token": "not-a-token"}).status_code == 401


def test_expired_and_forged_access_tokens_are_401(api: Api) -> None:
    user = api.login("dr.chen")["user"]
    past = datetime.now(UTC) - timedelta(minutes=20)
    claims = {
        "sub": str(user["id"]),
        "role": "specialist",
        "typ": "access",
        "iat": past,
        "exp": past + timedelta(minutes=15),
    }
    expired = jwt.encode(claims, _secret(api), algorithm="HS256")
    response = api.http.get("/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert response.json()["detail"] == "access token expired"
    assert response.headers["www-authenticate"] == "Bearer"
    forged = jwt.encode(
        {**claims, "exp": datetime.now(UTC) + timedelta(minutes=5)}, "x" * 32, algorithm="HS256"
    )
    assert api.http.get("/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert api.http.get("/me", headers={"Authorization": "Bearer garbage"}).status_code == 401


def test_short_token_lifetime_setting_expires_tokens(make_server: Callable[..., Api]) -> None:
    api = make_server(access_token_ttl_seconds=1)
    body = api.login("dr.li")
    assert body["expires_in"] == 1
    token = body["access_token"]
    assert api.http.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    import time

    time.sleep(2.1)
    assert api.http.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_rate_limit_per_account(make_server: Callable[..., Api]) -> None:
    api = make_server(login_max_failures_per_account=3, login_max_failures_per_address=100)
    for _ in range(2):
        assert api.http.post("/auth/login", json={"username": "dr.wang", "password": "x"}).status_code == 401
    # A success resets the account's counter...
    api.login("dr.wang")
    for _ in range(3):
        assert api.http.post("/auth/login", json={"username": "dr.wang", "password": "x"}).status_code == 401
    # ...and after three failures even the right password is refused, with Retry-After.
    blocked = api.http.post("/auth/login", json={"username": "dr.wang", "password": "demo"})
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["retry-after"]) <= 300
    # Other accounts from the same address still sign in.
    api.login("dr.chen")
    failures = [
        r for r in api.ok("GET", "/audit?limit=1000", "it.admin") if r["action"] == "auth.login_failed"
    ]
    assert len(failures) == 5


def test_rate_limit_per_address(make_server: Callable[..., Api]) -> None:
    api = make_server(login_max_failures_per_account=100, login_max_failures_per_address=4)
    for username in ("a1", "a2", "a3", "a4"):
        assert api.http.post("/auth/login", json={"username": username, "password": "x"}).status_code == 401
    blocked = api.http.post("/auth/login", json={"username": "dr.chen", "password": "demo"})
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) >= 1


def test_limiter_window_expires() -> None:
    from backend.security import FailureLimiter

    now = [1000.0]
    limiter = FailureLimiter(300, clock=lambda: now[0])
    for _ in range(5):
        limiter.record("account:x")
    assert limiter.retry_after("account:x", 5) == 300
    now[0] += 299.5
    assert limiter.retry_after("account:x", 5) == 1
    now[0] += 1
    assert limiter.retry_after("account:x", 5) is None
