"""The quick storability walk (issue 13) against the one that names where: an entry's value
passes it exactly when the path-naming walk finds nothing, so an unstorable value is always
named, and a storable one costs no paths built."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.engine.entries import models
from cockpit.engine.entries.models import INT64_MAX, INT64_MIN, unstorable

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=INT64_MIN - 2, max_value=INT64_MAX + 2),
    st.integers(),
    st.text(max_size=6),
    st.sampled_from(["\ud800", "ok\udfff", "é", "\u2028"]),
)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=4), st.sampled_from(["\udc80"])), inner, max_size=4
        ),
    ),
    max_leaves=16,
)


@settings(max_examples=500, deadline=None)
@given(values)
def test_the_quick_walk_agrees_with_the_walk_that_names_where(value: Any) -> None:
    named = models._where_unstorable(value)
    assert (unstorable(value) is None) == (named is None)
    if named is not None:
        assert unstorable(value) == named  # the same sentence, naming the same place


def test_the_edges_of_the_range_and_a_lone_surrogate() -> None:
    assert unstorable({"a": [INT64_MAX, INT64_MIN, "é"]}) is None
    assert (
        unstorable({"a": [INT64_MAX + 1]}) == "a[0]: integer out of range (a signed 64-bit integer)"
    )
    assert unstorable({"k\ud800": 1}) == "a key: text with a lone surrogate (not valid Unicode)"
