"""The study runner: every section notebook executed with papermill, rendered to HTML, summarised in an index."""

from medgan_lib.study.plan import SECTIONS, Section, Step, build_plan
from medgan_lib.study.profiles import Profile, ProfileError, apply_overrides, load_profile
from medgan_lib.study.report import list_studies, table2, write_index
from medgan_lib.study.runner import StepRecord, StudyResult, run_study

__all__ = ["SECTIONS", "Section", "Step", "build_plan", "Profile", "ProfileError", "apply_overrides",
           "load_profile", "list_studies", "table2", "write_index", "StepRecord", "StudyResult", "run_study"]
