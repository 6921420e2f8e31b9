"""Domain error reasons of the series app (issue, code pool, series settings).

Each dialect maps these to its vendor's status, code and message in its error table.
"""

SERIES_NOT_FOUND = "series_not_found"
SERIES_ID_REQUIRED = "series_id_required"
SERIES_EXPIRED = "series_expired"
INVALID_SERIES = "invalid_series"

COUNT_NOT_POSITIVE = "count_not_positive"
COUNT_OUT_OF_RANGE = "count_out_of_range"

# The customer may hold no more coupons of the series.
ALREADY_HOLDS = "customer_already_holds"  # one per customer, and holds it
ONE_PER_CUSTOMER = "one_per_customer"  # one per customer, asked for more
PER_CUSTOMER_LIMIT = "per_customer_limit"  # maxVouchersPerUser reached
GENERIC_SINGLE_CODE = "generic_single_code"  # a generic series gives its code once

# The series' cap (maxCreate) is reached.
OUT_OF_STOCK = "out_of_stock"
# The pool cannot serve: nothing at all, or fewer than asked.
POOL_EMPTY = "pool_empty"
POOL_SHORT = "pool_short"

# Code generation: the format's code space cannot hold the request.
CODE_SPACE_EXHAUSTED = "code_space_exhausted"
POOL_OVER_CAP = "pool_over_cap"
