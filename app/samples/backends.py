"""Which Storage the settings name: S3 when a bucket is configured, else the local folder."""

from __future__ import annotations

from app.config import Settings
from app.samples.storage import LocalStorage, Storage


def storage_from_settings(settings: Settings) -> Storage:
    """S3 when a bucket is configured (boto3 is imported only then: it costs a process 22 MB), else the folder."""
    if settings.s3_bucket:
        from app.samples.s3 import S3Storage, make_s3_client

        return S3Storage(settings.s3_bucket, settings.s3_prefix, make_s3_client())
    return LocalStorage(settings.data_dir)
