"""Test aids shipped with the package: a local server speaking the providers' wire formats."""

from ai_incidents.testing.provider_server import ProviderServer, Reply

__all__ = ["ProviderServer", "Reply"]
