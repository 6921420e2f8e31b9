"""The redeem path: ``decide`` (the rules), ``store`` (the SQL), ``service`` (the
transaction that locks, reads, decides and writes)."""
