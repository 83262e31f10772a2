"""The outside validators of the consult report, for every test that checks one: poppler's ``pdfsig``
(PAdES signatures, with the site CA trusted through an NSS database made by ``certutil``), pixelmed's
``DicomSRValidator`` (DICOM SR templates) and dicom3tools' ``dciodvfy`` (tests/dciodvfy.py). A missing
tool fails the test with the package to install: none of them is optional under ``make test``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.dciodvfy import dciodvfy_errors

# DicomSRValidator's XPath templates exceed the JDK's default XML processing limits (JDK 21 throws
# "JAXP0801003 ... accumulated '10,001' operators exceeds the '10,000' limit" before checking anything).
JAVA_XML_LIMITS = "-Djdk.xml.xpathExprOpLimit=0 -Djdk.xml.xpathExprGrpLimit=0 -Djdk.xml.xpathTotalOpLimit=0"


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is needed (Debian package {package}; scripts/system-deps.sh)", pytrace=False)
    return path


def nss_db_trusting(ca_pem: bytes, folder: Path) -> str:
    """An NSS database in ``folder`` that trusts ``ca_pem``, for ``pdfsig -nssdir``."""
    certutil = _tool("certutil", "libnss3-tools")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ca.pem").write_bytes(ca_pem)
    db = f"sql:{folder}"
    subprocess.run([certutil, "-N", "-d", db, "--empty-password"], check=True, timeout=30)
    subprocess.run(
        [certutil, "-A", "-d", db, "-n", "site-ca", "-t", "CT,C,C", "-i", str(folder / "ca.pem")],
        check=True,
        timeout=30,
    )
    return db


def pdfsig(pdf: bytes, folder: Path, nss_db: str) -> list[dict[str, str]]:
    """pdfsig's verdict on each signature, in order, as ``{"Signature Validation": ..., ...}``."""
    tool = _tool("pdfsig", "poppler-utils")
    path = folder / "signed.pdf"
    path.write_bytes(pdf)
    # no -no-ocsp: poppler 22 then reports "Unknown issue with Certificate"; the certificates name no
    # OCSP responder, so nothing is fetched anyway
    out = subprocess.run(
        [tool, "-nssdir", nss_db, str(path)], capture_output=True, text=True, timeout=60, check=False
    ).stdout
    print(out)
    signatures: list[dict[str, str]] = []
    for line in out.splitlines():
        if re.match(r"^Signature #\d+:", line):
            signatures.append({})
        elif signatures and (m := re.match(r"^\s+- ([^:]+): (.*)$", line)):
            signatures[-1][m.group(1)] = m.group(2).strip()
    return signatures


def dicom_sr_validator(path: Path) -> str:
    """pixelmed's DicomSRValidator's report on ``path``; the test fails when it did not run to the end."""
    tool = _tool("DicomSRValidator", "pixelmed-apps")
    env = dict(os.environ)
    env["JAVA_TOOL_OPTIONS"] = (env.get("JAVA_TOOL_OPTIONS", "") + " " + JAVA_XML_LIMITS).strip()
    done = subprocess.run(
        [tool, str(path)], capture_output=True, text=True, errors="replace", timeout=120, env=env
    )
    report = done.stdout + done.stderr
    # it exits 0 even when Java throws, so its own words decide
    if "Exception" in report or "IOD validation complete" not in report:
        pytest.fail(
            f"DicomSRValidator did not run to the end on {path.name} (rc {done.returncode}):\n{report}"
        )
    return report


def sr_validator_problems(report: str) -> list[str]:
    """The Error and Warning lines of a DicomSRValidator report."""
    return [line for line in report.splitlines() if line.startswith(("Error", "Warning"))]


def dciodvfy_clean(path: Path) -> None:
    """Fails the test with dciodvfy's full output when it finds any error in ``path``."""
    errors = dciodvfy_errors(path)
    if errors:
        tool = shutil.which("dciodvfy") or "dciodvfy"
        done = subprocess.run([tool, str(path)], capture_output=True, text=True, errors="replace", timeout=60)
        pytest.fail(f"dciodvfy found {len(errors)} error(s) in {path.name}:\n{done.stdout}{done.stderr}")
