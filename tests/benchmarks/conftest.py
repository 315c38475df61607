"""The load benchmark drives the real services: reuse the services tests' hand-made stack."""

from tests.services.conftest import handmade_stack, http  # noqa: F401
