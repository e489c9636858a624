"""Test plans shipped inside the package, so that ``rig demo`` finds its plan in an installed
wheel too: ``test_backbone.py`` here is a symbolic link to ``test_plans/test_backbone.py`` in a
checkout, copied as a file into a built package."""
