"""GANs of the study. Importing this package registers every GAN in ``GANS`` (``medgan_lib.gans.base``):
vanilla, dcgan, lsgan, wgan, wgan_gp, hinge (``conv``), stylegan2 and spade."""

from medgan_lib.gans import conv  # noqa: F401  (registers vanilla, dcgan, lsgan, wgan, wgan_gp, hinge)
from medgan_lib.gans import classcond, spade, stylegan2, translation  # noqa: F401  (cgan, acgan, infogan, spade,
#                                                                          stylegan2, pix2pix, cyclegan)
from medgan_lib.gans.base import GANS, GAN, DataShape
from medgan_lib.gans.losses import LOSSES

__all__ = ["GANS", "GAN", "DataShape", "LOSSES"]
