"""Published AWS prices (us-east-1) the cost estimates use: the recommender and the fan-out's status."""

from __future__ import annotations

ARM64_PRICE_PER_GB_S = 0.0000133334  # Lambda, arm64
PRICE_PER_REQUEST = 0.20 / 1_000_000  # Lambda invocations
PRICE_PER_STATE_TRANSITION = 0.025 / 1_000  # Step Functions standard workflows
STATES_PER_CHUNK = 3  # Map iteration start, chunk task, iteration end: what Step Functions bills


def lambda_cost(seconds: float, memory_mb: int, invocations: int) -> float:
    return seconds * memory_mb / 1024 * ARM64_PRICE_PER_GB_S + invocations * PRICE_PER_REQUEST
