"""medgan_lib: the helper library behind the medgan-study notebooks.

Submodules are imported on demand (``from medgan_lib.data import prepare``) so that a
notebook only pays for what it uses.
"""

__version__ = "0.1.0"
