"""HTML injection: text typed by people (bulletin title/summary/body, comments, zone, device and user names)
goes in through the API and comes out of every console page that shows it as text, never as markup."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.units.models import Kind, Level, Unit

PAYLOAD = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def test_user_text_is_escaped_on_every_console_page(
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    token_for: Callable[..., str],
) -> None:
    from loa.fleet.models import Device

    admin = make_user("tinh-admin", Role.PROVINCE_ADMIN, tree["province"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(admin)}")

    def call(method: str, url: str, body: dict[str, Any]) -> Any:
        response = getattr(api, method)(url, body, content_type="application/json")
        assert response.status_code in (200, 201), (url, response.content[:300])
        return response.json()

    refused = api.post(
        "/api/v1/units/06652/zones", {"name": PAYLOAD, "kind": "thon"}, content_type="application/json"
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "zone_name_invalid"
    # a name from elsewhere (an import) must still come out as text
    zone = {
        "code": Unit.objects.create(
            code="06652.009", name=PAYLOAD, kind=Kind.THON, level=Level.ZONE, parent=tree["a"]
        ).code
    }
    bulletin = call(
        "post",
        "/api/v1/bulletins",
        {"origin_unit": "06652", "title": PAYLOAD, "summary": PAYLOAD, "body": f"Dòng một\n{PAYLOAD}"},
    )
    call("patch", f"/api/v1/bulletins/{bulletin['id']}", {"body": f"Dòng hai\n{PAYLOAD}</td><script>x"})
    call("post", f"/api/v1/bulletins/{bulletin['id']}/comments", {"text": PAYLOAD})
    Device.objects.create(device_id="loa-0000000a0a0a", unit=tree["a"], serial="A-1")
    call("patch", "/api/v1/fleet/devices/loa-0000000a0a0a", {"name": PAYLOAD})
    new_user = api.post(
        "/api/v1/accounts/users?role=viewer&unit_code=06652",
        {"username": "nguoi-moi", "full_name": PAYLOAD},
        content_type="application/json",
    )
    assert new_user.status_code == 201, new_user.content
    user_id = new_user.json()["user"]["id"]

    console = client_for(admin)
    pages = [
        "/units/06652/",
        f"/units/{zone['code']}/",
        "/bulletins/",
        f"/bulletins/{bulletin['id']}/",
        f"/bulletins/{bulletin['id']}/?diff=2",
        f"/bulletins/{bulletin['id']}/edit/",
        "/fleet/",
        "/fleet/d/loa-0000000a0a0a/",
        "/users/",
        f"/users/{user_id}/",
        "/audit/",
    ]
    for url in pages:
        response = console.get(url)
        assert response.status_code == 200, (url, response.status_code)
        page = response.content.decode()
        assert PAYLOAD not in page, f"{url}: the text came out as markup"
        assert "<script>x" not in page, f"{url}: the text came out as markup"
        assert ESCAPED in page or "&lt;img" in page, (
            f"{url}: the text is not shown at all (test checks nothing)"
        )
