"""API key scopes."""

COUPONS_READ = "coupons:read"
COUPONS_WRITE = "coupons:write"
PRICE_RULES = "price_rules"
SERIES = "series"
LEGACY = "legacy"

ALL_SCOPES = (COUPONS_READ, COUPONS_WRITE, PRICE_RULES, SERIES, LEGACY)
