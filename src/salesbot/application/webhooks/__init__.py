"""The CRM webhook: the events the database queues with each dialog change, delivered at
least once, in order per dialog, retried with back-off for as long as it takes."""
