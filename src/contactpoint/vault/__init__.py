"""The vault: the key ring (``keyring``), per-child data keys and field ciphers (``cipher``), the blind indexes
(``blindindex``) and the token scheme a child is indexed and looked up by (``tokens``)."""

__all__ = ["blindindex", "bulkload", "cipher", "keyring", "models", "tokens"]
