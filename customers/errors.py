"""Domain error reasons of the customers app."""

CUSTOMER_NOT_FOUND = "customer_not_found"
IDENTIFIER_TAKEN = "customer_identifier_taken"
CUSTOMER_HAS_HISTORY = "customer_has_history"
