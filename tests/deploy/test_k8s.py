"""The Kubernetes manifests agree with the code: a KafkaTopic per registry topic, probes, env."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from schemas.registry import TOPICS

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
SERVICES = {"intake", "locator", "fulfilment", "tracker", "notifier"}


def _resources(kind: str) -> list[dict[str, Any]]:
    docs = [doc for path in sorted(K8S.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text())]
    return [doc for doc in docs if doc and doc.get("kind") == kind]


def test_every_registry_topic_has_a_kafka_topic_with_its_partitions_and_retention() -> None:
    topics = {doc["spec"].get("topicName", doc["metadata"]["name"]): doc for doc in _resources("KafkaTopic")}
    assert set(topics) == set(TOPICS), "KafkaTopics in deploy/k8s differ from schemas/registry.py TOPICS"
    for name, spec in TOPICS.items():
        topic = topics[name]["spec"]
        assert topic["partitions"] == spec.partitions, name
        assert topic["config"]["retention.ms"] == spec.retention_ms, name
        assert topic["config"]["cleanup.policy"] == spec.cleanup_policy, name
        assert topic["replicas"] >= topic["config"].get("min.insync.replicas", 1), name


def test_kafka_topics_and_node_pools_belong_to_the_kafka_cluster() -> None:
    clusters = {doc["metadata"]["name"] for doc in _resources("Kafka")}
    assert len(clusters) == 1
    pools = _resources("KafkaNodePool")
    assert {role for pool in pools for role in pool["spec"]["roles"]} == {"controller", "broker"}
    for doc in pools + _resources("KafkaTopic"):
        assert doc["metadata"]["labels"]["strimzi.io/cluster"] in clusters, doc["metadata"]["name"]


def test_every_service_has_a_deployment_with_probes_resources_and_its_secrets() -> None:
    deployments = {doc["metadata"]["name"]: doc for doc in _resources("Deployment")}
    assert set(deployments) == SERVICES
    for name, deployment in deployments.items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == ["serve", name]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["resources"]["requests"] and container["resources"]["limits"]
        secret_env = {e["name"] for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})}
        # every service reads the ledger and the keys; the notifier also logs in to the mail relay
        extra = {"DSR_SMTP_PASSWORD"} if name == "notifier" else set()
        assert secret_env == {"DSR_DATABASE_URL", "DSR_API_KEYS", "DSR_ARTIFACT_KEYS"} | extra
    services = {doc["metadata"]["name"] for doc in _resources("Service")}
    assert services >= SERVICES | {f"{name}-pods" for name in SERVICES}


def _strimzi_validator() -> Any:
    import json

    from jsonschema import Draft202012Validator

    schema = json.loads((K8S.parent / "schemas" / "strimzi.schema.json").read_text())
    return Draft202012Validator(schema)


def test_strimzi_resources_have_the_fields_the_operator_requires() -> None:
    validator = _strimzi_validator()
    resources = _resources("Kafka") + _resources("KafkaNodePool") + _resources("KafkaTopic")
    assert len(resources) == 3 + len(TOPICS)
    for doc in resources:
        errors = [e.message for e in validator.iter_errors(doc)]
        assert not errors, (doc["kind"], doc["metadata"]["name"], errors)


def test_the_strimzi_schema_rejects_what_the_operator_would() -> None:
    import copy

    validator = _strimzi_validator()
    pool = _resources("KafkaNodePool")[0]
    kafka = _resources("Kafka")[0]
    topic = _resources("KafkaTopic")[0]
    broken = []
    for doc, path, value in [
        (pool, ("spec", "roles"), None),
        (pool, ("spec", "roles"), ["zookeeper"]),
        (pool, ("metadata", "labels"), None),
        (kafka, ("spec", "kafka", "listeners"), None),
        (kafka, ("spec", "zookeeper"), {"replicas": 3}),
        (topic, ("spec", "config", "retention.ms"), None),
        (topic, ("spec", "partitions"), 0),
    ]:
        copy_ = copy.deepcopy(doc)
        parent = copy_
        for key in path[:-1]:
            parent = parent[key]
        if value is None:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
        broken.append(copy_)
    for doc in broken:
        assert not validator.is_valid(doc), doc
