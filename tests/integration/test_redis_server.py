"""The Redis test harness itself, and Socket.IO's message queue over it: an emitter
without a Flask app publishes where the web processes listen."""

from __future__ import annotations

import json
import socket
import time

import pytest
import redis
from flask_socketio import SocketIO

from tests import services

pytestmark = pytest.mark.integration


def test_redis_listens_on_loopback_without_persistence_and_needs_its_password(
    redis_server,
):
    with redis_server.client() as client:
        assert client.ping()
        assert client.config_get("bind")["bind"] == "127.0.0.1"
        assert client.config_get("save")["save"] == ""
        assert client.config_get("appendonly")["appendonly"] == "no"
    anonymous = redis.Redis(host="127.0.0.1", port=redis_server.port)
    with pytest.raises(redis.exceptions.AuthenticationError):
        anonymous.ping()
    anonymous.close()


def test_each_test_starts_from_an_empty_redis(redis_url, redis_server):
    with redis_server.client() as client:
        assert client.dbsize() == 0
        client.set("left-behind", "1")
    assert redis_url == redis_server.url()


def test_an_emitter_without_an_app_publishes_on_the_socketio_queue(redis_url):
    subscriber = redis.Redis.from_url(redis_url)
    pubsub = subscriber.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("flask-socketio")
    try:
        emitter = SocketIO(message_queue=redis_url)  # what the engine process does
        emitter.emit("alert", {"seq": 7}, to="exercise:1")
        message = None
        deadline = time.monotonic() + 10
        while message is None and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.5)
    finally:
        pubsub.close()
        subscriber.close()
    assert message is not None, "nothing arrived on the queue"
    packet = json.loads(message["data"])
    assert packet["method"] == "emit"
    assert packet["event"] == "alert"
    assert packet["data"] == [{"seq": 7}]  # the emit arguments
    assert packet["room"] == "exercise:1"


def test_a_stopped_redis_closes_its_port_and_leaves_no_folder():
    server = services.start_redis()
    port, root = server.port, server.root
    assert server.running
    server.stop()
    server.stop()
    assert not server.running
    assert not root.exists()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), 1):
        pass


def test_missing_redis_fails_under_ci_and_skips_elsewhere(monkeypatch):
    monkeypatch.setattr(services, "redis_server_binary", lambda: None)
    monkeypatch.setattr(services, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match=r"redis-server.*\.ci/run"):
        services.start_redis()
    monkeypatch.setattr(services, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="'redis-server'"):
        services.start_redis()
