"""A lake with nothing in it yet: every page answers, says so, and writes nothing."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from agrolake.answers.registered_models import mlflow_ui
from agrolake.lake import Lake
from agrolake.lake.settings import Settings
from agrolake.ui.webapp import create_app

PAGES = {
    "/": "no file has landed yet",
    "/invalid": "No rejected files",
    "/quarantine": "no quarantined rows",
    "/quality": "No quality report yet",
    "/models": "No registered model yet",
    "/twin": "in refined.digital_twin_enclosures yet",
    "/datasets": "erp.activities",
    "/datasets/erp.activities": "no file of this dataset yet",
    "/tables/trusted.quarantine_rows": "no rows in this version",
}


@pytest.mark.parametrize(("path", "says"), PAGES.items())
def test_every_page_of_an_empty_lake_says_what_is_missing(
    local_lake: Lake, path: str, says: str
) -> None:
    with TestClient(create_app(local_lake)) as client:
        answer = client.get(path)
    assert answer.status_code == 200 and says in answer.text


def test_asking_for_models_creates_no_mlflow_database(local_lake: Lake) -> None:
    with TestClient(create_app(local_lake)) as client:
        assert client.get("/api/models").json() == {"mlflow_ui": None, "models": []}
        assert client.get("/lineage?model=wine-quality@champion").status_code == 404
        assert client.get("/tables/trusted.erp_parcels").status_code == 404
        assert client.get("/tables/trusted.erp_parcels?version=²").status_code == 400
    assert not (local_lake.settings.home / "mlflow.db").exists()


def test_the_mlflow_link_carries_no_credentials(local_lake: Lake) -> None:
    uri = "http://admin:s3cret@mlflow.farm.lan:5000/"
    settings = Settings(home=local_lake.settings.home, mlflow_tracking_uri=uri)
    assert mlflow_ui(Lake(settings)) == "http://mlflow.farm.lan:5000"
    assert mlflow_ui(local_lake) is None
