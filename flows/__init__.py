"""Prefect flows that walk a video library and orchestrate tagger + catalog.

Not built yet: see issue #6. Kept as a package so the layout matches DESIGN.md.
"""

__all__: list[str] = []
