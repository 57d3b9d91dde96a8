"""The admin pages of the provider layer: providers and price overrides."""

from decimal import Decimal

import pytest
from django.db import connection

from proxy import modelsdev, providers
from proxy.models import MAX_PRICE_PER_MTOK_USD, PriceOverride, Provider

pytestmark = pytest.mark.django_db

GROQ_KEY = "gsk_live_Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeQ7r"
PROVIDER = {
    "name": "groq",
    "kind": "openai_compatible",
    "base_url": "https://api.groq.com/openai/v1",
    "enabled": "on",
}


def _stored_key_column(provider: Provider) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT api_key_encrypted, api_key_hint FROM proxy_provider WHERE id = %s",
            [provider.pk],
        )
        return " ".join(cursor.fetchone())


def test_a_provider_key_is_stored_encrypted_with_only_a_hint_in_clear(staff):
    response = staff.post(
        "/admin/proxy/provider/add/", {**PROVIDER, "api_key": GROQ_KEY}
    )

    assert response.status_code == 302
    provider = Provider.objects.get(name="groq")
    stored = _stored_key_column(provider)
    assert GROQ_KEY not in stored and GROQ_KEY[4:-4] not in stored
    assert provider.api_key_hint == "…eQ7r"
    assert provider.get_api_key() == GROQ_KEY


def test_the_provider_pages_show_the_hint_and_never_the_key(staff):
    staff.post("/admin/proxy/provider/add/", {**PROVIDER, "api_key": GROQ_KEY})
    provider = Provider.objects.get()

    pages = [
        staff.get("/admin/proxy/provider/"),
        staff.get(f"/admin/proxy/provider/{provider.pk}/change/"),
    ]

    for page in pages:
        text = page.content.decode()
        assert page.status_code == 200
        assert provider.api_key_hint in text
        assert GROQ_KEY not in text
        assert provider.api_key_encrypted not in text


def test_saving_a_provider_without_a_new_key_keeps_the_old_one(staff):
    staff.post("/admin/proxy/provider/add/", {**PROVIDER, "api_key": GROQ_KEY})
    provider = Provider.objects.get()

    staff.post(
        f"/admin/proxy/provider/{provider.pk}/change/",
        {**PROVIDER, "base_url": "https://eu.groq.example/v1", "api_key": ""},
    )

    provider.refresh_from_db()
    assert provider.base_url == "https://eu.groq.example/v1"
    assert provider.get_api_key() == GROQ_KEY


def test_a_provider_key_can_be_cleared(staff):
    staff.post("/admin/proxy/provider/add/", {**PROVIDER, "api_key": GROQ_KEY})
    provider = Provider.objects.get()

    staff.post(
        f"/admin/proxy/provider/{provider.pk}/change/",
        {**PROVIDER, "clear_api_key": "on"},
    )

    provider.refresh_from_db()
    assert (provider.api_key_encrypted, provider.api_key_hint) == ("", "")
    assert provider.get_api_key() == ""


def test_a_provider_added_in_the_admin_is_served_at_once(staff):
    providers.snapshot()

    staff.post("/admin/proxy/provider/add/", {**PROVIDER, "api_key": GROQ_KEY})

    resolved = providers.snapshot().resolve("groq/llama-3.3-70b")
    assert (resolved.provider.name, resolved.model) == ("groq", "llama-3.3-70b")
    assert resolved.provider.api_key == GROQ_KEY


def test_a_price_override_added_in_the_admin_prices_calls_at_once(staff):
    providers.snapshot()

    response = staff.post(
        "/admin/proxy/priceoverride/add/",
        {
            "model": "my-finetune",
            "input_per_mtok": "2",
            "cached_input_per_mtok": "",
            "cache_write_per_mtok": "",
            "output_per_mtok": "8",
            "created_at_0": "2026-03-02",
            "created_at_1": "12:00:00",
        },
    )

    assert response.status_code == 302
    price = PriceOverride.objects.get(model="my-finetune")
    assert (price.input_per_mtok, price.output_per_mtok) == (Decimal(2), Decimal(8))
    assert price.cached_input_per_mtok is None
    rates = providers.snapshot().overrides["my-finetune"]
    assert (rates.input, rates.output) == (Decimal(2), Decimal(8))
    assert "my-finetune" in staff.get("/admin/proxy/priceoverride/").content.decode()


def test_a_price_override_needs_its_input_and_output_prices(staff):
    response = staff.post(
        "/admin/proxy/priceoverride/add/",
        {"model": "my-finetune", "input_per_mtok": "2"},
    )

    assert response.status_code == 200
    assert not PriceOverride.objects.exists()


PRICE_FIELDS = [
    "input_per_mtok",
    "cached_input_per_mtok",
    "cache_write_per_mtok",
    "output_per_mtok",
]


@pytest.mark.parametrize("field", PRICE_FIELDS)
@pytest.mark.parametrize(
    ("price", "error"),
    [
        ("-0.5", "Ensure this value is greater than or equal to 0."),
        ("10000.0000000001", "Ensure this value is less than or equal to 10000."),
    ],
)
def test_a_price_override_refuses_a_price_outside_0_to_10000(
    staff, field, price, error
):
    prices = {"input_per_mtok": "2", "output_per_mtok": "8"}

    response = staff.post(
        "/admin/proxy/priceoverride/add/",
        {
            "model": "my-finetune",
            **prices,
            field: price,
            "created_at_0": "2026-03-02",
            "created_at_1": "12:00:00",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [error]
    assert not PriceOverride.objects.exists()


def test_a_price_override_accepts_a_price_of_exactly_the_cap(staff):
    cap = str(MAX_PRICE_PER_MTOK_USD)

    response = staff.post(
        "/admin/proxy/priceoverride/add/",
        {
            "model": "my-finetune",
            "input_per_mtok": cap,
            "cached_input_per_mtok": cap,
            "cache_write_per_mtok": cap,
            "output_per_mtok": cap,
            "created_at_0": "2026-03-02",
            "created_at_1": "12:00:00",
        },
    )

    assert response.status_code == 302
    price = PriceOverride.objects.get(model="my-finetune")
    assert price.output_per_mtok == Decimal(10_000)


def test_the_admin_lists_the_synced_models_read_only(db, fake_models_dev, staff):
    modelsdev.sync()

    page = staff.get("/admin/proxy/catalogmodel/?q=claude-sonnet-4-5")

    assert page.status_code == 200
    assert b"claude-sonnet-4-5" in page.content
    assert staff.get("/admin/proxy/catalogmodel/add/").status_code == 403
