"""The vault: envelope encryption of child records, blind indexes and the key ring (DESIGN.md section 4)."""
