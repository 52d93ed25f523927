"""`python -m feblam` is the `feblam` command."""

from feblam.cli import main

raise SystemExit(main())
