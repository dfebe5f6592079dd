"""CORS for browser applications on other origins: none unless CORS_ALLOWED_ORIGINS names some.

The template sets CORS_ALLOWED_ORIGINS from its AllowedOrigins parameter, which also configures the
HTTP API's own CORS (API Gateway answers preflights itself there); this covers every other way the
handler is reached (the local run, sam local, a function URL).
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import CORSConfig

from sentiment_core import settings

ENV = "CORS_ALLOWED_ORIGINS"  # read by sentiment_core.settings
MAX_AGE_SECONDS = 600  # browsers cache a preflight this long


def allowed_origins(value: str) -> list[str]:
    """Comma-separated origins ("https://app.example.com"), or "*" for any."""
    return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]


def cors_config(value: str | None = None) -> CORSConfig | None:
    origins = allowed_origins(settings.current().cors_allowed_origins if value is None else value)
    if not origins:
        return None
    return CORSConfig(allow_origin=origins[0], extra_origins=origins[1:], max_age=MAX_AGE_SECONDS)
