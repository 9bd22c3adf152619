"""Settings read from the environment, so that one build runs anywhere (12-factor)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    """Everything the app can be told; each field maps to one DIGITDRAW_* variable."""

    model_dir: Path = ROOT / "models"
    data_dir: Path = ROOT / "var"
    log_level: str = "INFO"
    max_request_bytes: int = 3 * 1024 * 1024
    tf_threads: int = 1
    s3_bucket: str = ""
    s3_prefix: str = ""
    mnist_dir: Path = ROOT / "data" / "mnist"  # reference digits for the learning guard and replay
    admin_token: str = ""
    client_salt: str = ""  # hashes client identities; a random one per process when unset
    keep_versions: int = 20
    fnn_learning_rate: float = 0.0015  # base step; app.online.learner lengthens it up to 16× to fix a misreading
    cnn_learning_rate: float = 0.004
    rate_limit: str = "120/minute"  # per client on /api/predict and /api/correct
    cors_origins: tuple[str, ...] = ()  # other origins allowed to call the API; none = same origin only
    proxy_hops: int = 0  # trusted reverse proxies in front (X-Forwarded-For hops); 1 on Heroku
    guard_margin: float = 0.005  # canary accuracy may fall at most this far below the shipped models'

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            model_dir=Path(env.get("DIGITDRAW_MODEL_DIR", cls.model_dir)),
            data_dir=Path(env.get("DIGITDRAW_DATA_DIR", cls.data_dir)),
            log_level=env.get("DIGITDRAW_LOG_LEVEL", cls.log_level).upper(),
            max_request_bytes=_env_int("DIGITDRAW_MAX_REQUEST_BYTES", cls.max_request_bytes),
            tf_threads=_env_int("DIGITDRAW_TF_THREADS", cls.tf_threads),
            s3_bucket=env.get("DIGITDRAW_S3_BUCKET", cls.s3_bucket),
            s3_prefix=env.get("DIGITDRAW_S3_PREFIX", cls.s3_prefix),
            mnist_dir=Path(env.get("DIGITDRAW_MNIST_DIR", cls.mnist_dir)),
            admin_token=env.get("DIGITDRAW_ADMIN_TOKEN", ""),
            client_salt=env.get("DIGITDRAW_CLIENT_SALT", ""),
            keep_versions=_env_int("DIGITDRAW_KEEP_VERSIONS", cls.keep_versions),
            fnn_learning_rate=_env_float("DIGITDRAW_FNN_LEARNING_RATE", cls.fnn_learning_rate),
            cnn_learning_rate=_env_float("DIGITDRAW_CNN_LEARNING_RATE", cls.cnn_learning_rate),
            guard_margin=_env_float("DIGITDRAW_GUARD_MARGIN", cls.guard_margin),
            rate_limit=env.get("DIGITDRAW_RATE_LIMIT", cls.rate_limit),
            cors_origins=tuple(o.strip() for o in env.get("DIGITDRAW_CORS_ORIGINS", "").split(",") if o.strip()),
            proxy_hops=_env_int("DIGITDRAW_PROXY_HOPS", cls.proxy_hops),
        )

    def __repr__(self) -> str:
        """Never print secrets, even in a debug log of the settings."""
        secret = ("admin_token", "client_salt")
        shown = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in secret}
        return f"Settings({shown}, secrets={[name for name in secret if getattr(self, name)]} set)"

    def replace(self, overrides: dict[str, Any]) -> Settings:
        """Apply test or caller overrides; unknown keys are kept as Flask config only."""
        known = {f.name for f in fields(self)}
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for key, value in overrides.items():
            name = key.lower()
            if name in known:
                values[name] = Path(value) if name.endswith("_dir") else value
        return Settings(**values)
