"""Journeys: people enter on an event, a segment, a date or by hand, and go through
steps (waits, branches, messages, tasks for agents, trait changes) until a goal ends
the journey or its steps run out."""
