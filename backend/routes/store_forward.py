"""Store-and-forward: photos attached to a request, and the specialist's written answer with key images.

When a live call is not possible the county doctor sends the request with its study, a vitals snapshot
(in the request body, see schemas.VitalsSnapshot), photos and a question; the accepting specialist
answers in writing, naming the key images (DICOM secondary captures stored beside the study), which
moves the consult to ``answered``. Photos are read by the requester and the accepting specialist only:
trainees never see them (they carry identity: faces, wristbands).

Photos are kept in the database (ConsultPhoto), not in a data folder: one backup covers them, the upload
commits with its audit record in one transaction, and backends behind a load balancer share no disk.
"""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from backend import audit
from backend.access import identity_refused, is_participant, is_visible, not_found
from backend.deps import MAX_ID, ClinicalUser, ConsultId, CountyDoctor, Specialist, StateDep, client_address
from backend.models import Consult, ConsultPhoto, User
from backend.routes.consults import _existing, _out, _transition
from backend.schemas import AnswerIn, ConsultOut, PhotoOut
from backend.state import AppState

router = APIRouter(prefix="/consults", tags=["store-and-forward"])

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 8
PhotoId = Annotated[int, Path(ge=1, le=MAX_ID, description="photo id")]
Caption = Annotated[str, Query(max_length=200)]


def sniff_image(data: bytes) -> str | None:
    """The media type from the file's magic bytes (JPEG or PNG), whatever the client claimed."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


# Pixels, not bytes: an upload is decoded and written again, so nothing after the image data (an HTML
# page appended to a PNG, a script in a comment or a metadata block) survives into what is served.
MAX_PHOTO_PIXELS = 40_000_000
# Served photos are images and nothing else: the browser may not guess another type, nor run anything.
PHOTO_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Content-Disposition": "inline",
}


def reencode_image(data: bytes, media_type: str) -> bytes:
    """The image decoded and encoded again in its own format, without metadata; ValueError if it does not
    decode as that format. Without Pillow (it is optional here) the bytes are kept as they are: the
    photo is still served with its sniffed type and ``nosniff``."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is in the development environment
        return data
    wanted = "JPEG" if media_type == "image/jpeg" else "PNG"
    try:
        with Image.open(io.BytesIO(data), formats=[wanted]) as image:
            width, height = image.size
            if width * height > MAX_PHOTO_PIXELS:
                raise ValueError(f"a photo has at most {MAX_PHOTO_PIXELS} pixels")
            image.load()
            pixels = image if image.mode in ("RGB", "RGBA", "L", "LA", "P", "I;16") else image.convert("RGB")
            if wanted == "JPEG" and pixels.mode not in ("RGB", "L"):
                pixels = pixels.convert("RGB")
            out = io.BytesIO()
            pixels.save(out, format=wanted, **({"quality": 92} if wanted == "JPEG" else {}))
    except ValueError:
        raise
    except Exception as exc:  # Pillow raises many kinds for a broken file
        raise ValueError(f"not a readable {wanted} image") from exc
    return out.getvalue()


def _photo_out(photo: ConsultPhoto) -> PhotoOut:
    return PhotoOut.model_validate(
        {
            "id": photo.id,
            "consult_id": photo.consult_id,
            "media_type": photo.media_type,
            "caption": photo.caption,
            "size": photo.size,
            "sha256": photo.sha256,
            "uploaded_by": photo.uploaded_by_id,
            "created_at": photo.created_at,
        }
    )


def _may_read_photos(consult: Consult, user: User) -> bool:
    """Only the requester and the accepting specialist; a refusal is audited as ``identity.refused``
    (photos carry identity) by the caller, after its own transaction."""
    return is_participant(consult, user)


@router.post("/{consult_id}/answer", response_model=ConsultOut, responses={403: {}, 409: {}, 422: {}})
def answer_consult(
    consult_id: ConsultId, body: AnswerIn, user: Specialist, request: Request, state: StateDep
) -> ConsultOut:
    with state.db.transaction() as session:
        consult = _existing(session, consult_id, user)
        if consult.accepted_by_id != user.id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "only the accepting specialist answers")
        # A key image from another study would put a different patient's pixels in the answer.
        foreign = [
            k.sop_instance_uid
            for k in body.key_images
            if consult.study_instance_uid is None or k.study_instance_uid != consult.study_instance_uid
        ]
        if foreign:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, "key images must belong to the consult's study"
            )
        values = {
            "state": "answered",
            "answer_text": body.text,
            "answer_key_images": [k.model_dump() for k in body.key_images],
            "answered_at": datetime.now(UTC),
        }
        _transition(session, consult, ("accepted", "in_session"), values, "answer", user, request)
        return _out(state, consult, user)


def _store_photo(
    state: AppState, consult_id: int, user: User, data: bytes, media_type: str, caption: str, client: str
) -> PhotoOut:
    with state.db.transaction() as session:
        consult = _existing(session, consult_id, user)
        if consult.requested_by_id != user.id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "only the requester attaches photos")
        if consult.state not in ("open", "accepted"):
            raise HTTPException(status.HTTP_409_CONFLICT, f"consult is {consult.state}")
        count = session.scalar(
            select(func.count()).select_from(ConsultPhoto).where(ConsultPhoto.consult_id == consult_id)
        )
        if (count or 0) >= MAX_PHOTOS:
            raise HTTPException(status.HTTP_409_CONFLICT, f"at most {MAX_PHOTOS} photos per consult")
        photo = ConsultPhoto(
            consult_id=consult_id,
            media_type=media_type,
            caption=caption.strip(),
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            data=data,
            uploaded_by_id=user.id,
            created_at=datetime.now(UTC),
        )
        session.add(photo)
        session.flush()
        audit.by_user(
            session,
            "photo.upload",
            user,
            client,
            consult_id=consult_id,
            details={"photo_id": photo.id, "size": photo.size, "sha256": photo.sha256},
        )
        return _photo_out(photo)


@router.post(
    "/{consult_id}/photos",
    response_model=PhotoOut,
    status_code=status.HTTP_201_CREATED,
    responses={403: {}, 409: {}, 413: {}, 415: {}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                t: {"schema": {"type": "string", "format": "binary"}} for t in ("image/jpeg", "image/png")
            },
        }
    },
)
async def upload_photo(
    consult_id: ConsultId, user: CountyDoctor, request: Request, state: StateDep, caption: Caption = ""
) -> PhotoOut:
    """The request body is the JPEG or PNG file itself (no multipart), at most MAX_PHOTO_BYTES."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_PHOTO_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"photos are at most {MAX_PHOTO_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_PHOTO_BYTES:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE, f"photos are at most {MAX_PHOTO_BYTES} bytes"
            )
        chunks.append(chunk)
    data = b"".join(chunks)
    media_type = sniff_image(data)
    if media_type is None:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "a photo must be a JPEG or PNG file")
    try:
        data = await run_in_threadpool(reencode_image, data, media_type)
    except ValueError as exc:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, str(exc)) from exc
    client = client_address(request)
    return await run_in_threadpool(_store_photo, state, consult_id, user, data, media_type, caption, client)


@router.get("/{consult_id}/photos", response_model=list[PhotoOut], responses={403: {}})
def list_photos(
    consult_id: ConsultId, user: ClinicalUser, request: Request, state: StateDep
) -> list[PhotoOut]:
    with state.db.transaction(readonly=True) as session:
        consult = session.get(Consult, consult_id)
        if consult is None:
            raise not_found()
        visible = is_visible(session, consult_id, user)
        if visible and _may_read_photos(consult, user):
            photos = session.scalars(
                select(ConsultPhoto).where(ConsultPhoto.consult_id == consult_id).order_by(ConsultPhoto.id)
            )
            return [_photo_out(p) for p in photos]
    raise identity_refused(
        state, user, consult_id, {"route": "photos"}, client_address(request), visible=visible
    )


@router.get(
    "/{consult_id}/photos/{photo_id}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}, 403: {}, 404: {}},
)
def get_photo(
    consult_id: ConsultId, photo_id: PhotoId, user: ClinicalUser, request: Request, state: StateDep
) -> Response:
    client = client_address(request)
    with state.db.transaction() as session:
        consult = session.get(Consult, consult_id)
        if consult is None:
            raise not_found()
        visible = is_visible(session, consult_id, user)
        if visible and _may_read_photos(consult, user):
            photo = session.get(ConsultPhoto, photo_id)
            if photo is None or photo.consult_id != consult_id:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "no such photo")
            audit.by_user(
                session, "photo.access", user, client, consult_id=consult_id, details={"photo_id": photo.id}
            )
            media_type = photo.media_type if photo.media_type in ("image/jpeg", "image/png") else None
            if media_type is None or sniff_image(photo.data) != media_type:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "no such photo")  # not an image we stored
            return Response(photo.data, media_type=media_type, headers=PHOTO_HEADERS)
    asked = {"route": "photo", "photo_id": photo_id}
    raise identity_refused(state, user, consult_id, asked, client, visible=visible)
