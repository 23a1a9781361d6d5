from socdrill import create_app


def test_config_from_test_mapping(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    assert not create_app().testing
    assert create_app({"TESTING": True}).testing


def test_embedded_mode_generates_and_keeps_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCDRILL_INSTANCE", str(tmp_path))
    first = create_app().config["SECRET_KEY"]
    assert len(first) >= 32
    assert create_app().config["SECRET_KEY"] == first


def test_index_page_is_served(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"socdrill" in response.data
