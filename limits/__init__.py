"""Guidance and trigger levels as cited data (limits/data/*.toml) plus pure evaluators."""
