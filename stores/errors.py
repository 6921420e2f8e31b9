"""Domain error reasons of the stores app."""

STORE_NOT_FOUND = "store_not_found"
STORE_CODE_TAKEN = "store_code_taken"
OUTLET_NOT_FOUND = "outlet_not_found"
OUTLET_CODE_TAKEN = "outlet_code_taken"
API_KEY_NOT_FOUND = "api_key_not_found"
INVALID_SCOPE = "invalid_scope"
INVALID_STORE_SETTING = "invalid_store_setting"
