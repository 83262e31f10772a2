"""A real Orthanc PACS on loopback for tests: HTTP (REST + DICOMweb) and DICOM ports picked free.

Started from the Debian packages ``orthanc`` and ``orthanc-dicomweb`` with a generated configuration
in a temporary folder; stopped (and its folder removed) on :meth:`OrthancServer.stop`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.helpers import PortInUseError, free_port, says_address_in_use, start_with_port_retries
from viewers.dicom.synthetic import SyntheticSeries

ORTHANC_BIN = Path("/usr/sbin/Orthanc")
PLUGIN_CANDIDATES = (
    Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so"),
    Path("/usr/lib/orthanc/libOrthancDicomWeb.so.1.7"),
)
ORTHANC_AET = "ORTHANC"
CLIENT_AET = "TELECONSULT"
USER = ("reader", "s3cret-pacs")


@dataclass
class PacsData:
    """What the PACS tests upload: two studies of two patients."""

    plain: SyntheticSeries  # CT, explicit VR little endian, patient Doe^Jane
    jpeg: SyntheticSeries  # CT, JPEG lossless SV1, patient Roe^Richard, another study and day


def dicomweb_plugin() -> Path | None:
    for path in PLUGIN_CANDIDATES:
        if path.exists():
            return path
    found = sorted(Path("/usr/share/orthanc/plugins").glob("libOrthancDicomWeb*.so*"))
    return found[0] if found else None


def available() -> str | None:
    """None when Orthanc can run here, else the reason it cannot."""
    if not ORTHANC_BIN.exists():
        return "Orthanc is not installed (Debian package orthanc)"
    if dicomweb_plugin() is None:
        return "the Orthanc DICOMweb plugin is not installed (Debian package orthanc-dicomweb)"
    return None


class OrthancServer:
    def __init__(self, *, store_port: int | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="orthanc-test-"))
        self.http_port = free_port()
        self.dicom_port = free_port()
        # where our C-MOVE destination (a storage SCP the test runs) listens
        self.store_port = store_port or free_port()
        self.aet = ORTHANC_AET
        self.client_aet = CLIENT_AET
        self.user = USER
        self._process: subprocess.Popen[bytes] | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return self.url + "/dicom-web"

    def dimse_endpoint(self, name: str = "regional") -> dict[str, object]:
        """This archive as a site file's ``[[pacs]]`` DIMSE entry (C-GET needs no password)."""
        return {
            "name": name,
            "kind": "dimse",
            "host": "127.0.0.1",
            "port": self.dicom_port,
            "called_ae": self.aet,
            "calling_ae": self.client_aet,
        }

    def config(self) -> dict[str, object]:
        plugin = dicomweb_plugin()
        return {
            "Name": "TeleconsultTestPACS",
            "StorageDirectory": str(self.root / "storage"),
            "IndexDirectory": str(self.root / "index"),
            "Plugins": [str(plugin)] if plugin else [],
            "HttpServerEnabled": True,
            "HttpPort": self.http_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": True,
            "RegisteredUsers": {self.user[0]: self.user[1]},
            "DicomServerEnabled": True,
            "DicomAet": self.aet,
            "DicomPort": self.dicom_port,
            "DicomCheckCalledAet": True,
            "DicomCheckModalityHost": False,
            "DicomAlwaysAllowEcho": True,
            "DicomAlwaysAllowStore": True,
            "DicomScpTimeout": 10,
            "DicomScuTimeout": 10,
            "DicomModalities": {
                "teleconsult": {
                    "AET": self.client_aet,
                    "Host": "127.0.0.1",
                    "Port": self.store_port,
                    "AllowEcho": True,
                    "AllowFind": True,
                    "AllowGet": True,
                    "AllowMove": True,
                    "AllowStore": True,
                }
            },
            "DicomWeb": {
                "Enable": True,
                "Root": "/dicom-web/",
                "EnableWado": False,
                "StudiesMetadata": "Full",
            },
            "StableAge": 1,
            "ConcurrentJobs": 2,
            "HttpTimeout": 10,
            "SaveJobs": False,
        }

    def start(self, timeout_s: float = 30.0) -> OrthancServer:
        """Start Orthanc and wait until it answers; when a port picked for it was taken meanwhile, start
        again on new ports (``PORT_TRIES`` in all)."""
        reason = available()
        if reason:
            raise RuntimeError(reason)

        def new_ports() -> None:
            self.http_port, self.dicom_port = free_port(), free_port()

        return start_with_port_retries(
            lambda: self._start_once(timeout_s), end=self._end, new_ports=new_ports, root=self.root
        )

    def _start_once(self, timeout_s: float) -> OrthancServer:
        config = self.root / "orthanc.json"
        config.write_text(json.dumps(self.config(), indent=2))
        self._log = (self.root / "orthanc.log").open("wb")
        self._process = subprocess.Popen(
            [str(ORTHANC_BIN), str(config)], stdout=self._log, stderr=subprocess.STDOUT, cwd=self.root
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None or says_address_in_use(self.log_tail()):
                tail = self.log_tail()
                if says_address_in_use(tail):
                    raise PortInUseError(f"Orthanc could not bind its ports:\n{tail}")
                raise RuntimeError(f"Orthanc exited at start-up:\n{tail}")
            try:
                response = httpx.get(self.url + "/system", auth=self.user, timeout=1.0)
                if response.status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Orthanc did not answer within {timeout_s} s")

    def log_tail(self, lines: int = 40) -> str:
        path = self.root / "orthanc.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def upload(self, paths: list[Path]) -> list[str]:
        """POST each file to /instances; return Orthanc's instance ids."""
        ids = []
        with httpx.Client(auth=self.user, timeout=30.0) as client:
            for path in paths:
                response = client.post(self.url + "/instances", content=path.read_bytes())
                response.raise_for_status()
                ids.append(str(response.json()["ID"]))
        return ids

    def clear(self) -> None:
        with httpx.Client(auth=self.user, timeout=30.0) as client:
            for patient in client.get(self.url + "/patients").json():
                client.delete(f"{self.url}/patients/{patient}")

    def stop(self) -> None:
        self._end()
        shutil.rmtree(self.root, ignore_errors=True)

    def _end(self) -> None:
        """End the process and close its log (the folder stays)."""
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout=5)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None


class OpenOrthanc(OrthancServer):
    """The site archive as a site file can name it today: DICOMweb without a password."""

    def config(self) -> dict[str, object]:
        return {**super().config(), "AuthenticationEnabled": False}
