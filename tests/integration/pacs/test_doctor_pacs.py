"""`teleconsult doctor`'s PACS check against a real Orthanc (not a stub): DICOMweb with good credentials
passes, with bad or no credentials fails saying so, against a stopped server fails as unreachable;
DIMSE C-ECHO passes."""

from __future__ import annotations

import pytest

from app.doctor import Verdict, check_pacs
from core.config.settings import PacsEndpoint
from tests.orthanc_server import OrthancServer, available


def _dicomweb(orthanc: OrthancServer) -> PacsEndpoint:
    return PacsEndpoint.model_validate({"name": "regional", "kind": "dicomweb", "url": orthanc.dicomweb_url})


def test_good_credentials_pass(orthanc: OrthancServer) -> None:
    user, password = orthanc.user
    result = check_pacs(_dicomweb(orthanc), timeout=10, username=user, password=password)
    assert result.verdict is Verdict.OK, result
    assert "QIDO-RS answers" in result.detail


def test_bad_and_missing_credentials_fail_clearly(orthanc: OrthancServer) -> None:
    user = orthanc.user[0]
    bad = check_pacs(_dicomweb(orthanc), timeout=10, username=user, password="wrong-password")
    assert bad.verdict is Verdict.FAIL
    assert "HTTP 401" in bad.detail and repr(user) in bad.detail and "not accepted" in bad.detail
    assert "wrong-password" not in bad.detail + bad.action  # the password is never echoed
    assert "username and password" in bad.action
    none = check_pacs(_dicomweb(orthanc), timeout=10)
    assert none.verdict is Verdict.FAIL and "none are configured" in none.detail


def test_dimse_echo_passes(orthanc: OrthancServer) -> None:
    endpoint = PacsEndpoint.model_validate(orthanc.dimse_endpoint())
    result = check_pacs(endpoint, timeout=10)
    assert result.verdict is Verdict.OK and "C-ECHO" in result.detail, result


def test_a_stopped_server_fails_as_unreachable() -> None:
    reason = available()
    if reason:
        pytest.skip(reason)
    server = OrthancServer().start()
    endpoint = _dicomweb(server)
    dimse = PacsEndpoint.model_validate(server.dimse_endpoint())
    user, password = server.user
    assert check_pacs(endpoint, timeout=10, username=user, password=password).verdict is Verdict.OK
    server.stop()
    down = check_pacs(endpoint, timeout=3, username=user, password=password)
    assert down.verdict is Verdict.FAIL and "cannot be reached" in down.detail, down
    assert "[[pacs]] url" in down.action
    echo = check_pacs(dimse, timeout=3)
    assert echo.verdict is Verdict.FAIL and "cannot be reached" in echo.detail, echo
