"""Hypothesis settings of the property tests that run against one migrated database."""

from hypothesis import HealthCheck, settings

# Reproducible and unhurried (each example makes real transactions). One migrated database for
# the test; every example works on an account of its own, so the function-scoped fixture is safe.
DB_EXAMPLES = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
