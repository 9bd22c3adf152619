"""Settings read from the environment, so that one build runs anywhere (12-factor).

pydantic-settings maps each field to one DIGITDRAW_* variable and converts and validates it, so a
typo such as DIGITDRAW_TF_THREADS=two fails at start rather than on the first request.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

from flask import current_app
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything the app can be told; secrets are SecretStr, so no repr or log line shows them."""

    model_config = SettingsConfigDict(env_prefix="DIGITDRAW_", env_ignore_empty=True, frozen=True,
                                      populate_by_name=True)

    model_dir: Path = ROOT / "models"
    data_dir: Path = ROOT / "var"
    log_level: str = "INFO"
    max_request_bytes: int = 3 * 1024 * 1024
    tf_threads: int = 1
    # how far the learner process lowers the CPU priority of all its threads (nice): where it shares a host with web
    # workers, a request that wakes preempts it; on a machine of its own it changes nothing
    learner_nice: int = 19
    s3_bucket: str = ""
    s3_prefix: str = ""
    # the sample index: Heroku's DATABASE_URL (postgres://… accepted); empty = SQLite in data_dir
    database_url: SecretStr = Field(SecretStr(""), validation_alias=AliasChoices("DATABASE_URL",
                                                                                 "DIGITDRAW_DATABASE_URL"))
    # online learning from corrections (its reference digits ship in model_dir); false: corrections are only stored
    learning: bool = True
    admin_token: SecretStr = SecretStr("")
    # hashes client identities; a random one per process when unset, so hashes cannot be joined across restarts
    client_salt: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_hex(16)))
    keep_versions: int = 20
    # a version is stored as its step from its parent (≈0.12 MB), and whole (4.2 MB) every this many along a line
    snapshot_every: int = 16
    # who learns from corrections: a thread of this process (one process: tests, `flask run`), or the separate
    # `flask --app app learn` process (the Procfile's learner:, so web workers never import TensorFlow)
    learner: Literal["thread", "process"] = "thread"
    learn_wait_seconds: float = 2.0  # how long /api/correct waits for the learner before answering "queued"
    fnn_learning_rate: float = 0.0015  # base step; app.online.learner lengthens it up to 16× to fix a misreading
    cnn_learning_rate: float = 0.004
    rate_limit: str = "120/minute"  # per client on what costs a drawing's reading: predict, correct, internals
    insight_rate_limit: str = "600/minute"  # per client on the public figures: stats, samples, architecture
    # where rate-limit counters live: memory:// (per process) or e.g. redis://host:6379 (shared; may hold a password)
    rate_limit_storage: SecretStr = SecretStr("memory://")
    # other origins allowed to call the API, comma-separated; none = same origin only
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    proxy_hops: int = 0  # trusted reverse proxies in front (X-Forwarded-For hops); 1 on Heroku
    # spectree's check of every answer against its response model (a mismatch is a logged 500): on in the tests, where
    # every operation's answers are exercised; off by default, as it cost about 4 % of a prediction's CPU
    check_responses: bool = False
    guard_margin: float = 0.005  # canary accuracy may fall at most this far below the shipped models'

    def index_url(self) -> str:
        """Where the sample index lives: DATABASE_URL, or an SQLite file beside the local data (zero set-up)."""
        return self.database_url.get_secret_value() or f"sqlite:///{self.data_dir / 'digitdraw.db'}"

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(origin.strip() for origin in value.split(",") if origin.strip())
        return value

    @classmethod
    def load(cls, overrides: dict[str, Any]) -> Settings:
        """The environment, with test or caller overrides (upper-case keys as in Flask config) on top.

        Keys that name no setting (TESTING, say) are left out here: create_app hands them to Flask.
        """
        known = {key.lower(): value for key, value in overrides.items() if key.lower() in cls.model_fields}
        return cls(**known)

    @classmethod
    def names(cls) -> set[str]:
        """The upper-case override keys that are settings rather than Flask config."""
        return {name.upper() for name in cls.model_fields}


def settings() -> Settings:
    """The running app's settings: the one object every module reads them from."""
    found: Settings = current_app.extensions["settings"]
    return found
