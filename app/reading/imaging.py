"""From a browser's data URL to the 28×28 image MNIST-trained nets expect.

MNIST digits were size-normalised into a 20×20 box (aspect kept, anti-aliased) and then placed in
28×28 so that their centre of mass sits in the middle. Recognition of drawn digits fails mostly when
this recipe is not followed, so it is followed here step by step. One addition: canvas strokes come
in any width relative to the digit (small digits drawn with a fat brush, big ones with a thin pen),
while MNIST strokes are 1.8–4.9 px wide in 20×20 terms; drawings thinner than that are re-stroked
along their skeleton at MNIST's median width, so a thin pen and a normal brush give the same input.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import itertools
import re
import zlib

import numpy as np
import pyspng
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage, sparse
from skimage.morphology import skeletonize

MAX_PAYLOAD_BYTES = 2 * 1024 * 1024
MAX_SIDE = 2048
SIZE = 28
BOX = 20
CENTRE = 14.0  # where MNIST's centres of mass lie (measured: 14.00 ± 0.28 on the training set)
INK_THRESHOLD = 0.1
_WORK = 4 * BOX  # width is measured and corrected at 4× the final scale
_MIN_WIDTH = 1.8  # MNIST stroke width, 5th percentile, in 20-px-box pixels
_TARGET_WIDTH = 2.8  # MNIST's median stroke width

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?:;[\w.+-]+=[\w.+-]+)*;base64,", re.I)
_FORMATS = {"PNG", "JPEG"}


class DrawingError(ValueError):
    """A drawing that cannot be read, with a stable code for programs and a sentence for people.

    It says nothing about HTTP: training and export meet the same errors; app.web.errors maps codes to statuses.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def decode_bytes(payload: str) -> bytes:
    """The image bytes of a data URL or bare base64, with the size limit checked before decoding."""
    if not isinstance(payload, str) or not payload.strip():
        raise DrawingError("missing_image", "No image was sent: draw a digit first.")
    text = payload.strip()
    match = _DATA_URL.match(text)
    if match:
        mime = (match.group("mime") or "").lower()
        if mime and not mime.startswith("image/"):
            raise DrawingError("not_an_image", f"Expected a PNG or JPEG image, got {mime}.")
        text = text[match.end():]
    elif text.startswith("data:"):
        raise DrawingError("bad_data_url", "The data URL is malformed: expected data:image/png;base64,…")
    if len(text) > (MAX_PAYLOAD_BYTES * 4) // 3 + 8:
        raise DrawingError("too_large", "The image is larger than 2 MB.")
    try:
        raw = base64.b64decode(re.sub(r"\s+", "", text), validate=True)
    except (binascii.Error, ValueError):
        raise DrawingError("bad_base64", "The image is not valid base64.") from None
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise DrawingError("too_large", "The image is larger than 2 MB.")
    return raw


def open_image(raw: bytes) -> Image.Image:
    """A fully decoded PNG or JPEG, refusing other formats, oversized canvases and decompression bombs."""
    try:
        image = Image.open(io.BytesIO(raw))
    except Image.DecompressionBombError:
        raise DrawingError("image_too_large", f"The image is larger than {MAX_SIDE}×{MAX_SIDE}.") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise DrawingError("not_an_image", "The data is not a PNG or JPEG image.") from None
    if image.format not in _FORMATS:
        raise DrawingError("not_an_image", f"Only PNG and JPEG are accepted, not {image.format}.")
    width, height = image.size
    if width > MAX_SIDE or height > MAX_SIDE:
        raise DrawingError("image_too_large", f"The image is {width}×{height}; the limit is {MAX_SIDE}×{MAX_SIDE}.")
    if _only_pixels(raw):
        return _plain_png(raw)
    try:
        image.load()
        # a phone photo of a drawing is stored sideways with an EXIF note to turn it: turn it first
        upright = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise DrawingError("corrupt_image", "The image data is damaged or incomplete.") from None
    upright.format = image.format
    return upright


def _plain_png(raw: bytes) -> Image.Image:
    """A PNG of nothing but pixels (`_only_pixels`: what a canvas sends, 8-bit grey, RGB or RGBA, no EXIF to turn
    it by) decoded by libspng, which takes a 280×280 canvas in three quarters of Pillow's time: the largest single
    cost of a prediction. The pixels are the same; Pillow decodes every other image."""
    try:
        pixels = pyspng.load(raw)
    except RuntimeError:
        raise DrawingError("corrupt_image", "The image data is damaged or incomplete.") from None
    image = Image.fromarray(pixels)
    image.format = "PNG"
    return image


def decode_image(payload: str) -> Image.Image:
    return open_image(decode_bytes(payload))


def as_png(image: Image.Image) -> bytes:
    """The drawing's pixels, and nothing else, as a fresh PNG: what is stored and served back.

    An upload is never kept byte for byte: its text chunks (author, address, GPS), EXIF, ICC profile
    and whatever follows the image end would be published with it. Only the pixels survive, with their
    alpha (transparent pixels are the background, see `ink_map`); a CMYK JPEG becomes RGB.
    """
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        mode = "RGBA"
    elif image.mode in ("1", "L", "I", "I;16", "F"):
        mode = "L"
    else:
        mode = "RGB"
    converted = image.convert(mode)
    return png_bytes(Image.frombytes(mode, converted.size, converted.tobytes()))  # a new image: no info carried


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PIXEL_CHUNKS = {b"IHDR", b"IDAT", b"IEND"}
_PLAIN_COLOUR_TYPES = {0, 2, 6}  # grey, RGB, RGBA at 8 bits a channel: what as_png itself writes


def stored_png(raw: bytes, image: Image.Image) -> bytes:
    """What is stored of an upload: `raw` itself when it is already what `as_png` would write (a PNG of nothing
    but pixels: IHDR, IDAT and IEND with sound checksums, 8-bit grey, RGB or RGBA, not interlaced, nothing after
    IEND), else `as_png(image)`. A canvas's toDataURL is such a PNG; keeping it saves re-encoding it (a correction's
    CPU in-process 14.1 → 12.6 ms, 280×280 RGBA) and stores the browser's own file."""
    return raw if _only_pixels(raw) else as_png(image)


def _only_pixels(png: bytes) -> bool:
    header_at = len(PNG_SIGNATURE) + 8
    header = png[header_at:header_at + 13]
    if not png.startswith(PNG_SIGNATURE + b"\x00\x00\x00\x0dIHDR") or len(header) != 13 or header[8] != 8 \
            or header[9] not in _PLAIN_COLOUR_TYPES or header[12] != 0:
        return False
    at = len(PNG_SIGNATURE)
    while at + 12 <= len(png):
        length = int.from_bytes(png[at:at + 4], "big")
        kind, end = png[at + 4:at + 8], at + 8 + length
        if kind not in _PIXEL_CHUNKS or end + 4 > len(png) or \
                zlib.crc32(png[at + 4:end]) != int.from_bytes(png[end:end + 4], "big"):
            return False
        at = end + 4
        if kind == b"IEND":
            return at == len(png)
    return False


def png_bytes(image: Image.Image, optimize: bool = False) -> bytes:
    """`image` encoded as PNG; `optimize` trades encoding time for size (worth it for images sent often)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=optimize)
    return buffer.getvalue()


def png_data_url(png: bytes) -> str:
    """PNG bytes as a data: URL: how the API hands images to pages (the CSP allows data: images only).

    >>> png_data_url(b"\\x89PNG")
    'data:image/png;base64,iVBORw=='
    """
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def ink_map(image: Image.Image) -> np.ndarray:
    """Ink density in [0, 1] (1 = ink): transparent pixels are background, whatever their colour.

    Canvases export transparent backgrounds; scans and photos are opaque, dark-on-light or
    light-on-dark, so an opaque image's polarity is read from its border.
    """
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        with_alpha = image if image.mode in ("RGBA", "LA") else image.convert("RGBA")
        alpha = np.asarray(with_alpha.getchannel("A"))  # only the channel we need, as bytes until it counts
        if alpha.min() < 255:
            return np.divide(alpha, np.float32(255.0), dtype=np.float32)
    grey = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return grey if np.median(border) < 0.5 else 1.0 - grey


def _bounding_box(ink: np.ndarray) -> tuple[slice, slice]:
    inked = ink > INK_THRESHOLD
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    if rows.size == 0:
        raise DrawingError("empty_drawing", "The canvas is empty: draw a digit first.")
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _resize(ink: np.ndarray, longest: int) -> np.ndarray:
    """Scale so the longer side is `longest`, aspect kept; area-averaging when shrinking (anti-aliased)."""
    height, width = ink.shape
    scale = longest / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    resized = Image.fromarray(ink.astype(np.float32), mode="F").resize(size, resample)
    return np.clip(np.asarray(resized), 0.0, 1.0)


def stroke_width(ink: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean stroke width (ink area / skeleton length) and the skeleton, in the image's own pixels."""
    skeleton = skeletonize(ink > 0.25)
    return float(ink.sum()) / max(int(skeleton.sum()), 1), skeleton


def _normalise_width(work: np.ndarray) -> np.ndarray:
    """Re-stroke too-thin drawings along their skeleton at MNIST's median width, anti-aliased.

    Too-thick drawings are left alone: measured on pendigits, eroding or re-stroking them loses the
    filled-in loops of small blobby digits and matches the normal drawing less well than the blob.
    """
    width, skeleton = stroke_width(work)
    scale = BOX / max(work.shape)
    if width * scale >= _MIN_WIDTH:
        return work
    target = _TARGET_WIDTH / scale
    pad = int(np.ceil(target)) + 1
    distance = ndimage.distance_transform_edt(~np.pad(skeleton, pad))
    restroked = np.clip((target - 1.0) / 2.0 + 0.5 - distance, 0.0, 1.0).astype(np.float32)
    return restroked[_bounding_box(restroked)]


def normalise(ink: np.ndarray) -> np.ndarray:
    """Crop the ink, fit it into 20×20 (aspect kept) and centre its mass in 28×28 (float32, ink = 1)."""
    crop = ink[_bounding_box(ink)]
    work = _normalise_width(_resize(crop, _WORK))
    digit = _resize(work, BOX)
    total = float(digit.sum())
    if total <= 0.0:
        raise DrawingError("empty_drawing", "The canvas is empty: draw a digit first.")
    rows, cols = np.indices(digit.shape)
    centre_y = float((rows * digit).sum()) / total
    centre_x = float((cols * digit).sum()) / total
    top = int(np.clip(round(CENTRE - centre_y), 0, SIZE - digit.shape[0]))
    left = int(np.clip(round(CENTRE - centre_x), 0, SIZE - digit.shape[1]))
    out = np.zeros((SIZE, SIZE), dtype=np.float32)
    out[top:top + digit.shape[0], left:left + digit.shape[1]] = digit
    return out


def preprocess(payload: str) -> np.ndarray:
    """The whole path from request payload to model input."""
    return normalise(ink_map(decode_image(payload)))


def to_data_url(digit: np.ndarray) -> str:
    """The 28×28 as MNIST shows it (white ink on black), for the page's "what the model sees"."""
    pixels = (np.clip(digit, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return png_data_url(png_bytes(Image.fromarray(pixels, mode="L")))


VARIANT_SCALES = (0.85, 0.95, 1.05, 1.15)
VARIANT_ANGLES = (-25.0, -15.0, -5.0, 5.0, 15.0, 25.0)


def variants(digit: np.ndarray) -> np.ndarray:
    """24 views of one drawing (4 rescales × 6 rotations about the centre), as the original app learned.

    One correction is a single example; spreading it over nearby sizes and slants lets a single
    gradient step generalise to the next time the person draws that digit a little differently.
    """
    views = _variant_map() @ digit.astype(np.float32).ravel()
    return np.clip(views, 0.0, 1.0).reshape(len(VARIANT_SCALES) * len(VARIANT_ANGLES), SIZE, SIZE)


@functools.cache
def _variant_map() -> sparse.csr_matrix:
    """The 24 views as one sparse linear map of the drawing's 784 pixels: each view pixel is the bilinear blend
    of the (at most 4) drawing pixels its inverse-rotated, inverse-scaled position falls between, 0 where that
    position lies outside the drawing (as `scipy.ndimage.affine_transform`, order 1, constant mode, has it).
    The learner's views cost one sparse product instead of 24 interpolation passes (2.8 ms a correction)."""
    out = np.indices((SIZE, SIZE)).reshape(2, -1).astype(np.float64)  # (row, column) of every view pixel
    centre = np.array([[CENTRE], [CENTRE]])
    rows, columns, weights = [], [], []
    for view, (scale, angle) in enumerate(itertools.product(VARIANT_SCALES, np.deg2rad(VARIANT_ANGLES))):
        cos, sin = np.cos(angle), np.sin(angle)
        inverse = np.array([[cos, sin], [-sin, cos]]) / scale  # view → drawing coordinates
        source = inverse @ (out - centre) + centre
        corner = np.floor(source).astype(np.int64)
        fraction = source - corner
        inside = ((source >= 0) & (source <= SIZE - 1)).all(axis=0)
        for down, across in itertools.product((0, 1), (0, 1)):
            y, x = corner[0] + down, corner[1] + across
            weight = np.abs(1 - down - fraction[0]) * np.abs(1 - across - fraction[1])
            used = inside & (weight > 0) & (y < SIZE) & (x < SIZE)
            rows.append(view * SIZE * SIZE + np.flatnonzero(used))
            columns.append(y[used] * SIZE + x[used])
            weights.append(weight[used])
    shape = (len(VARIANT_SCALES) * len(VARIANT_ANGLES) * SIZE * SIZE, SIZE * SIZE)
    return sparse.csr_matrix((np.concatenate(weights).astype(np.float32),
                              (np.concatenate(rows), np.concatenate(columns))), shape=shape)
