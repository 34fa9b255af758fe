"""The life of a record: live, archived at 18 (or 25 with consent), sealed, deleted (DESIGN.md section 1)."""
