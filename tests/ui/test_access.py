"""Who may read the lake browser: loopback by default; with AGROLAKE_UI_TOKEN, only
requests with the token (bearer header, or the login form's HttpOnly cookie)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from agrolake.errors import ConfigError
from agrolake.lake import Lake
from agrolake.lake.settings import Settings
from agrolake.ui.access import session_value
from agrolake.ui.launch import check_address
from agrolake.ui.webapp import create_app

TOKEN = "s3cret-token-of-the-coop"


@pytest.fixture
def guarded(local_lake: Lake) -> Iterator[TestClient]:
    settings = Settings(home=local_lake.settings.home, ui_token=TOKEN)  # type: ignore[arg-type]
    with TestClient(create_app(Lake(settings)), follow_redirects=False) as client:
        yield client


def test_without_a_token_loopback_needs_no_login(local_lake: Lake) -> None:
    with TestClient(create_app(local_lake)) as client:
        assert client.get("/api/status").status_code == 200
        assert "nothing has landed" not in client.get("/").text
        assert client.get("/").status_code == 200


def test_with_a_token_every_page_needs_it(guarded: TestClient) -> None:
    answer = guarded.get("/api/status")
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    assert TOKEN not in answer.text
    assert guarded.get("/api/status", headers={"Authorization": "Bearer nope"}).status_code == 401
    ok = guarded.get("/api/status", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and "landing" in ok.json()
    page = guarded.get("/tables/trusted.erp_parcels?version=1")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Ftables%2Ftrusted.erp_parcels%3Fversion%3D1"
    assert guarded.get("/static/style.css").status_code == 200, "the login page has its style"


def test_the_login_form_sets_an_http_only_cookie(guarded: TestClient) -> None:
    assert 'name="token"' in guarded.get("/login?next=/twin").text
    wrong = guarded.post("/login?next=/twin", data={"token": "guess"})
    assert wrong.status_code == 401 and "wrong token" in wrong.text
    assert "set-cookie" not in wrong.headers
    right = guarded.post("/login?next=/twin", data={"token": TOKEN})
    assert right.status_code == 303 and right.headers["location"] == "/twin"
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and TOKEN not in cookie
    assert guarded.cookies.get("agrolake_ui") == session_value(TOKEN)
    assert guarded.get("/twin").status_code == 200
    assert guarded.post("/logout").status_code == 303
    guarded.cookies.clear()
    assert guarded.get("/twin").status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "\\\\evil"])
def test_login_never_redirects_off_the_site(guarded: TestClient, target: str) -> None:
    answer = guarded.post("/login", params={"next": target}, data={"token": TOKEN})
    assert answer.headers["location"] == "/"


def test_listening_beyond_loopback_requires_the_token(local_lake: Lake) -> None:
    check_address(local_lake, "127.0.0.1", 8790)
    check_address(local_lake, "::1", 8790)
    with pytest.raises(ConfigError, match="set AGROLAKE_UI_TOKEN"):
        check_address(local_lake, "0.0.0.0", 8790)
    guarded = Lake(Settings(home=local_lake.settings.home, ui_token=TOKEN))  # type: ignore[arg-type]
    check_address(guarded, "0.0.0.0", 8790)


def test_cli_ui_refuses_an_open_address_in_one_line(
    local_lake: Lake, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agrolake.cli import main

    monkeypatch.setenv("AGROLAKE_HOME", str(local_lake.settings.home))
    monkeypatch.setattr(sys, "argv", ["agrolake", "ui", "--host", "0.0.0.0"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: listening on 0.0.0.0 would show the lake to the network")
