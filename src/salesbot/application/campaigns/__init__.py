"""Campaigns: a lead list started as paced dialogs (import, feeder, control)."""
