"""Domain error reasons of the coupons app, and the redemption refusal reasons."""

COUPON_NOT_FOUND = "coupon_not_found"
CODE_TAKEN = "code_taken"
REDEMPTION_NOT_FOUND = "redemption_not_found"
REDEMPTION_REFUSED = "redemption_refused"
ALREADY_ROLLED_BACK = "already_rolled_back"
# A check-character code whose check character is wrong (coupons.typed_codes).
TYPO = "typo"
CURRENCY_MISMATCH = "currency_mismatch"
OVER_RETURN = "over_return"  # a return of more than is left of a redemption
UNKNOWN_LINE = "unknown_line"  # a return names a line the redemption has not


class Refusal:
    """Why a coupon cannot be redeemed for an order: stable codes, every dialect."""

    DISABLED = "disabled"
    NOT_STARTED = "not_started"
    EXPIRED = "expired"
    BELOW_MINIMUM_ORDER = "below_minimum_order"
    CUSTOMER_REQUIRED = "customer_required"
    RESTRICTED_TO_ANOTHER_CUSTOMER = "restricted_to_another_customer"
    ONE_TIME_PURCHASE_NOT_ALLOWED = "one_time_purchase_not_allowed"
    SUBSCRIPTION_NOT_ALLOWED = "subscription_not_allowed"
    NOT_APPLICABLE_TO_ORDER = "not_applicable_to_order"
    STORE_LIMIT_REACHED = "store_limit_reached"
    CUSTOMER_LIMIT_REACHED = "customer_limit_reached"
    FIRST_ORDER_ONLY = "first_order_only"
    NOT_ISSUED = "not_issued"
    NOT_ISSUED_TO_CUSTOMER = "not_issued_to_customer"
    NOT_FOUND = "not_found"  # no coupon has the code (one of several codes)
    # A hold only: its customer has not received the coupon and no unit of the
    # receive stock is left (``assignments.receive.decide.stock_left``).
    OUT_OF_STOCK = "out_of_stock"


# Holds (issue 20): a hold that is not the store's (or not the coupon's, on a
# redemption), one that cannot be made (every reason validate gives), and one that
# can no longer be released or converted.
HOLD_NOT_FOUND = "hold_not_found"
HOLD_REFUSED = "hold_refused"
HOLD_EXPIRED = "hold_expired"
HOLD_RELEASED = "hold_released"
HOLD_REDEEMED = "hold_redeemed"
# A coupon with live holds is not deleted: its holders were promised those uses.
COUPON_HELD = "coupon_held"
