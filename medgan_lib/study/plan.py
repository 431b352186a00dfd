"""The study's steps: which section notebooks run, in what order, which ones once per GAN, and what each needs."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from medgan_lib.study.profiles import Profile, parameters_for


@dataclasses.dataclass(frozen=True)
class Section:
    """One section notebook: ``after`` lists the sections whose artefacts it reads; ``waits_for`` those that
    must have finished first (whatever their outcome) because this one adds artefacts they would pick up;
    a ``per_gan`` section runs once per (GAN, seed) with ``gans: [name]`` so one GAN's failure never hides
    the others; ``folder`` gives it a study folder of its own inside the study's (its GAN runs stay apart)."""

    notebook: str
    after: tuple[str, ...] = ()
    per_gan: bool = False
    waits_for: tuple[str, ...] = ()
    folder: str = ""


# In the order a reader follows them. Memory analysis reads no GAN run, so it can run beside training;
# evaluation (03) and the Dice table (04, which shows FID beside Dice) read the trained GANs, and 04 reads
# 03's results; the visual Turing test (07) samples the latest trained GAN. The hyperparameter search reads
# only the data, but its trials are GAN runs of the study folder, which 03, 04 and 07 would take for the
# study's GANs: it waits for them.
SECTIONS: tuple[Section, ...] = (
    Section("01_data_preparation"),
    Section("02_gan_training", after=("01_data_preparation",), per_gan=True),
    Section("03_fid_evaluation", after=("01_data_preparation", "02_gan_training")),
    Section("04_unet_dice", after=("01_data_preparation", "02_gan_training", "03_fid_evaluation")),
    Section("05_memory_analysis"),
    Section("06_hyperparameter_search", after=("01_data_preparation",),
            waits_for=("02_gan_training", "03_fid_evaluation", "04_unet_dice", "07_visual_turing_test"),
            folder="hyperparameter_search"),
    Section("07_visual_turing_test", after=("01_data_preparation", "02_gan_training")),
)


@dataclasses.dataclass
class Step:
    """One notebook execution. ``needs`` are step names; ``gan_needs`` are the per-GAN steps among them,
    whose failures only remove their GAN from this step's ``gans`` parameter instead of blocking it."""

    name: str
    section: str
    parameters: dict[str, Any]
    needs: tuple[str, ...] = ()
    gan_needs: tuple[str, ...] = ()
    waits: tuple[str, ...] = ()
    gan: str | None = None
    seed: int | None = None


def build_plan(profile: Profile, declared: dict[str, dict[str, Any]], study_dir: Path,
               sections: tuple[Section, ...] = SECTIONS) -> list[Step]:
    """Steps for ``profile``; ``declared`` maps each present notebook to its declared parameters (a
    section whose notebook is absent still gets a step, which the runner reports as missing)."""
    steps: list[Step] = []
    by_section: dict[str, list[Step]] = {}
    per_gan_sections = {s.notebook for s in sections if s.per_gan}
    for section in sections:
        params_decl = declared.get(section.notebook, {})
        base = parameters_for(profile, section.notebook, params_decl)
        base["study_dir"] = str(study_dir / section.folder if section.folder else study_dir)
        needs = tuple(step.name for name in section.after for step in by_section.get(name, []))
        gan_needs = tuple(step.name for name in section.after if name in per_gan_sections
                          for step in by_section.get(name, []))
        if section.per_gan:
            new = []
            for gan in profile.gans:
                for seed in profile.seeds:
                    params = {**base, "gans": [gan], "seed": seed}
                    new.append(Step(f"{section.notebook}-{gan}-s{seed}", section.notebook, params, needs,
                                    gan=gan, seed=seed))
        else:
            params = dict(base)
            if "gans" in params_decl:
                params["gans"] = profile.gans
            new = [Step(section.notebook, section.notebook, params, needs,
                        gan_needs=gan_needs if "gans" in params_decl else ())]
        by_section[section.notebook] = new
        steps.extend(new)
    for section in sections:
        for step in by_section[section.notebook]:
            step.waits = tuple(s.name for name in section.waits_for for s in by_section.get(name, []))
    return steps
