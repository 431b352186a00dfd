"""Hyperparameter studies (skandarani2023 §3.1/§4.1, chetty2023 §3-4, belmekki §III) on Ray Tune."""

from medgan_lib.tune.search_space import (KEY_TO_FIELDS, TrialSpec, belmekki_trials, chetty_trials, grid_trials,
                                          random_trials, skandarani_space)
from medgan_lib.tune.stats import (asha_saving, belmekki_table, best_per_gan, dloss_correlation, pairwise_ttests,
                                   seed_summary, significance_grid, significance_grids)
from medgan_lib.tune.study import (StudyConfig, best_config, best_configs, compare_asha, load_study, ray_session,
                                   run_study, study_trials)

__all__ = ["KEY_TO_FIELDS", "StudyConfig", "TrialSpec", "asha_saving", "belmekki_table", "belmekki_trials",
           "best_config", "best_configs", "best_per_gan", "chetty_trials", "compare_asha", "dloss_correlation",
           "grid_trials", "load_study", "pairwise_ttests", "random_trials", "ray_session", "run_study",
           "seed_summary", "significance_grid", "significance_grids", "skandarani_space", "study_trials"]
