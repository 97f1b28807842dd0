"""GET /healthz: the load balancer's health check."""

import pytest


@pytest.mark.django_db
def test_healthz_answers_ok_as_plain_text_without_cookies(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")
    assert not response.cookies


def test_healthz_refuses_anything_but_get(client):
    assert client.post("/healthz").status_code == 405
