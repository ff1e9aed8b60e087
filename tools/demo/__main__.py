"""`python -m tools.demo`: see tools/demo/__init__.py."""

from tools.demo.cli import main

raise SystemExit(main())
