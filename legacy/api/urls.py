"""Routes of this app's dialects (filled by their issues)."""

urlpatterns: list = []
