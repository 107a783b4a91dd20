"""Orchestration: walk a video library, tag it with ``tagger``, record it with ``catalog``.

``flows.run`` is one tagging run whatever runs it; ``flows.tag_flows`` and
``flows.maintenance`` are the Prefect flows; ``flows.cli`` is the ``emotag`` command.
"""

__all__: list[str] = []
