"""Campaigns: importing a lead list, feeding its leads to the accounts, steering it."""
