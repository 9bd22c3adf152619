"""Every request and response body of the JSON API as a pydantic model: the one source both of the
checks a request meets and of the OpenAPI document (app.web.contract generates it with spectree).

Requests are as strict as the API has always been: `"7"` and `true` are not 7, but `7.0` is (JSON has
one number type); unknown body fields are ignored, unknown query parameters refused. Each request
model says, per field, the sentence a refused value answers with; app.web.contract turns a failed
validation into the field's `bad_<field>` error code. Responses forbid unknown fields, so schemathesis
(tests/test_openapi.py) fails when the app and the document part.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    WithJsonSchema,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.online.personal import PERSON_PATTERN
from app.reading.imaging import MAX_PAYLOAD_BYTES, MAX_SIDE
from app.reading.numbers import STROKE_MARGIN
from app.samples.dataset import PER_PAGE, SAMPLE_ID
from app.samples.store import SOURCES

# A 28×28 canvas export (transparent background, one dark stroke): a drawn 7, read as 7.
SEVEN_PNG_BASE64 = (
    "iVBORw0KGgoAAAANSUhEUgAAABwAAAAcCAQAAADYBBcfAAAAVElEQVR42u3TQQ4AEAxEUXr/O39roWhjNmJ2EvKaakv5cVO7E+e3LcSQfVi9"
    "UndWuFRGxLJdtZwnFZk3USbifZpIxB8SichqKAUi6yW4LhJaukfTAPGMCyXtOue7AAAAAElFTkSuQmCC"
)
SEVEN_DATA_URL = "data:image/png;base64," + SEVEN_PNG_BASE64
PERSON_EXAMPLE = "3f9c2a7e51b04d6e8a1f0c9b7d2e4a6f"

# What a real canvas produces (the page sends fractions of the canvas side, its clock in ms): a digit
# is a few strokes of a few hundred points. The bounds keep a stored sample's JSON to a few KB.
MAX_STROKES = 64
MAX_POINTS = 4096
MARGIN = STROKE_MARGIN  # points may leave the canvas by a tenth of its side (the pen is still captured there)
MAX_T_MS = 3_600_000  # an hour of drawing
DECIMALS = 4  # a ten-thousandth of the side: 0.1 px on a 1,000 px canvas

ERROR_CODES = (
    "bad_json", "missing_image", "bad_image", "bad_base64", "bad_data_url", "bad_person", "bad_label",
    "bad_predicted", "bad_strokes", "bad_consent", "bad_source", "bad_number", "too_large", "image_too_large",
    "unsupported_media_type", "not_an_image", "corrupt_image", "empty_drawing", "rate_limited", "models_missing",
    "unauthorized", "forbidden", "admin_disabled", "bad_version", "unknown_version", "unknown_parameter",
    "bad_window", "bad_misread", "bad_page", "bad_before", "unknown_sample", "storage_unavailable", "bad_request",
    "not_found",
    "method_not_allowed", "http_error", "internal_error",
)
MODEL_NAMES = ("fnn", "cnn", "fnn_online", "cnn_online")
STATUSES = ("pending", "learned", "quarantined", "not_learned")
PNG_DATA_URL = r"^data:image/png;base64,[A-Za-z0-9+/]+={0,2}$"
MAX_DIGITS = 12
NUMBER_PATTERN = f"^[0-9]{{1,{MAX_DIGITS}}}$"


def _whole(value: Any) -> Any:
    """A JSON whole number (7, or 7.0) as an int; anything else (true, "7", 7.5) is refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not a whole number")
    return value


Digit = Annotated[int, Field(ge=0, le=9)]
WholeDigit = Annotated[int, Field(ge=0, le=9), BeforeValidator(_whole)]
Probability = Annotated[float, Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=0)]
PngDataUrl = Annotated[str, Field(pattern=PNG_DATA_URL)]
SampleId = Annotated[str, Field(pattern=f"^{SAMPLE_ID.pattern}$", examples=["20261123T195301123456Z-1a2b3c4d"])]
Person = Annotated[StrictStr | None, Field(
    pattern=f"^{PERSON_PATTERN.pattern}$", examples=[PERSON_EXAMPLE],
    description="An anonymous id the browser keeps (the page: a random one in localStorage), so the app can "
                "learn this person's handwriting; stored only as a hash. Null or absent: nobody in particular.")]
Image = Annotated[StrictStr, Field(
    examples=[SEVEN_DATA_URL],
    description=f"A PNG or JPEG drawing (at most {MAX_SIDE}×{MAX_SIDE}, {MAX_PAYLOAD_BYTES // 2**20} MB) as a "
                "data URL (`data:image/png;base64,…`) or bare base64. Transparent pixels are background; opaque "
                "images may be dark-on-light or light-on-dark.")]


class Closed(BaseModel):
    """A response body: exactly these fields, so the document says all the app sends."""

    model_config = ConfigDict(extra="forbid")


class RequestModel(BaseModel):
    """A request body or query; `messages` holds, per field, the sentence a refused value answers with."""

    messages: ClassVar[dict[str, str]] = {}
    registry: ClassVar[dict[str, type[RequestModel]]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Known by name, so a ValidationError (whose `title` is the model's name) finds its messages."""
        super().__pydantic_init_subclass__(**kwargs)
        RequestModel.registry[cls.__name__] = cls


# ---- requests -------------------------------------------------------------------------------------

def _rounded(decimals: int) -> Callable[[tuple[float, ...]], tuple[float, ...]]:
    """x and y to `decimals`, t to the millisecond: enough for replay, a few KB a drawing."""

    def rounded(point: tuple[float, ...]) -> tuple[float, ...]:
        return (*(round(v, decimals) for v in point[:2]), *(round(v) for v in point[2:]))

    return rounded


def _few_points(strokes: list[list[tuple[float, ...]]] | None) -> list[list[tuple[float, ...]]] | None:
    if strokes is not None and sum(map(len, strokes)) > MAX_POINTS:
        raise ValueError(f"more than {MAX_POINTS} points")
    return strokes


def _strokes(low: float, high: float, decimals: int, description: str, example: list[Any]) -> Any:
    """A drawing's trajectory: at most MAX_STROKES strokes of [x, y] or [x, y, t] points, MAX_POINTS in all,
    x and y from `low` to `high`, rounded to `decimals`."""
    coordinate = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=low, le=high)]
    point = Annotated[tuple[coordinate, coordinate] | tuple[coordinate, coordinate, Time],
                      AfterValidator(_rounded(decimals))]
    return Annotated[list[list[point]] | None, Field(max_length=MAX_STROKES, description=description,
                                                     examples=[example]), AfterValidator(_few_points)]


Time = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=MAX_T_MS)]
BOUNDS = (f"at most {MAX_STROKES} strokes of [x, y] or [x, y, t] points, {MAX_POINTS} points in all, t milliseconds "
          f"since the first point (0 to {MAX_T_MS})")
Strokes = _strokes(
    -MARGIN, 1 + MARGIN, DECIMALS,
    f"The drawing as the pen moved: {BOUNDS}. x and y are fractions of the canvas side (0–1 inside it, "
    f"{-MARGIN} to {1 + MARGIN} allowed); stored rounded to {DECIMALS} decimals and to the millisecond.",
    [[[0.21, 0.2, 0], [0.75, 0.2, 120], [0.43, 0.82, 260]]])
PIXEL_DECIMALS = 2
PixelStrokes = _strokes(
    -MARGIN * MAX_SIDE, (1 + MARGIN) * MAX_SIDE, PIXEL_DECIMALS,
    f"The drawing as the pen moved: {BOUNDS}. x and y are pixels of the image (a tenth of its size beyond its "
    f"edges allowed), rounded to {PIXEL_DECIMALS} decimals. They tell the digits apart better than the "
    "picture alone: a digit's strokes are drawn one after another.",
    [[[70.5, 60.0, 0], [150.2, 60.0, 120], [100.0, 220.8, 260]], [[300.0, 60.0, 900], [300.0, 220.0, 1100]]])
STROKES_MESSAGE = (f"`strokes` must be {BOUNDS}, x and y fractions of the canvas side from {-MARGIN} to {1 + MARGIN}.")
PIXEL_STROKES_MESSAGE = f"`strokes` must be {BOUNDS}, x and y pixels of the image."


IMAGE_MESSAGES = {
    "image": "The field `image` must be a string (a data URL).",
    "person": "`person` must be 8 to 64 letters, digits, '-' or '_' (an anonymous id).",
}
MISSING_IMAGE = "The field `image` is missing: send the drawing as a data URL."


class ImageRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"image": SEVEN_DATA_URL}]})
    messages: ClassVar[dict[str, str]] = IMAGE_MESSAGES

    image: Image

    @property
    def drawing(self) -> str:
        return self.image


class PredictRequest(ImageRequest):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"image": SEVEN_DATA_URL}, {"image": SEVEN_PNG_BASE64},
        {"image": SEVEN_DATA_URL, "strokes": [[[0.21, 0.2, 0], [0.75, 0.2, 120], [0.43, 0.82, 260]]]}]})
    messages: ClassVar[dict[str, str]] = {**IMAGE_MESSAGES, "strokes": STROKES_MESSAGE}

    person: Person = None
    strokes: Strokes = Field(None, description="The pen's path, as /api/correct takes it: the strokes net reads it "
                                               "too, and the answer blends its reading with the picture nets'.")


class ImageForm(RequestModel):
    """The original front end's form post: `imageBase64` holds the data URL (`image` is read when
    `imageBase64` is empty or absent)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"imageBase64": SEVEN_DATA_URL}]})
    messages: ClassVar[dict[str, str]] = IMAGE_MESSAGES

    imageBase64: StrictStr | None = Field(None, examples=[SEVEN_DATA_URL])
    image: StrictStr | None = Field(None, examples=[SEVEN_DATA_URL])

    @model_validator(mode="after")
    def _has_a_drawing(self) -> ImageForm:
        if self.drawing is None:
            raise PydanticCustomError("missing_image", MISSING_IMAGE)
        return self

    @property
    def drawing(self) -> str | None:
        return self.imageBase64 or self.image


class PredictForm(ImageForm):
    person: Person = None
    strokes: ClassVar[None] = None  # a form post carries the picture only


class CorrectRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"image": SEVEN_DATA_URL, "label": 7, "predicted": 1, "consent": True,
         "strokes": [[[0.21, 0.2, 0], [0.75, 0.2, 120], [0.43, 0.82, 260]]]},
        {"image": SEVEN_DATA_URL, "label": 7, "predicted": None, "source": "collection"},
    ]})
    messages: ClassVar[dict[str, str]] = {
        **IMAGE_MESSAGES,
        "label": "`label` must be a whole number from 0 to 9.",
        "predicted": "`predicted` must be a whole number from 0 to 9.",
        "strokes": STROKES_MESSAGE,
        "consent": "`consent` must be true or false.",
        "source": '`source` may only be "collection" (or left out).',
    }

    image: Image
    label: WholeDigit = Field(description="The digit the person meant.")
    predicted: WholeDigit | None = Field(None, description="The answer the person was shown (null if none).")
    strokes: Strokes = None
    person: Person = None
    consent: StrictBool = Field(False, description="Whether the drawing may be published in the dataset.")
    source: Literal["collection"] | None = Field(
        None, description="`collection` for drawings made on request; otherwise the sample is a confirmation "
                          "(label = predicted) or a correction.")



class ReadRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"image": SEVEN_DATA_URL}]})
    messages: ClassVar[dict[str, str]] = {**IMAGE_MESSAGES, "strokes": PIXEL_STROKES_MESSAGE}

    image: Image
    strokes: PixelStrokes = None
    person: Person = None


class ReadCorrectRequest(ReadRequest):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"image": SEVEN_DATA_URL, "number": "7", "consent": True}]})
    messages: ClassVar[dict[str, str]] = {
        **ReadRequest.messages,
        "number": f"`number` must be the digits the drawing shows: a string of 1 to {MAX_DIGITS} digits 0–9.",
        "consent": "`consent` must be true or false.",
    }

    number: Annotated[StrictStr, Field(pattern=NUMBER_PATTERN, examples=["2026"])] = Field(
        description="The number the person wrote, as its digits.")
    consent: StrictBool = Field(False, description="Whether the drawing (or its digits) may be published in the "
                                                   "dataset.")


class RollbackRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"version": "baseline"}, {"version": 0}]})
    messages: ClassVar[dict[str, str]] = {"version": '`version` must be a kept version number or "baseline".'}

    version: Annotated[int, Field(ge=0), BeforeValidator(_whole)] | Literal["baseline"] = Field(
        description="A kept version number (GET /api/models) or `baseline` (= 0).")


# ---- insight queries: every value is a string; empty means "any" (the dataset page's form sends all)

def _query_value(schema: dict[str, Any], parse: Callable[[str], Any]) -> Any:
    """A query parameter checked by `parse` (ValueError: refused); empty is None, a repeated one refused."""

    def check(raw: Any) -> Any:
        if not isinstance(raw, str):
            raise PydanticCustomError("repeated", "given more than once")
        return None if raw == "" else parse(raw)

    return Annotated[Any, BeforeValidator(check), WithJsonSchema({"anyOf": [schema, {"const": ""}]})]


def _matching(pattern: str, low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        if not re.fullmatch(pattern, raw) or not low <= int(raw) <= high:
            raise ValueError("out of range")
        return int(raw)

    return parse


def _choice(choices: dict[str, Any]) -> Callable[[str], Any]:
    def parse(raw: str) -> Any:
        if raw not in choices:
            raise ValueError("not a choice")
        return choices[raw]

    return parse


FLAGS = {"true": True, "1": True, "false": False, "0": False}
MIN_WINDOW, MAX_WINDOW = 5, 1000
MAX_PAGE = 1_000_000


class Query(RequestModel):
    """Query parameters: an unknown one is refused (`unknown_parameter`)."""

    model_config = ConfigDict(extra="forbid")


Window = _query_value({"type": "integer", "minimum": MIN_WINDOW, "maximum": MAX_WINDOW},
                      _matching(r"[1-9][0-9]{0,6}", MIN_WINDOW, MAX_WINDOW))
LabelValue = _query_value({"type": "integer", "minimum": 0, "maximum": 9}, _matching(r"[0-9]", 0, 9))
FlagValue = _query_value({"enum": list(FLAGS)}, _choice(FLAGS))
SourceValue = _query_value({"enum": list(SOURCES)}, _choice({s: s for s in SOURCES}))
PageValue = _query_value({"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                         _matching(r"[1-9][0-9]{0,6}", 1, MAX_PAGE))


def _sample_id(raw: str) -> str:
    if not SAMPLE_ID.fullmatch(raw):
        raise ValueError("not a sample id")
    return raw


CursorValue = _query_value({"type": "string", "pattern": f"^{SAMPLE_ID.pattern}$"}, _sample_id)


class StatsQuery(Query):
    messages: ClassVar[dict[str, str]] = {
        "window": f"`window` must be a whole number from {MIN_WINDOW} to {MAX_WINDOW}."}

    window: Window = Field(
        "", validate_default=True, description="Samples in the rolling accuracy window (default 50).")


class SamplesQuery(Query):
    messages: ClassVar[dict[str, str]] = {
        "label": "`label` must be a digit from 0 to 9 (or empty for any).",
        "misread": "`misread` must be true or false (or empty for either).",
        "source": f"`source` must be one of {', '.join(SOURCES)} (or empty for any).",
        "page": f"`page` must be a whole number from 1 to {MAX_PAGE}.",
        "before": "`before` must be a sample id (a page's `next`).",
    }

    label: LabelValue = Field(
        "", validate_default=True, description="Only this digit.")
    misread: FlagValue = Field(
        "", validate_default=True, description="Only samples the nets misread (true) or read right (false).")
    source: SourceValue = Field(
        "", validate_default=True, description="Only samples from this source.")
    page: PageValue = Field(
        "", validate_default=True, description="1-based; a page past the end is empty.")
    before: CursorValue = Field(
        "", validate_default=True, description="The samples older than this id: the previous page's `next`, which "
                                               "costs the same at any depth (`page` is then ignored).")


class NoQuery(Query):
    """This address takes no query parameters."""


# ---- responses ------------------------------------------------------------------------------------

class ErrorDetail(Closed):
    code: Literal[ERROR_CODES] = Field(description="Stable, for programs.")
    message: str = Field(min_length=1, description="A sentence for people.")


class Error(Closed):
    """Every error the API answers: a code for programs, a sentence for people."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"error": {"code": "empty_drawing", "message": "The canvas is empty: draw a digit first."}}]})

    error: ErrorDetail


def error_model(name: str, *codes: str) -> type[Error]:
    """An error body whose `error.code` is one of `codes`: what one status of one operation can carry."""
    unknown = set(codes) - set(ERROR_CODES)
    assert not unknown, unknown
    detail = create_model(f"{name}Detail", __base__=ErrorDetail, code=(Literal[codes], ...))
    return create_model(name, __base__=Error, error=(detail, ...), __doc__=f"Error codes: {', '.join(codes)}.")


class ModelVersion(Closed):
    """Accepted online updates behind each online net (0 = the shipped weights)."""

    fnn_online: Count
    cnn_online: Count


class ModelReading(Closed):
    top3: list[tuple[Digit, Probability]] = Field(
        min_length=3, max_length=3,
        description="The three likeliest digits, most likely first, as [digit, probability].")


class Readings(Closed):
    """Each net's reading; `personal` only for a `person` the app has learned from, `strokes` only when the pen's
    path was sent."""

    fnn: ModelReading
    cnn: ModelReading
    fnn_online: ModelReading
    cnn_online: ModelReading
    personal: ModelReading | None = None
    strokes: ModelReading | None = None


class Prediction(Closed):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "answer": 7, "recognized": True, "reason": None, "confidence": 0.9731, "answered_by": "online",
        "models": {name: {"top3": [[7, 0.9731], [1, 0.0154], [9, 0.0061]]} for name in MODEL_NAMES},
        "preview": SEVEN_DATA_URL, "model_version": {"fnn_online": 0, "cnn_online": 0}}, {
        "answer": None, "recognized": False, "reason": "not_a_digit", "confidence": 0.8841, "answered_by": "online",
        "models": {name: {"top3": [[4, 0.8841], [9, 0.0712], [1, 0.0207]]} for name in MODEL_NAMES},
        "preview": SEVEN_DATA_URL, "model_version": {"fnn_online": 0, "cnn_online": 0}}]})

    answer: Digit | None = Field(description="The digit read, or null when nothing is recognised (`reason`).")
    recognized: bool = Field(description="false exactly when `answer` is null.")
    reason: Literal["not_sure", "not_a_digit"] | None = Field(
        description="Why nothing is recognised; null when `answer` is a digit. `not_sure`: the online nets disagree "
                    "and are both unsure; `not_a_digit`: the not-a-digit detector (app/reading/rejection.py) says "
                    "the drawing is no digit at all (a cross, a question mark, a scribble), whatever the nets read; "
                    "`models` still says what they read, and a correction still teaches them.")
    confidence: Probability = Field(description="How sure the nets are of the digit they read (also when it is "
                                                "not the answer).")
    answered_by: Literal["online", "personal"] = Field(
        description="`personal`: the answer blends the person's own last layer with the online pair (it has read "
                    "their drawings at least as well as the pair); `online`: the pair.")
    models: Readings
    preview: PngDataUrl = Field(description="The 28×28 input the nets saw (white ink on black) as a PNG data URL.")
    model_version: ModelVersion


class StoredSample(Closed):
    """A labelled drawing stored and put to the learner."""

    sample_id: SampleId
    stored: Literal[True, "spooled"] = Field(
        description="true once in the store; `spooled` when the store is down and the sample waits on local disk.")
    indexed: bool = Field(description="false when the sample index (the database) could not be written: the sample "
                                      "is stored all the same, and indexed later (or by `flask reindex`).")
    learned: bool
    status: Literal["learned", "quarantined", "not_learned", "queued"] = Field(
        description="What learning made of it: `queued` when the learner has not reached it within the wait "
                    "(DIGITDRAW_LEARN_WAIT_SECONDS); it is saved and will be learned in order.")
    reason: str = Field(min_length=1, description="`learned`, or why the nets did not learn from it.")


class CorrectResponse(StoredSample):
    model_version: ModelVersion
    after: Prediction


Box = tuple[Count, Count, Count, Count]


class NumberDigit(Closed):
    box: Box = Field(description="[x0, y0, x1, y1] in image pixels (x1, y1 exclusive).")
    answer: Digit | None = Field(description="null: this digit is not recognised.")
    confidence: Probability
    top3: list[tuple[Digit, Probability]] = Field(min_length=3, max_length=3, description="As [digit, probability].")
    preview: PngDataUrl = Field(description="The 28×28 this digit was read from (white ink on black).")


class Reading(Closed):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "number": "71", "recognized": True, "confidence": 0.9412, "digits": [
            {"box": [20, 40, 120, 240], "answer": 7, "confidence": 0.97, "top3": [[7, 0.97], [1, 0.02], [9, 0.01]],
             "preview": SEVEN_DATA_URL},
            {"box": [160, 40, 200, 240], "answer": 1, "confidence": 0.9703,
             "top3": [[1, 0.9703], [7, 0.02], [4, 0.004]], "preview": SEVEN_DATA_URL}]}]})

    number: Annotated[str, Field(pattern=NUMBER_PATTERN)] | None = Field(
        description="The digits read, left to right; null unless every digit is recognised.")
    recognized: bool = Field(description="false exactly when `number` is null.")
    confidence: Probability = Field(description="The product of the digits' confidences.")
    digits: list[NumberDigit] = Field(min_length=1, description="In reading order, left to right.")


class DigitSample(StoredSample):
    label: Digit = Field(description="The digit of the corrected number this segment was taught as.")
    box: Box


class WholeNumber(Closed):
    id: SampleId
    stored: Literal[True, "spooled"]


class ReadCorrectResponse(Closed):
    number: Annotated[str, Field(pattern=NUMBER_PATTERN)]
    segmented: bool = Field(description="true: the number has as many digits as the reading had segments, and each "
                                        "became a sample of its own (`digits`); false: the drawing is kept whole "
                                        "(`whole`) for later training, and nothing was learned from it.")
    digits: list[DigitSample] = Field(description="Left to right; empty unless `segmented`.")
    whole: WholeNumber | None = Field(description="The unsegmented drawing, unless `segmented`.")
    model_version: ModelVersion
    after: Reading = Field(description="The drawing read again by the nets (and the person's layer) after learning.")


class Learning(Closed):
    """Whether corrections teach the online nets on this server, so that nobody mistakes storing for learning."""

    on: bool
    reason: str | None = Field(min_length=1, description="Why learning is off; null while it is on.")


class Health(Closed):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"status": "ok", "learning": {"on": True, "reason": None},
         "model_version": {"fnn_online": 0, "cnn_online": 0}}]})

    status: Literal["ok"]
    learning: Learning
    model_version: ModelVersion


class CanaryReading(Closed):
    accuracy: Probability = Field(description="Share of the canary digits read right.")
    loss: float = Field(ge=0, description="Mean cross-entropy on the canary digits.")


class Canary(Closed):
    """How each online net reads the fixed MNIST canary digits; empty when learning is off."""

    fnn_online: CanaryReading | None = None
    cnn_online: CanaryReading | None = None


Tally = create_model("Tally", __base__=Closed, __doc__="Stored samples per label.",
                     **{f"digit_{d}": (Count, Field(alias=str(d))) for d in range(10)})


class PerDigit(Closed):
    counts: Tally


class VersionRecord(Closed):
    version: int = Field(ge=1)
    parent: Count
    sample_id: str | None = Field(min_length=1, description="The sample learned; null unless its author shared it.")
    label: Digit
    canary: Canary
    kind: Literal["step", "snapshot"] = Field(
        "snapshot", description="Stored as its step from `parent` (about 0.12 MB) or as every weight (4.2 MB).")
    depth: Count = Field(0, description="Steps since the last snapshot along its line (0: a snapshot).")


class Baseline(Closed):
    version: Literal[0]
    canary: Canary


class Models(Closed):
    current: Count
    latest: Count
    baseline: Baseline
    versions: list[VersionRecord] = Field(description="Kept versions, oldest first.")


class RollbackResponse(Closed):
    current: Count
    model_version: ModelVersion


# ---- insight responses ----------------------------------------------------------------------------

Share = Probability | None
Source = Literal[SOURCES]


class Series(Closed):
    fnn: list[Share]
    cnn: list[Share]
    fnn_online: list[Share]
    cnn_online: list[Share]
    shown: list[Share]


class SeriesShare(Closed):
    fnn: Share
    cnn: Share
    fnn_online: Share
    cnn_online: Share
    shown: Share


class StatusCounts(Closed):
    pending: Count
    learned: Count
    quarantined: Count
    not_learned: Count


class Totals(Closed):
    samples: Count
    misread: Count
    consented: Count
    people: Count = Field(description="Distinct client hashes.")
    by_source: dict[Source, Count]
    by_status: StatusCounts
    first: str | None
    last: str | None


class Prequential(Closed):
    """Each sample was read by every net before it taught the online pair ('test, then train'): how often
    each net's top-1 was the label."""

    window: int = Field(ge=1)
    count: Count
    index: list[Annotated[int, Field(ge=1)]] = Field(description="The n-th sample (oldest first) each point "
                                                                 "ends at.")
    created: list[str]
    series: Series = Field(description="Rolling top-1 accuracy over the last `window` samples; null where a net "
                                       "has no reading.")
    overall: SeriesShare
    recent: SeriesShare


class Day(Closed):
    date: str = Field(json_schema_extra={"format": "date"})
    correction: Count
    confirmation: Count
    collection: Count
    number: Count
    total: Count


class DigitCounts(Closed):
    digit: Digit
    correction: Count
    confirmation: Count
    collection: Count
    number: Count
    misread: Count
    total: Count


class Confusion(Closed):
    rows: list[Digit]
    columns: list[Digit | None] = Field(description="0–9, then null: nothing recognised.")
    matrix: list[list[Count]] = Field(description="matrix[label][column]: samples of `label` shown as `column`.")


class KeptVersion(Closed):
    version: int = Field(ge=1)
    parent: Count | None
    label: Digit | None
    sample_id: str | None
    canary: Canary


class Versions(Closed):
    current: Count
    latest: Count
    baseline: Baseline
    current_canary: Canary
    kept: list[KeptVersion]


class Stats(Closed):
    totals: Totals
    prequential: Prequential
    per_day: list[Day]
    per_digit: list[DigitCounts] = Field(min_length=10, max_length=10)
    confusion: Confusion
    versions: Versions
    learning: bool = Field(description="false when this server cannot learn (turned off, or bad reference digits).")


class SampleItem(Closed):
    id: SampleId
    label: Digit
    predicted: Digit | None = Field(description="The answer the page showed (null: none, e.g. collection).")
    answer: Digit | None = Field(description="The app's answer when the sample arrived.")
    shown: Digit | None = Field(description="`predicted`, or `answer` when the page sent none.")
    misread: bool = Field(description="Whether `shown` is not the label.")
    source: Source
    status: Literal[STATUSES]
    consent: bool = Field(description="Shared in the public dataset (else admin only).")
    created: str = Field(json_schema_extra={"format": "date-time"})
    thumbnail: str = Field(description="The drawing's PNG (GET /api/samples/{sample_id}.png).")
    url: str = Field(description="The drawing's page.")


class Filters(Closed):
    label: Digit | None
    misread: bool | None
    source: Source | None


class SamplePage(Closed):
    items: list[SampleItem] = Field(max_length=PER_PAGE)
    page: int | None = Field(ge=1, description="null for a page asked for by `before`.")
    per_page: Literal[PER_PAGE]
    pages: Count
    total: Count
    next: SampleId | None = Field(description="Pass as `before` for the following page; null on the last one.")
    filters: Filters
    everyone: bool = Field(description="true for the admin: samples without consent included.")


class Canvas(Closed):
    width: Count
    height: Count


class SampleDetail(SampleItem):
    """A stored sample as served; samples stored before today's bounds may hold longer strokes."""

    models: Readings | None = None
    model_version: ModelVersion | None = None
    canvas: Canvas | None = None
    strokes: list[list[list[float]]] | None = None
    reason: str | None = None
    learned_version: Count | None = None
    image: PngDataUrl = Field(description="The drawing as stored.")
    preview: PngDataUrl | None = Field(description="The 28×28 the nets read (null if the stored drawing cannot "
                                                   "be read).")


class Deleted(Closed):
    id: SampleId
    deleted: Literal[True]
    deleted_at: str = Field(json_schema_extra={"format": "date-time"})
    image_removed: Literal[True]


class Cnn(Closed):
    model: Literal["cnn_online"]
    filters: list[PngDataUrl] = Field(min_length=16, max_length=16, description="The first convolution's 4×4 "
                                      "kernels, upscaled ×12 (blue −, orange +).")
    feature_maps: list[PngDataUrl] = Field(min_length=16, max_length=16,
                                           description="Its 28×28 activations for the drawing, on one scale.")
    feature_peaks: list[Annotated[float, Field(ge=0)]]
    kernel_size: tuple[int, int]


class Unit(Closed):
    unit: Count
    activation: float = Field(ge=0)
    weights_image: PngDataUrl = Field(description="Its 784 input weights as 28×28, ×2.")
    pushes_towards: Digit
    push: float


class Fnn(Closed):
    model: Literal["fnn_online"]
    top_units: list[Unit] = Field(max_length=8)
    active_units: Count
    hidden_units: Count


class SharedReadings(Closed):
    fnn: ModelReading
    cnn: ModelReading
    fnn_online: ModelReading
    cnn_online: ModelReading


class Internals(Closed):
    preview: PngDataUrl
    answer: Digit | None
    models: SharedReadings
    model_version: ModelVersion
    cnn: Cnn
    fnn: Fnn


class Layer(Closed):
    kind: str
    detail: str
    output: list[Annotated[int, Field(ge=1)]]
    parameters: Count
    learns_online: Literal[True] | None = None


class Net(Closed):
    name: Literal["fnn", "cnn"]
    title: str
    parameters: Count
    layers: list[Layer]


class Card(Closed):
    created: str | None
    command: str | None
    seed: int | None
    epochs: dict[str, Count]
    training_seconds: dict[str, float]
    accuracy: dict[str, Any] = Field(description="models/card.json `accuracy`.")
    curves: dict[str, Any] = Field(description="models/card.json `curves`: per net, per epoch.")
    data: dict[str, Count]


class Architecture(Closed):
    nets: list[Net]
    card: Card
