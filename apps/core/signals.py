"""Signal receivers of the core app (kept out of models, per the style guide)."""
