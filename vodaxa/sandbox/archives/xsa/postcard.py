"""The XSA's data servlet for postcards: ``/nxsa-sl/servlet/data-action?RETRIEVAL_TYPE=POSTCARD&...``.

astroquery's ``XMMNewton.get_postcard(obsid, image_type=...)`` sends ``RETRIEVAL_TYPE=POSTCARD``,
``OBSERVATION_ID``, ``OBS_IMAGE_TYPE`` (``OBS_EPIC``, ``OBS_RGS_FLUXED``, ``OBS_OM_V``, ...) and
``PROTOCOL=HTTP``, GETs the image, then HEADs the same URL for the file name in
``Content-Disposition: inline; filename="..."``.  The sandbox answers with a small deterministic PNG
(a few sources on a background, seeded by the ObsID and image type) named ``<obsid>.png`` (the name
astroquery's own tests use; assumed, not captured).  Only observations with pipeline products have
postcards (404 otherwise, and for other retrieval types).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

import numpy as np
from aiohttp import web

__all__ = ["IMAGE_TYPES", "POSTCARD_PATH", "PostcardServlet", "png_bytes", "postcard"]

POSTCARD_PATH = "/nxsa-sl/servlet/data-action"
IMAGE_TYPES = (
    "OBS_EPIC", "OBS_RGS_FLUXED", "OBS_RGS_FLUXED_2", "OBS_RGS_FLUXED_3", "OBS_EPIC_MT", "OBS_RGS_FLUXED_MT",
    "OBS_OM_V", "OBS_OM_B", "OBS_OM_U", "OBS_OM_L", "OBS_OM_M", "OBS_OM_S", "OBS_OM_W",
)  # fmt: skip
_SIZE = 96


def png_bytes(pixels: np.ndarray) -> bytes:
    """A greyscale 8-bit PNG of ``pixels`` (2-D uint8)."""
    height, width = pixels.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def postcard(obsid: str, image_type: str) -> bytes:
    """The postcard of one observation and image type: Gaussian sources on a noisy background."""
    rng = np.random.default_rng([zlib.crc32(obsid.encode()), zlib.crc32(image_type.encode())])
    y, x = np.mgrid[0:_SIZE, 0:_SIZE]
    image = rng.poisson(2.0, (_SIZE, _SIZE)).astype(float)
    for _ in range(int(rng.integers(3, 9))):
        cx, cy = rng.uniform(10, _SIZE - 10, 2)
        sigma, peak = rng.uniform(1, 4), rng.uniform(20, 200)
        image += peak * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2))
    scaled = np.log1p(image) / np.log1p(image.max()) * 255.0
    return png_bytes(np.clip(scaled, 0, 255).astype(np.uint8))


class PostcardServlet:
    """``data-action`` for postcards; ``has_postcard(obsid)`` says which observations have one."""

    def __init__(self, has_postcard: Callable[[str], bool]) -> None:
        self.has_postcard = has_postcard

    def add_routes(self, app: web.Application) -> None:
        """GET (and HEAD) at :data:`POSTCARD_PATH`."""
        app.router.add_get(POSTCARD_PATH, self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        """The postcard PNG, or 400/404 in plain text."""
        query = {k.upper(): v for k, v in request.query.items()}
        kind = query.get("RETRIEVAL_TYPE", "").upper()
        if kind != "POSTCARD":
            raise web.HTTPBadRequest(text=f"RETRIEVAL_TYPE={kind or '(missing)'}: this sandbox serves POSTCARD only")
        obsid = query.get("OBSERVATION_ID", "")
        image_type = query.get("OBS_IMAGE_TYPE", "OBS_EPIC").upper()
        if image_type not in IMAGE_TYPES:
            raise web.HTTPBadRequest(text=f"OBS_IMAGE_TYPE={image_type} is not one of {', '.join(IMAGE_TYPES)}")
        if not obsid or not self.has_postcard(obsid):
            raise web.HTTPNotFound(text=f"no postcard for observation {obsid or '(missing)'}")
        return web.Response(
            body=postcard(obsid, image_type),
            content_type="image/png",
            headers={"Content-Disposition": f'inline; filename="{obsid}.png"'},
        )
