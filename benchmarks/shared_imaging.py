"""Shared imaging: time from "accept" to "study ready" with our prefetch, against a plain pynetdicom
C-GET of the same study in the same run; and the view-state round trip between two runtimes.

A synthetic 16-bit CT (512x512x300; --quick: 512x512x60) is sent to a loopback Orthanc (Debian
packages orthanc + orthanc-dicomweb, started as tests/orthanc_server.py does) with our STOW-RS
uploader (its time is printed too). The embedded backend (SQLite, demo users) holds a consult whose
request names the study. Then, alternately, a few times each:
- ours: the specialist's POST /accept, the accept answer handed to core.worklist.prefetch.Prefetcher
  (what the workstation does), WADO-RS into a fresh core.worklist.study_cache.StudyCache, until the prefetcher
  reports the study ready (every instance on disk, the cache index written);
- peer: a plain pynetdicom C-GET of the study (study root, one storage context per transfer syntax
  Orthanc holds) writing each instance to a file as it arrives.
prefetch_ratio_vs_cget = median(ours) / median(C-GET) (below 1: our prefetch is faster).
viewstate_p99_ms comes from benchmarks/_viewstate_rtt.py when present, else null.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import median, parse, report  # noqa: E402


def plain_c_get(host: str, port: int, called_ae: str, calling_ae: str, study_uid: str, folder: Path) -> int:
    """The peer: pynetdicom's documented C-GET recipe, files written as they arrive."""
    from pydicom.dataset import Dataset
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
    from pynetdicom import AE, build_role, evt

    ct_storage = "1.2.840.10008.5.1.4.1.1.2"
    study_root_get = "1.2.840.10008.5.1.4.1.2.2.3"

    folder.mkdir(parents=True, exist_ok=True)
    count = [0]

    def on_store(event: Any) -> int:
        # pynetdicom's fast path: the received bytes with a file meta header, no decode and re-encode
        (folder / f"{event.request.AffectedSOPInstanceUID}.dcm").write_bytes(event.encoded_dataset())
        count[0] += 1
        return 0x0000

    ae = AE(ae_title=calling_ae)
    ae.add_requested_context(study_root_get)
    ae.add_requested_context(ct_storage, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.StudyInstanceUID = study_uid
    assoc = ae.associate(
        host,
        port,
        ae_title=called_ae,
        ext_neg=[build_role(ct_storage, scp_role=True)],
        evt_handlers=[(evt.EVT_C_STORE, on_store)],
    )
    if not assoc.is_established:
        raise RuntimeError("C-GET association refused")
    try:
        for _status, _ in assoc.send_c_get(identifier, study_root_get):
            pass
    finally:
        assoc.release()
    return count[0]


def viewstate(quick: bool) -> dict[str, float] | None:
    if not (ROOT / "benchmarks" / "_viewstate_rtt.py").exists():
        return None
    try:
        from benchmarks._viewstate_rtt import measure_viewstate_rtt
    except ImportError:
        return None
    try:
        return dict(measure_viewstate_rtt(quick))
    except Exception as exc:  # a failing companion measurement must not lose ours
        print(f"view-state round trip not measured: {type(exc).__name__}: {exc}")
        return None


def main() -> int:
    args = parse(__doc__.splitlines()[0])
    import logging

    import httpx

    from backend.server import EmbeddedServer
    from core.worklist.prefetch import Prefetcher, StudyState
    from core.worklist.study_cache import StudyCache
    from tests.helpers import CONSULT_REQUEST, free_port
    from tests.orthanc_server import OrthancServer, available
    from viewers.dicom import synthetic
    from viewers.dicom.dicomweb import DicomWebClient
    from viewers.dicom.pacs import PacsSettings
    from viewers.dicom.stow import StowUploader, scan_study

    logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)
    reason = available()
    if reason:
        print(reason)
        unavailable = {"peer": "plain pynetdicom C-GET (not run)", "prefetch_ratio_vs_cget": None}
        report({**unavailable, "viewstate_p99_ms": None})  # type: ignore[dict-item]
        return 1
    slices = 60 if args.quick else 300
    repeats = 3
    tmp = Path(tempfile.mkdtemp(prefix="bench-shared-imaging-"))
    orthanc = OrthancServer().start()
    backend = EmbeddedServer(f"sqlite:///{tmp / 'backend.sqlite3'}", port=free_port(), seed_demo=True)
    try:
        t = time.perf_counter()
        series = synthetic.write_ct_series(tmp / "ct", (slices, 512, 512), shuffle_names=False)
        print(f"wrote {slices} slices of 512x512 in {time.perf_counter() - t:.1f} s")
        study = scan_study([tmp / "ct"])
        t = time.perf_counter()
        with DicomWebClient(orthanc.dicomweb_url, username=orthanc.user[0], password=orthanc.user[1]) as web:
            uploaded = StowUploader(web).upload(study)
        upload_s = time.perf_counter() - t
        assert uploaded.verified
        print(f"STOW-RS upload: {upload_s:.2f} s ({study.size / upload_s / 1e6:.1f} MB/s), verified")

        backend.start()
        assert backend.base_url is not None
        api = httpx.Client(base_url=backend.base_url + "/api/v1", timeout=30)

        def token(user: str) -> dict[str, str]:
            body = api.post("/auth/login", json={"username": user, "password": "demo"}).json()
            return {"Authorization": f"Bearer {body['access_token']}"}

        li, chen = token("dr.li"), token("dr.chen")
        archive = PacsSettings(
            name="regional",
            kind="dicomweb",
            url=orthanc.dicomweb_url,
            username=orthanc.user[0],
            password=orthanc.user[1],
        )
        ours: list[float] = []
        peer: list[float] = []
        for k in range(repeats):
            study_ref = {"study_instance_uid": series.study_uid, "source": "regional"}
            request = {**CONSULT_REQUEST, "study": study_ref}
            consult = api.post("/consults", json=request, headers=li).json()
            cache = StudyCache(tmp / f"cache-{k}")
            prefetcher = Prefetcher(cache, [archive])
            try:
                t = time.perf_counter()
                accepted = api.post(f"/consults/{consult['id']}/accept", headers=chen)
                accepted.raise_for_status()
                prefetcher.on_consult(accepted.json())
                status = prefetcher.wait(int(consult["id"]), timeout=300)
                ours.append(time.perf_counter() - t)
            finally:
                prefetcher.close()
            assert status.state is StudyState.READY, status.error
            assert status.path is not None and len(list(status.path.iterdir())) == slices
            shutil.rmtree(cache.root)

            folder = tmp / f"cget-{k}"
            t = time.perf_counter()
            got = plain_c_get(
                "127.0.0.1", orthanc.dicom_port, orthanc.aet, orthanc.client_aet, series.study_uid, folder
            )
            peer.append(time.perf_counter() - t)
            assert got == slices, got
            shutil.rmtree(folder)
            print(f"run {k + 1}: accept->ready {ours[-1]:.2f} s, plain C-GET {peer[-1]:.2f} s")
        api.close()
    finally:
        backend.stop()
        orthanc.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    ratio = median(ours) / median(peer)
    print(f"accept->ready (ours, WADO-RS prefetch): median {median(ours):.2f} s")
    print(f"plain pynetdicom C-GET: median {median(peer):.2f} s; ratio {ratio:.2f}")
    rtt = viewstate(args.quick)
    if rtt is not None:
        print(f"view-state round trip: p50 {rtt['p50_ms']:.1f} ms, p99 {rtt['p99_ms']:.1f} ms")
    report(
        {
            "peer": "plain pynetdicom C-GET of the same study from the same Orthanc, alternating",
            "prefetch_ratio_vs_cget": ratio,
            "accept_to_ready_s": median(ours),
            "cget_s": median(peer),
            "stow_upload_s": upload_s,
            "slices": slices,
            "viewstate_p50_ms": rtt["p50_ms"] if rtt else None,  # type: ignore[dict-item]
            "viewstate_p99_ms": rtt["p99_ms"] if rtt else None,  # type: ignore[dict-item]
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
