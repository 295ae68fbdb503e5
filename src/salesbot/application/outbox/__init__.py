"""Everything that leaves for a prospect: claimed, paced within the quota, sent once, and
what each Telegram outcome means for the message, the dialog and the account."""
