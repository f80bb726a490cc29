"""Social listening and care: mentions of the brand heard on open networks (Bluesky,
Mastodon, Reddit, feeds, any listening tool), understood (sentiment, intent, the
author's influence and who they are), triaged (respond, wait or dismiss, with the
reason) and answered from the inbox through the network they were posted on."""
