"""The operator view: a live page served by the agent on its own asyncio loop (docs/web.md)."""
