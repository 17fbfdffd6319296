"""Make ``ansible_collections.tgops.runbooks`` importable from a checkout.

``make venv`` links ``.collections/ansible_collections/tgops/runbooks`` to the repository root; this
puts that collections path first so unit tests import the collection exactly as Ansible does.
"""
import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_COLLECTIONS = os.path.join(_ROOT, ".collections")
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)
