"""Routes of the series app: Capillary v2 (seed 002)."""

from django.urls import path

from series.api.capillary import IssueViewSet, SeriesViewSet

urlpatterns = [
    path(
        "v2/coupon/series",
        SeriesViewSet.as_view({"get": "list", "post": "create"}),
        name="capillary-series",
    ),
    path(
        "v2/coupon/issue/multiple",
        IssueViewSet.as_view({"post": "multiple"}),
        name="capillary-issue-multiple",
    ),
]
