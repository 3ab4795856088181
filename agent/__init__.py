"""doseedge agent runtime: poll → decode → normalise → evaluate → store → publish."""
