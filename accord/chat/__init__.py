"""Live chat: the widget's visitors, their chat over WebSocket, and proactive triggers."""
