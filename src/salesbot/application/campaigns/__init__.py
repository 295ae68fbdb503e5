"""Campaigns: a lead list started as paced dialogs, measured per opener variant."""
