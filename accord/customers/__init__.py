"""The customer, read: search, the Customer 360, look-ups, the timeline, the context
an agent sees beside a conversation or a call, and exports."""
