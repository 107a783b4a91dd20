"""The catalogue: Delta Lake tables of time-coded tags (the only code that writes them).

Not built yet: see issue #5. Kept as a package so the layout matches DESIGN.md.
"""

__all__: list[str] = []
