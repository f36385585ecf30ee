"""Reading the poster from a request (multipart ``file``, JSON ``{"url": ...}`` fetched safely, or a
raw image body) and decoding it with the bounds that fit the endpoint."""
from __future__ import annotations

from typing import Any, Callable, TypeVar

import anyio
from fastapi import Request
from pydantic import BaseModel
from PIL import Image
from starlette.exceptions import HTTPException as StarletteHTTPException

from postergenre.api.config import APIConfig
from postergenre.api.errors import ErrorBody, InvalidRequest, RequestTimeout
from postergenre.api.gate import Deadline, run_gated, timeout_message
from postergenre.model.predictor import Predictor

__all__ = ["POSTER_BODY", "ERRORS", "read_poster", "on_poster", "decode_for_model", "overlay_copy"]

T = TypeVar("T")

POSTER_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                       "properties": {"file": {"type": "string", "format": "binary"}}}},
    "application/json": {"schema": {"type": "object", "required": ["url"],
                                    "properties": {"url": {"type": "string", "format": "uri",
                                                           "example": "https://example.com/poster.jpg"}}}},
    "image/*": {"schema": {"type": "string", "format": "binary"}},
}}}
ERRORS = {code: {"model": ErrorBody} for code in (400, 413, 415, 422, 503, 504)}


class URLInput(BaseModel):
    url: str


async def read_poster(request: Request, config: APIConfig, deadline: Deadline) -> tuple[bytes, str | None]:
    """(encoded image bytes, source name); RequestTimeout when the upload or the fetch runs past ``deadline``."""
    try:
        with anyio.fail_after(deadline.left()):
            return await _read_poster(request, config)
    except TimeoutError:
        raise RequestTimeout(timeout_message(config)) from None


async def on_poster(request: Request, config: APIConfig, deadline: Deadline, pool: Any,
                    decode: Callable[[bytes], Any], use: Callable[[Any], T]) -> tuple[T, str | None]:
    """Read the poster, then on ``pool`` decode it, check the deadline and ``use`` the image:
    (``use``'s result, source name). Every poster endpoint goes through here."""
    data, source = await read_poster(request, config, deadline)

    def work() -> T:
        image = decode(data)
        deadline.check()
        return use(image)

    return await run_gated(pool, work, deadline), source


async def _read_poster(request: Request, config: APIConfig) -> tuple[bytes, str | None]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        async with request.form(max_files=1, max_fields=4) as form:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise InvalidRequest("the form has no file field named 'file'; send the poster as "
                                     "multipart/form-data with the field name 'file'")
            return await upload.read(), upload.filename
    if ctype == "application/json":
        try:
            url = URLInput.model_validate_json(await request.body()).url
        except ValueError:
            raise InvalidRequest('the JSON body must be {"url": "https://..."} naming a poster image') from None
        return await anyio.to_thread.run_sync(lambda: _fetch(url, config), abandon_on_cancel=True), url
    if ctype.startswith("image/") or ctype == "application/octet-stream":
        return await request.body(), None
    raise StarletteHTTPException(415, f"content type {ctype or '(none)'!r} is not accepted; send multipart/form-data "
                                      'with a file field, JSON {"url": ...}, or the image itself (image/*)')


def _fetch(url: str, cfg: APIConfig) -> bytes:
    from postergenre.sources.fetch import fetch_url

    return fetch_url(url, max_bytes=cfg.max_upload_bytes, timeout=cfg.fetch_timeout_s,
                     allow_private=cfg.allow_private_urls)


def decode_for_model(data: bytes, cfg: APIConfig, predictor: Predictor) -> Image.Image:
    """The poster decoded for prediction: large JPEGs straight at a reduced scale (``Image.draft``)."""
    from postergenre.sources.images import load_image
    from postergenre.model.predictor import DRAFT_FACTOR

    size = getattr(getattr(predictor, "cfg", None), "input_size", None)
    draft = (size[0] * DRAFT_FACTOR, size[1] * DRAFT_FACTOR) if size else None
    return load_image(data, max_bytes=cfg.max_upload_bytes, draft=draft)


def overlay_copy(image: Image.Image, cfg: APIConfig) -> Image.Image:
    """The poster shrunk to at most ``explain_max_side`` px: what the Grad-CAM map is computed and drawn
    on (the prediction it explains is made on the poster as ``decode_for_model`` decodes it, as
    /v1/predict's is)."""
    from PIL import Image

    side = cfg.explain_max_side
    if max(image.size) <= side:
        return image
    small = image.copy()
    small.thumbnail((side, side), Image.BILINEAR, reducing_gap=3.0)
    return small
