"""Talking with prospects: starting a dialog, receiving what they write, answering it
through the model (its checks and outcomes), following up on silence."""
