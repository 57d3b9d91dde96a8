"""DRF authentication with gateway keys (`Bearer llmt_…` or `x-api-key`)."""

from typing import cast

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts import services
from accounts.keycache import KeyIdentity
from accounts.models import Account


class ApiKeyAuthentication(BaseAuthentication):
    """Sets `request.user` to the Account and `request.auth` to the key's identity."""

    def authenticate(self, request: Request) -> tuple[Account, KeyIdentity]:
        raw = services.key_from_headers(
            request.headers.get("authorization"), request.headers.get("x-api-key")
        )
        identity = services.authenticate(raw)
        # The account itself is read per request: its balance must be current.
        account = Account.objects.filter(pk=identity.account_id).first()
        if account is None:
            raise services.GatewayError(401, "Invalid API key: its account is gone.")
        return account, identity

    def authenticate_header(self, request: Request) -> str:
        # A value here makes DRF answer 401 rather than 403 to unauthenticated calls.
        return 'Bearer realm="api"'


def request_account(request: Request) -> Account:
    """The account an API request authenticated as (views behind IsAuthenticated)."""
    return cast(Account, request.user)


def request_identity(request: Request) -> KeyIdentity:
    """The key an API request authenticated with."""
    return cast(KeyIdentity, request.auth)
