"""Indexing: basic, advanced and boolean-mask reads; functional ``x.at[idx]`` updates."""
__all__ = []
