"""The local broker's configuration (pure: nothing is started)."""

from __future__ import annotations

import base64
from pathlib import Path

from ampm.local.kafka import BrokerConfig, new_cluster_id


def test_cluster_ids_are_22_char_urlsafe_and_never_look_like_an_option() -> None:
    ids = [new_cluster_id() for _ in range(5000)]
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
    assert all(len(base64.urlsafe_b64decode(i + "==")) == 16 for i in ids)
    assert len(set(ids)) == len(ids)


def test_single_node_settings_never_advertise_the_controller() -> None:
    properties = BrokerConfig(Path("/data/k"), port=19092, controller_port=19093)
    lines = dict(line.split("=", 1) for line in properties.server_properties().splitlines() if line)
    assert lines["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert lines["controller.quorum.voters"] == "1@127.0.0.1:19093"
    for replication in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "default.replication.factor",
        "min.insync.replicas",
    ):
        assert lines[replication] == "1"
    assert lines["log.dirs"] == "/data/k/data"
