"""The prune decision: whatever the cluster holds, only owned objects of the environment go."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from modelops.cluster.prune import decide, key_of, ownership_selector

ENV = "staging"
SCOPE = ["models-staging", "extra"]
labels = st.dictionaries(
    st.sampled_from(["app.kubernetes.io/managed-by", "modelops.io/environment", "team", "release"]),
    st.sampled_from(["modelops", "staging", "production", "helm", ""]),
)
objects = st.builds(
    lambda api, kind, ns, name, lab, deleting: {
        "apiVersion": api, "kind": kind,
        "metadata": {"namespace": ns, "name": name, "labels": lab,
                     **({"deletionTimestamp": "2026-01-01T00:00:00Z"} if deleting else {})}},
    st.sampled_from(["machinelearning.seldon.io/v1", "v1", "monitoring.coreos.com/v1"]),
    st.sampled_from(["SeldonDeployment", "Service", "ServiceMonitor"]),
    st.sampled_from(["models-staging", "extra", "models", "kube-system", ""]),
    st.sampled_from(["a", "b", "c", "d", ""]),
    labels,
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(objects, max_size=25), st.lists(objects, max_size=10),
       st.floats(0, 1), st.booleans())
def test_never_selects_what_it_does_not_own(live, desired, max_share, allow_all):
    wanted = [key_of(o) for o in desired]
    decision = decide(live, wanted, ENV, SCOPE, max_share, allow_all)
    for obj in decision.delete:
        meta = obj["metadata"]
        assert meta["labels"].get("app.kubernetes.io/managed-by") == "modelops"
        assert meta["labels"].get("modelops.io/environment") == ENV
        assert meta["namespace"] in SCOPE and meta["name"]  # never kube-system, "" or another namespace
        assert key_of(obj) not in wanted
        assert "deletionTimestamp" not in meta
    assert decision.allowed == (allow_all or decision.share <= max_share)
    assert 0 <= decision.share <= 1


@settings(max_examples=100, deadline=None)
@given(st.lists(objects, max_size=20), st.randoms())
def test_order_of_the_cluster_answer_does_not_matter(live, rnd: random.Random):
    first = decide(live, [], ENV, SCOPE, 0.5)
    shuffled = list(live)
    rnd.shuffle(shuffled)
    second = decide(shuffled, [], ENV, SCOPE, 0.5)
    assert [key_of(o) for o in first.delete] == [key_of(o) for o in second.delete]
    assert first.share == second.share


def owned(name: str, namespace: str = "models-staging", api: str = "machinelearning.seldon.io/v1"):
    return {"apiVersion": api, "kind": "SeldonDeployment", "metadata": {
        "name": name, "namespace": namespace,
        "labels": {"app.kubernetes.io/managed-by": "modelops", "modelops.io/environment": ENV}}}


def test_share_limit():
    live = [owned(n) for n in "abcd"]
    keep_one = [key_of(owned("a"))]
    assert not decide(live, keep_one, ENV, SCOPE, 0.5).allowed  # 3 of 4
    assert decide(live, keep_one, ENV, SCOPE, 0.75).allowed
    assert decide(live, keep_one, ENV, SCOPE, 0.5, allow_all=True).allowed
    assert decide(live, [key_of(o) for o in live[:2]], ENV, SCOPE, 0.5).allowed  # 2 of 4


def test_a_new_api_version_of_the_same_kind_is_not_pruned():
    live = [owned("a", api="machinelearning.seldon.io/v1alpha2")]
    assert decide(live, [key_of(owned("a"))], ENV, SCOPE, 0.5).delete == []


def test_selector_names_both_ownership_labels():
    assert ownership_selector(ENV) == "app.kubernetes.io/managed-by=modelops,modelops.io/environment=staging"


def test_only_the_environments_namespaces_and_emitted_cluster_kinds_are_pruned():
    """Issue 27: ownership labels are not enough; the object must lie where the environment deploys."""
    foreign = [owned("a", namespace="kube-system"), owned("b", namespace="default"), owned("c", namespace="")]
    assert decide(foreign, [], ENV, SCOPE, 1.0).delete == []
    emitted = [("machinelearning.seldon.io", "SeldonDeployment")]
    decision = decide(foreign, [], ENV, SCOPE, 1.0, cluster_kinds=emitted)
    assert [o["metadata"]["name"] for o in decision.delete] == ["c"]
