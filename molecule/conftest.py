"""Shared by every scenario's testinfra tests: lets them import molecule/labhosts.py."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
