"""What `modelops drift` prints for a drifted field."""

from __future__ import annotations

from types import SimpleNamespace

from modelops.cluster.drift import drift_lines
from modelops.cluster.fields import differences, dotted, undotted


def test_a_drifted_label_with_dots_in_its_key_shows_both_values() -> None:
    generated = {"metadata": {"labels": {"app.kubernetes.io/name": "eta"}}, "spec": {"replicas": 2}}
    live = {"metadata": {"labels": {"app.kubernetes.io/name": "hand-edited"}}, "spec": {"replicas": 3}}
    fields = differences(generated, live)
    assert drift_lines(SimpleNamespace(fields=fields, live=live, obj=generated)) == [
        'metadata.labels["app.kubernetes.io/name"]: live "hand-edited", generated "eta"',
        "spec.replicas: live 3, generated 2",
    ]


def test_paths_read_back_as_written() -> None:
    for path in [("spec", "predictors", 0, "graph", "name"), ("metadata", "annotations", 'a"b[c].d')]:
        assert undotted(dotted(path)) == path
