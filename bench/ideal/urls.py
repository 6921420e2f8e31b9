"""Ideal endpoints for the benchmark only (``BENCH_IDEAL=1`` mounts them at /bench/).

Each performs the ideal SQL of an operation in the same Django/DRF/gunicorn stack, with
nothing else: no auth, no validation beyond reading the JSON body, no audit, no
rules engine. They are the ceilings the real endpoints are measured against.
"""

from django.urls import path

from bench.ideal import views

urlpatterns = [
    path("bench/ideal/noop", views.Noop.as_view()),
    path("bench/ideal/issue", views.Issue.as_view()),
    path("bench/ideal/receive", views.Receive.as_view()),
    path("bench/ideal/redeem", views.Redeem.as_view()),
    path("bench/ideal/validate-cart", views.ValidateCart.as_view()),
]
