"""`python -m kernel` is the `ukern` command."""
import sys

from .cli import main

sys.exit(main())
