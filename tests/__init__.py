"""imagebot's test suite; `tests.rig` holds the real servers the integration tests run against."""
