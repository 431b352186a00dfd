"""Display names, in one place: each registered GAN's name as the papers print it, and skandarani2023 Table 2's
row name of each training condition. Table 2, the index, the paper lookups and the search spaces use these."""

from __future__ import annotations

# registered GAN name -> the papers' name for it
GAN_NAMES = {"vanilla": "Vanilla GAN", "dcgan": "DCGAN", "lsgan": "LSGAN", "wgan": "WGAN", "wgan_gp": "WGAN-GP",
             "hinge": "HingeGAN", "spade": "SPADE GAN", "stylegan2": "StyleGAN",
             "cgan": "cGAN", "acgan": "ACGAN", "infogan": "InfoGAN",  # the review's class-conditional GANs (08)
             "pix2pix": "pix2pix", "cyclegan": "CycleGAN"}  # and its translation GANs (08)

# other names the papers' tables give a registered GAN (chetty2023's experiments call the vanilla GAN an MLP)
GAN_ALIASES = {"vanilla_mlp": "vanilla"}

# training-condition kind (segmentation.study.KINDS) -> its Table 2 row name; {gan} is the GAN's display name.
# "synthetic_gan_masks" is ours (SPADE drawn on the masks of a masks-only GAN), not a row of the paper.
CONDITIONS = {"real": "Original Data", "augmented": "Augmented Original Data", "synthetic": "{gan}",
              "synthetic_gan_masks": "{gan} on GAN-generated masks", "real+synthetic": "Orig. Data + {gan}"}


def gan_name(gan: str) -> str:
    """The display name of a registered GAN (a name not in the table is shown as it is)."""
    return GAN_NAMES.get(gan, gan)


def registered_gan(name: str) -> str:
    """The registered name of a GAN as a paper's table names it (an alias or the registered name itself)."""
    gan = GAN_ALIASES.get(name, name)
    if gan not in GAN_NAMES:
        raise ValueError(f"unknown GAN name '{name}'; valid names: {', '.join([*GAN_NAMES, *GAN_ALIASES])}")
    return gan


def condition_label(kind: str, gan: str | None = None) -> str:
    """Table 2's row name of the training condition ``kind`` (with ``gan``'s samples for the synthetic kinds)."""
    if kind not in CONDITIONS:
        raise ValueError(f"unknown training condition '{kind}'; valid: {', '.join(CONDITIONS)}")
    return CONDITIONS[kind].format(gan=gan_name(gan) if isinstance(gan, str) else "")
