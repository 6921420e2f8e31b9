"""Domain error reasons of the assignments app, and the per-coupon receive outcomes."""

# Whole-request failures of a receive (nothing is written).
COUPON_IDS_REQUIRED = "coupon_ids_required"
TOO_MANY_COUPON_IDS = "too_many_coupon_ids"


class Outcome:
    """What happened to one coupon of a receive: stable codes, every dialect."""

    RECEIVED = "received"
    NOT_FOUND = "not_found"  # unknown, another store's, disabled or archived
    NOT_STARTED = "not_started"
    EXPIRED = "expired"
    NOT_ELIGIBLE = "not_eligible"  # first-order-only, another customer's, a series code
    ALREADY_RECEIVED = "already_received"  # per-customer limit of 1 reached
    CUSTOMER_LIMIT_REACHED = "customer_limit_reached"  # a larger limit reached
    OUT_OF_STOCK = "out_of_stock"
