"""The small dashboard every API test starts from (:mod:`dashboard_files`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dashboard_files import Dashboard, make_sources
from fastapi.testclient import TestClient

from corral.dashboard.app import create_app


@pytest.fixture
def dashboard(tmp_path: Path) -> Dashboard:
    sources = make_sources(tmp_path)
    return Dashboard(TestClient(create_app(sources)), tmp_path, sources)
