"""The study's steps: which section notebooks run, in what order, which ones once per GAN, and what each needs."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from medgan_lib.study.profiles import Profile, ProfileError, parameters_for


@dataclasses.dataclass(frozen=True)
class Section:
    """One section notebook: ``after`` lists the sections whose artefacts it reads; ``waits_for`` those that
    must have finished first (whatever their outcome) because this one adds artefacts they would pick up;
    a ``per_gan`` section runs once per (GAN, seed) with ``gans: [name]`` so one GAN's failure never hides
    the others; ``folder`` gives it a study folder of its own inside the study's (its GAN runs stay apart).
    A ``per_gan`` section with ``mask_steps`` also runs once per (masks-only GAN of ``study.mask_gans``, seed)
    with ``channels: masks``, after its other steps (it may show them beside the masks); a section that
    ``reads_masks`` needs those steps too, as it needs GAN steps: their failure never blocks it."""

    notebook: str
    after: tuple[str, ...] = ()
    per_gan: bool = False
    waits_for: tuple[str, ...] = ()
    folder: str = ""
    mask_steps: bool = False
    reads_masks: bool = False


# In the order a reader follows them. Memory analysis reads no GAN run, so it can run beside training;
# evaluation (03) and the Dice table (04, which shows FID beside Dice) read the trained GANs, and 04 reads
# 03's results; the visual Turing test (07) samples the latest trained GAN. The hyperparameter search reads
# only the data, but its trials are GAN runs of the study folder, which 03, 04 and 07 would take for the
# study's GANs: it waits for them. The masks-only GANs (mask generators for SPADE) train in 02 after the other
# GANs, whose SPADE run their notebook draws images from; only the Dice table (04) uses them (a SPADE row on
# GAN-generated masks): evaluation and the Turing test take image generators only.
SECTIONS: tuple[Section, ...] = (
    Section("01_data_preparation"),
    Section("02_gan_training", after=("01_data_preparation",), per_gan=True, mask_steps=True),
    Section("03_fid_evaluation", after=("01_data_preparation", "02_gan_training")),
    Section("04_unet_dice", after=("01_data_preparation", "02_gan_training", "03_fid_evaluation"), reads_masks=True),
    Section("05_memory_analysis"),
    Section("06_hyperparameter_search", after=("01_data_preparation",),
            waits_for=("02_gan_training", "03_fid_evaluation", "04_unet_dice", "07_visual_turing_test"),
            folder="hyperparameter_search"),
    Section("07_visual_turing_test", after=("01_data_preparation", "02_gan_training")),
    # the review's conditional and translation GANs train on data of their own (classes, two modalities), into a
    # folder of their own, so 03, 04 and 07 never take their runs for the study's GANs
    Section("08_conditional_and_translation", folder="conditional"),
)


@dataclasses.dataclass
class Step:
    """One notebook execution. ``needs`` are step names; ``gan_needs`` are the per-GAN steps among them,
    whose failures only remove their GAN from this step's ``gans`` parameter instead of blocking it (a
    masks-only step's failure removes nothing: its run is only ever an extra). ``channels`` is "masks" for a
    masks-only GAN's step."""

    name: str
    section: str
    parameters: dict[str, Any]
    needs: tuple[str, ...] = ()
    gan_needs: tuple[str, ...] = ()
    waits: tuple[str, ...] = ()
    gan: str | None = None
    seed: int | None = None
    channels: str = "joint"


def build_plan(profile: Profile, declared: dict[str, dict[str, Any]], study_dir: Path,
               sections: tuple[Section, ...] = SECTIONS) -> list[Step]:
    """Steps for ``profile``; ``declared`` maps each present notebook to its declared parameters (a
    section whose notebook is absent still gets a step, which the runner reports as missing)."""
    steps: list[Step] = []
    by_section: dict[str, list[Step]] = {}
    masks_of: dict[str, list[Step]] = {}  # per-GAN section -> its masks-only steps
    per_gan_sections = {s.notebook for s in sections if s.per_gan}
    for section in sections:
        params_decl = declared.get(section.notebook, {})
        base = parameters_for(profile, section.notebook, params_decl)
        base["study_dir"] = str(study_dir / section.folder if section.folder else study_dir)
        needs = tuple(step.name for name in section.after for step in by_section.get(name, []))
        gan_needs = tuple(step.name for name in section.after if name in per_gan_sections
                          for step in by_section.get(name, []))
        if section.reads_masks:
            masks = tuple(step.name for name in section.after for step in masks_of.get(name, []))
            needs, gan_needs = needs + masks, gan_needs + masks
        if section.per_gan:
            new = []
            for gan in profile.gans:
                for seed in profile.seeds:
                    params = {**base, "gans": [gan], "seed": seed}
                    new.append(Step(f"{section.notebook}-{gan}-s{seed}", section.notebook, params, needs,
                                    gan=gan, seed=seed))
            masks_of[section.notebook] = _mask_steps(profile, section, base, params_decl, needs, new)
        else:
            params = dict(base)
            if "gans" in params_decl:
                params["gans"] = profile.gans
            new = [Step(section.notebook, section.notebook, params, needs,
                        gan_needs=gan_needs if "gans" in params_decl else ())]
        by_section[section.notebook] = new
        steps.extend(new + masks_of.get(section.notebook, []))
    for section in sections:
        for step in by_section[section.notebook] + masks_of.get(section.notebook, []):
            step.waits += tuple(s.name for name in section.waits_for
                                for s in by_section.get(name, []) + masks_of.get(name, []))
    return steps


def _mask_steps(profile: Profile, section: Section, base: dict[str, Any], declared: dict[str, Any],
                needs: tuple[str, ...], joint: list[Step]) -> list[Step]:
    """The masks-only GANs' steps of a per-GAN section; each waits for the section's other steps of its seed."""
    if not (section.mask_steps and profile.mask_gans):
        return []
    if declared and "channels" not in declared:
        raise ProfileError(f"notebook {section.notebook!r} declares no 'channels' parameter, so it cannot train the "
                           f"masks-only GANs of study.mask_gans {profile.mask_gans}")
    return [Step(f"{section.notebook}-masks-{gan}-s{seed}", section.notebook,
                 {**base, "gans": [gan], "seed": seed, "channels": "masks"}, needs, gan=gan, seed=seed,
                 channels="masks", waits=tuple(s.name for s in joint if s.seed == seed))
            for gan in profile.mask_gans for seed in profile.seeds]


def select_sections(names: tuple[str, ...], sections: tuple[Section, ...] = SECTIONS,
                    where: str = "--sections") -> set[str]:
    """The section notebooks named by ``names`` (full names, or the number they start with: "03")."""
    chosen = set()
    for name in names:
        name = f"{name:02d}" if isinstance(name, int) else str(name)  # YAML reads 03 as 3
        matches = [s.notebook for s in sections if s.notebook == name or s.notebook.split("_")[0] == name]
        if not matches:
            raise ProfileError(f"{where}: no section {name!r}; the sections are "
                               f"{', '.join(s.notebook for s in sections)} (a number like 03 is enough)")
        chosen.update(matches)
    return chosen


def profile_sections(profile: Profile, sections: tuple[Section, ...] = SECTIONS) -> tuple[Section, ...]:
    """The sections a profile reproduces (``study.sections``; all when unset): a paper's profile runs only the
    sections of that paper's experiments."""
    if not profile.study.get("sections"):
        return sections
    chosen = select_sections(tuple(profile.study["sections"]), sections, where=f"profile {profile.name!r}: study.sections")
    return tuple(s for s in sections if s.notebook in chosen)
