"""``python -m tagger.training``: the same flags and code as ``emotag train``."""

from tagger.training.pipeline import main

raise SystemExit(main())
