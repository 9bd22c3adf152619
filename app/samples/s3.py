"""S3 as the Storage contract of app.samples.storage: a bucket under an optional prefix, ETags as tags.

Its own module so that a process on the local folder never imports boto3 (22 MB of a web worker's memory).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from app.samples.storage import (
    DEFAULT_CONTENT_TYPE,
    NotFound,
    PreconditionFailed,
    StorageError,
    StorageUnavailable,
    check_key,
    check_prefix,
)

# Short timeouts and few retries so a dead endpoint costs a request seconds, not minutes.
S3_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 3, "mode": "standard"})


class S3Storage:
    """Objects in one bucket under an optional prefix; the tag is the S3 ETag, passed back as If-Match."""

    def __init__(self, bucket: str, prefix: str, client: Any, page_size: int = 1000) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.client = client
        self.page_size = page_size

    def __repr__(self) -> str:
        return f"S3Storage({self.bucket!r}, {self.prefix!r})"

    def put(self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> str:
        return self._put(key, data, content_type)

    def get(self, key: str) -> bytes:
        return self.get_with_tag(key)[0]

    def get_with_tag(self, key: str) -> tuple[bytes, str]:
        with _translate_errors(key):
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            return response["Body"].read(), response["ETag"]

    def list(self, prefix: str = "") -> list[str]:
        full_prefix = self.prefix + check_prefix(prefix)
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.bucket, Prefix=full_prefix, PaginationConfig={"PageSize": self.page_size}
        )
        with _translate_errors(prefix):
            keys = [item["Key"][len(self.prefix) :] for page in pages for item in page.get("Contents", [])]
        return sorted(keys)

    def put_if(self, key: str, data: bytes, *, match: str | None, content_type: str = DEFAULT_CONTENT_TYPE) -> str:
        condition = {"IfNoneMatch": "*"} if match is None else {"IfMatch": match}
        try:
            return self._put(key, data, content_type, **condition)
        except NotFound as err:
            # If-Match on a key deleted meanwhile: the tag the caller holds is stale, like any other change.
            raise PreconditionFailed(f"{key} no longer exists") from err

    def delete(self, key: str) -> None:
        with _translate_errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def _put(self, key: str, data: bytes, content_type: str, **condition: str) -> str:
        with _translate_errors(key):
            response = self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type, **condition
            )
            return response["ETag"]

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)


# 412: the condition did not hold. 409: another conditional write to the same key won a race in flight.
_CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict"}


@contextlib.contextmanager
def _translate_errors(key: str) -> Iterator[None]:
    """Map botocore's errors onto ours, so callers handle one small set whatever the backend."""
    try:
        yield
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code == "NoSuchKey":
            raise NotFound(key) from err
        if code in _CONFLICT_CODES or status == 412:
            raise PreconditionFailed(f"{key}: {code}") from err
        if status >= 500:
            raise StorageUnavailable(f"S3 answered {status} {code} for {key!r}") from err
        raise StorageError(f"S3 refused {key!r}: {code}") from err
    except (BotoConnectionError, HTTPClientError) as err:
        raise StorageUnavailable(f"S3 unreachable for {key!r}: {err}") from err
    except BotoCoreError as err:
        raise StorageError(f"S3 client error for {key!r}: {err}") from err


def make_s3_client(**overrides: Any) -> Any:
    """A client that fails fast; region, credentials and AWS_ENDPOINT_URL come from the usual AWS sources."""
    return boto3.session.Session().client("s3", config=S3_CLIENT_CONFIG, **overrides)
