"""Entry point: ``python -m nas_agent --system-dir DIR <command>`` (see cli.py)."""
import sys

from .cli import main

sys.exit(main())
