"""Optimisers not in torch: AdaS (belmekki §II.C)."""

from medgan_lib.optim.adas import Adas

__all__ = ["Adas"]
