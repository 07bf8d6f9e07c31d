"""Checks and scales the pictures a driver's phone sends: plain Python (Pillow), no database.

A picture is accepted by what it is, never by its name: its bytes must open as a JPEG, PNG or
WebP image, whole (a truncated or corrupt file is refused), within the size limit and a sane
number of pixels. It is then turned upright (the phone's EXIF orientation) and scaled down to
fit ``MAX_SIDE`` pixels; photos are stored as JPEG, signatures as PNG (they keep their
transparency and their thin strokes).
"""

import base64
import binascii
import io
import math
import warnings

from PIL import Image, ImageOps, WebPImagePlugin  # noqa: F401 (Odoo preloads only a few formats)

ALLOWED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
MAX_SIDE = 1920
MAX_PIXELS = 50_000_000  # beyond this a "picture" is a decompression bomb, not a photo
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


class ImageRejected(ValueError):
    """The picture is refused. ``code`` says why (``empty``, ``too_big``, ``encoding``,
    ``format``, ``pixels``, ``damaged``) for the caller's translated message; ``params`` hold
    the details (``limit_mb``, ``found``)."""

    def __init__(self, code, **params):
        super().__init__(code, params)
        self.code, self.params = code, params


def decode_base64(data, max_bytes=DEFAULT_MAX_BYTES):
    """Bytes of a base64 picture (a ``data:`` URL prefix is allowed), refusing what is too big
    before decoding it."""
    if not isinstance(data, str | bytes) or not data:
        raise ImageRejected("empty")
    if isinstance(data, bytes):
        data = data.decode("ascii", "replace")
    if data.startswith("data:"):
        data = data.partition(",")[2]
    if len(data) * 3 // 4 > max_bytes + 3:
        raise ImageRejected("too_big", limit_mb=max_bytes / 1024 / 1024)
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ImageRejected("encoding") from error
    return raw


def process(raw, max_bytes=DEFAULT_MAX_BYTES, output="JPEG", max_side=MAX_SIDE):
    """Check ``raw`` and return ``(bytes, mimetype, (width, height))`` of the picture to store."""
    if not raw:
        raise ImageRejected("empty")
    if len(raw) > max_bytes:
        raise ImageRejected("too_big", limit_mb=max_bytes / 1024 / 1024)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(raw))
            kind = probe.format
            if kind not in ALLOWED_FORMATS:
                raise ImageRejected("format", found=kind or "")
            if probe.width * probe.height > MAX_PIXELS:
                raise ImageRejected("pixels")
            if not _complete(raw, kind):
                raise ImageRejected("damaged")
            probe.verify()  # a corrupt file fails here…
            image = Image.open(io.BytesIO(raw))
            if kind == "JPEG" and max(image.size) > max_side:
                # decode at the smallest JPEG scale still above the size kept: several times
                # faster for a phone's 12-megapixel photo, and every byte is still decoded
                scale = max_side / max(image.size)
                image.draft(None, (math.ceil(image.width * scale), math.ceil(image.height * scale)))
            image.load()  # …or here, when its pixels are decoded
    except ImageRejected:
        raise
    except (
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as error:
        raise ImageRejected("damaged") from error
    image = ImageOps.exif_transpose(image)
    image.thumbnail((max_side, max_side))
    stream = io.BytesIO()
    if output == "PNG":
        image.save(stream, format="PNG", optimize=True)
        mimetype = "image/png"
    else:
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(stream, format="JPEG", quality=85, optimize=True)
        mimetype = "image/jpeg"
    return stream.getvalue(), mimetype, image.size


def _complete(raw, kind):
    """Whether the file ends as its format says (Odoo lets Pillow load truncated images,
    process-wide, for its reports: a photo cut by a dropped connection must not pass)."""
    if kind == "JPEG":
        return raw.rstrip(b"\0").endswith(b"\xff\xd9")
    if kind == "PNG":
        return b"IEND" in raw[-12:]
    if kind == "WEBP":
        return int.from_bytes(raw[4:8], "little") + 8 <= len(raw)
    return False
