"""The SDK's tests: they import the package from ../src, so they run from a
checkout without installing it (python3 -m unittest discover)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))
