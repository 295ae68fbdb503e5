"""A campaign's life (active, paused, stopped for good) and the even assignment of variants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesbot.domain.campaign import Campaign, CampaignStatus, next_variant
from salesbot.domain.errors import IllegalTransition


def test_a_campaign_pauses_resumes_and_stops_for_good():
    campaign = Campaign(name="весна")
    assert campaign.feeds
    campaign.pause()
    assert not campaign.feeds
    campaign.resume()
    campaign.stop()
    assert campaign.status is CampaignStatus.STOPPED and not campaign.feeds
    with pytest.raises(IllegalTransition):
        campaign.resume()


def test_without_variants_there_is_none_to_assign():
    assert next_variant((), {}) is None


@given(st.integers(min_value=2, max_value=5), st.lists(st.integers(0, 4), max_size=30))
def test_variants_stay_even_whatever_was_assigned_before(count, earlier):
    """However the earlier starts went (a restart, a lead skipped), the next picks the
    variant fewest dialogs have, so assigning from here on evens them out."""
    started = {i: earlier.count(i) for i in range(count)}
    for _ in range(count * 40):
        chosen = next_variant(["v"] * count, started)
        assert started[chosen] == min(started.values())
        started[chosen] += 1
    assert max(started.values()) - min(started.values()) <= 1
