"""Native customers API in the PayNow style: ``/v1/stores/{store_id}/customers``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response

from core.dialects.fields import ObjectInput
from core.pagination import KeysetPage
from core.schema import PAYNOW_ERRORS, keyset_parameters
from core.serializers import (
    IdStringField,
    MillisDateTimeField,
    StrictCharField,
    StrictEmailField,
    validated,
)
from customers import selectors, services
from customers.identifiers import MOBILE_MESSAGE, is_mobile
from stores.api.dialects import PayNowViewSet
from stores.scopes import COUPONS_READ, COUPONS_WRITE


class CustomerOutput(serializers.Serializer):
    id = IdStringField()
    store_id = IdStringField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField(allow_null=True)
    mobile = serializers.CharField(allow_null=True)
    external_id = serializers.CharField(allow_null=True)
    created_at = MillisDateTimeField()
    updated_at = MillisDateTimeField()


class CustomerInput(ObjectInput):
    first_name = StrictCharField(max_length=150, required=False, allow_blank=True)
    last_name = StrictCharField(max_length=150, required=False, allow_blank=True)
    email = StrictEmailField(
        max_length=254, required=False, allow_null=True, allow_blank=True
    )
    mobile = StrictCharField(
        max_length=32, required=False, allow_null=True, allow_blank=True
    )
    external_id = StrictCharField(
        max_length=128, required=False, allow_null=True, allow_blank=True
    )

    def validate_mobile(self, value: str | None) -> str | None:
        if value and not is_mobile(value):
            raise serializers.ValidationError(MOBILE_MESSAGE)
        return value


@extend_schema_view(
    list=extend_schema(
        summary="List customers",
        parameters=keyset_parameters(),
        responses={200: CustomerOutput(many=True), **PAYNOW_ERRORS},
    ),
    create=extend_schema(
        summary="Create a customer",
        request=CustomerInput,
        responses={200: CustomerOutput, **PAYNOW_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Get a customer", responses={200: CustomerOutput, **PAYNOW_ERRORS}
    ),
    partial_update=extend_schema(
        summary="Update a customer (delta)",
        request=CustomerInput,
        responses={200: CustomerOutput, **PAYNOW_ERRORS},
    ),
    destroy=extend_schema(
        summary="Delete a customer", responses={204: None, **PAYNOW_ERRORS}
    ),
)
class CustomerViewSet(PayNowViewSet):
    read_scope = COUPONS_READ
    write_scope = COUPONS_WRITE

    def list(self, request, store_id: str):
        page = KeysetPage.from_query(request.query_params)
        customers = selectors.customer_list(store=self.store, page=page)
        return Response(CustomerOutput(customers, many=True).data)

    def create(self, request, store_id: str):
        data = validated(CustomerInput(data=request.data))
        customer = services.customer_create(store=self.store, actor=self.actor, **data)
        return Response(CustomerOutput(customer).data, status=status.HTTP_200_OK)

    def retrieve(self, request, store_id: str, customer_id: str):
        customer = selectors.customer_get(store=self.store, customer_id=customer_id)
        return Response(CustomerOutput(customer).data)

    def partial_update(self, request, store_id: str, customer_id: str):
        customer = selectors.customer_get(store=self.store, customer_id=customer_id)
        data = validated(CustomerInput(data=request.data, partial=True))
        customer = services.customer_update(customer=customer, actor=self.actor, **data)
        return Response(CustomerOutput(customer).data)

    def destroy(self, request, store_id: str, customer_id: str):
        customer = selectors.customer_get(store=self.store, customer_id=customer_id)
        services.customer_delete(customer=customer, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)
