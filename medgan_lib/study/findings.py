"""The papers' main findings, each tested on this study's result files: the claim (paper and section), the
statistic that tests it, our value with its interval or p-value and n, and a verdict computed from the rows.

A verdict is *reproduced*, *not reproduced* or *inconclusive at this n*; *not tested* when the study has no
rows the statistic needs (the reason says which). Margins and thresholds are ours (the papers state none);
each finding names its own. ``evaluate_findings(results, dataset)`` gives the table the index shows.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Callable

import numpy as np
import pandas as pd

from medgan_lib import stats
from medgan_lib.diversity import COLLAPSE_RATIO
from medgan_lib.memory.gan_memory import LINEAR_R2
from medgan_lib.names import gan_name
from medgan_lib.study.agreement import tau as agreement_tau
from medgan_lib.study.readouts import dice_by_patient, inception_fids, metric_scores, rows_of
from medgan_lib.rows import DLOSS_MEAN, EXTRACTOR, FID, FID_CI_HIGH, FID_CI_LOW, GAN, N, STATUS

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_TESTED = (
    "reproduced", "not reproduced", "inconclusive at this n", "not tested")
ALPHA = 0.05
SIMPLE_GANS = ("vanilla", "dcgan", "lsgan", "wgan", "wgan_gp", "hinge")
TOP_GANS = ("spade", "stylegan2")
WELL_BELOW = 0.10  # ours: "well below real data" = more than 0.10 mean Dice lower
EQUIVALENCE_MARGIN = 0.02  # ours: real + synthetic "≈" augmentation = within ±0.02 Dice (TOST)
STRONG_R = 0.5  # ours: a "strong" correlation is |r| >= 0.5
TRACKS_TAU = 0.7  # ours: FID "tracks" Dice when Kendall's tau between the rankings is at least 0.7
FIGURE5_GANS = ("dcgan", "lsgan", "wgan", "hinge")  # the GANs of skandarani's Figure 5 (their searches)
BN_SAVING = (1.2, 7.0)  # belmekki Fig. 8: removing BatchNorm saves 1.2-7 % of memory


class NotTested(Exception):
    """The study has no rows this finding's statistic needs; the message says which."""


@dataclasses.dataclass(frozen=True)
class Outcome:
    value: str  # our statistic, with its interval or p-value
    n: str  # what the statistic was computed over
    verdict: str
    detail: str = ""


@dataclasses.dataclass(frozen=True)
class Finding:
    key: str
    paper: str
    section: str
    claim: str
    statistic: str
    test: Callable[[dict[str, pd.DataFrame], str], Outcome]


FINDINGS: dict[str, Finding] = {}


def finding(key: str, paper: str, section: str, claim: str, statistic: str):
    """Register the decorated test as the finding ``key`` (kept in the order of registration)."""
    def add(test: Callable[[dict[str, pd.DataFrame], str], Outcome]) -> Callable:
        if key in FINDINGS:
            raise ValueError(f"finding '{key}' is registered twice")
        FINDINGS[key] = Finding(key, paper, section, claim, statistic, test)
        return test
    return add


def evaluate_findings(results: dict[str, pd.DataFrame], dataset: str) -> pd.DataFrame:
    """One row per registered finding: paper, section, claim, statistic, our value, n, verdict, detail."""
    rows = []
    for item in FINDINGS.values():
        try:
            outcome = item.test(results, dataset)
        except NotTested as reason:
            outcome = Outcome("–", "–", NOT_TESTED, str(reason))
        except Exception as err:  # one finding's failure must not take the index with it; it is shown, not hidden
            warnings.warn(f"finding '{item.key}' could not be computed: {type(err).__name__}: {err}", stacklevel=2)
            outcome = Outcome("–", "–", NOT_TESTED, f"could not be computed: {type(err).__name__}: {err}")
        rows.append({"paper": item.paper, "section": item.section, "claim": item.claim,
                     "statistic": item.statistic, "ours": outcome.value, "n": outcome.n,
                     "verdict": outcome.verdict, "detail": outcome.detail, "key": item.key})
    return pd.DataFrame(rows)


def _scored(tune: pd.DataFrame) -> pd.DataFrame:
    """Search trials with a finite final FID (diverged and failed trials have none)."""
    return tune[np.isfinite(pd.to_numeric(tune[FID], errors="coerce").astype(float))]


def _need(condition: bool, reason: str) -> None:
    if not condition:
        raise NotTested(reason)


def _names(gans) -> str:
    return ", ".join(gan_name(g) for g in gans)


# ---- skandarani2023 -----------------------------------------------------------------------------------------
@finding("sk-top", "skandarani2023", "§4.1–4.2, Table 2",
         "StyleGAN2 and SPADE rank best, by FID and by Dice",
         "FID: the weaker top GAN's 95 % interval below the best other GAN's; Dice: one-sided paired Wilcoxon "
         "over test patients, weaker top GAN vs best other")
def _top_gans(results, dataset):
    fid, dice = inception_fids(results, dataset), dice_by_patient(results, dataset)
    others_fid = [g for g in fid.index if g not in TOP_GANS]
    others_dice = [g for g in dice.columns if g in SIMPLE_GANS]
    _need(all(g in fid.index for g in TOP_GANS) and others_fid, "needs Inception FIDs of SPADE, StyleGAN2 and "
          "another GAN (notebook 03)")
    _need(all(g in dice for g in TOP_GANS) and others_dice, "needs synthetic-only Dice of SPADE, StyleGAN2 and "
          "another GAN (notebook 04)")
    weak_fid = fid.loc[list(TOP_GANS), FID].idxmax()
    best_other_fid = fid.loc[others_fid, FID].idxmin()
    if fid.at[weak_fid, FID_CI_HIGH] < fid.at[best_other_fid, FID_CI_LOW]:
        by_fid = True
    elif fid.at[best_other_fid, FID_CI_HIGH] < fid.at[weak_fid, FID_CI_LOW]:
        by_fid = False
    else:
        by_fid = None
    weak_dice = dice[list(TOP_GANS)].mean().idxmin()
    best_other_dice = dice[others_dice].mean().idxmax()
    ahead = stats.paired_greater(dice[weak_dice], dice[best_other_dice])
    behind = stats.paired_greater(dice[best_other_dice], dice[weak_dice])
    by_dice = True if ahead.p < ALPHA else False if behind.p < ALPHA else None
    parts = (by_fid, by_dice)
    verdict = NOT_REPRODUCED if False in parts else REPRODUCED if all(parts) else INCONCLUSIVE
    value = (f"FID {gan_name(weak_fid)} {fid.at[weak_fid, FID]:.1f} [{fid.at[weak_fid, FID_CI_LOW]:.1f}, "
             f"{fid.at[weak_fid, FID_CI_HIGH]:.1f}] vs {gan_name(best_other_fid)} {fid.at[best_other_fid, FID]:.1f} "
             f"[{fid.at[best_other_fid, FID_CI_LOW]:.1f}, {fid.at[best_other_fid, FID_CI_HIGH]:.1f}]; Dice "
             f"{gan_name(weak_dice)} − {gan_name(best_other_dice)} median {ahead.text()}")
    return Outcome(value, f"{int(fid.at[weak_fid, N])} images per FID; {len(dice)} test patients", verdict,
                   f"decided by FID: {_decided(by_fid)}; by Dice: {_decided(by_dice)}")


def _decided(part: bool | None) -> str:
    return {True: "yes", False: "no, the other way", None: "undecided"}[part]


@finding("sk-simple-below", "skandarani2023", "§4.2, Table 2",
         "the simple GANs' synthetic-only Dice falls well below real data",
         f"per simple GAN, one-sided paired Wilcoxon over test patients of real − GAN > {WELL_BELOW} (ours: 'well "
         f"below' = more than {WELL_BELOW} Dice); all must hold")
def _simple_below(results, dataset):
    dice = dice_by_patient(results, dataset)
    gans = [g for g in SIMPLE_GANS if g in dice]
    _need("real" in dice and gans, "needs real-data and simple-GAN synthetic Dice (notebook 04)")
    below = {g: stats.paired_greater(dice["real"], dice[g], WELL_BELOW) for g in gans}
    close = {g: stats.paired_greater(dice[g], dice["real"], -WELL_BELOW) for g in gans}
    if all(e.p < ALPHA for e in below.values()):  # an intersection-union test: no correction needed
        verdict = REPRODUCED
    elif any(e.p < ALPHA / len(gans) for e in close.values()):  # Bonferroni over the GANs
        verdict = NOT_REPRODUCED
    else:
        verdict = INCONCLUSIVE
    value = "; ".join(f"{gan_name(g)} gap {e.value:.2f} (p = {e.p:.2g})" for g, e in below.items())
    near = [g for g, e in close.items() if e.p < ALPHA / len(gans)]
    return Outcome(value, f"{len(dice)} test patients, {len(gans)} GANs", verdict,
                   f"within {WELL_BELOW} of real data (significantly): {_names(near)}" if near else "")


@finding("sk-no-gan-reaches-real", "skandarani2023", "§4.2, §5",
         "no GAN's synthetic-only Dice reaches real-data Dice",
         f"the best GAN by synthetic-only Dice: one-sided paired Wilcoxon, real > GAN; equivalence (TOST "
         f"±{EQUIVALENCE_MARGIN}) or GAN > real refutes")
def _no_gan_reaches_real(results, dataset):
    dice = dice_by_patient(results, dataset)
    gans = [g for g in dice.columns if g not in ("real", "augmented") and not g.startswith("real+")]
    _need("real" in dice and gans and len(dice) >= 2, "needs real-data and synthetic Dice over >= 2 test patients "
          "(notebook 04)")
    best = dice[gans].mean().idxmax()
    lower = stats.paired_greater(dice["real"], dice[best])
    higher = stats.paired_greater(dice[best], dice["real"])
    same = stats.tost_paired(dice[best], dice["real"], EQUIVALENCE_MARGIN)
    verdict = (REPRODUCED if lower.p < ALPHA else NOT_REPRODUCED if min(higher.p, same.p) < ALPHA
               else INCONCLUSIVE)
    return Outcome(f"{gan_name(best)}: real − GAN median {lower.text()}", f"{len(dice)} test patients", verdict,
                   f"mean Dice real {dice['real'].mean():.3f}, {gan_name(best)} {dice[best].mean():.3f}")


@finding("sk-mix-equals-augmentation", "skandarani2023", "§4.2, Table 2",
         "real + synthetic data is about as good as classic augmentation",
         f"per mixed GAN, paired TOST over test patients, equivalence margin ±{EQUIVALENCE_MARGIN} Dice (ours); "
         f"all must be equivalent")
def _mix_equals_augmentation(results, dataset):
    dice = dice_by_patient(results, dataset)
    mixes = [c for c in dice.columns if c.startswith("real+")]
    _need("augmented" in dice and mixes and len(dice) >= 2, "needs augmented and real + synthetic Dice over >= 2 "
          "test patients (notebook 04 with mix_gans)")
    tests = {m: stats.tost_paired(dice[m], dice["augmented"], EQUIVALENCE_MARGIN) for m in mixes}
    m = EQUIVALENCE_MARGIN
    if all(e.p < ALPHA for e in tests.values()):
        verdict = REPRODUCED
    elif any(e.low > m or e.high < -m for e in tests.values()):  # the 90 % interval lies outside the margins
        verdict = NOT_REPRODUCED
    else:
        verdict = INCONCLUSIVE
    value = "; ".join(f"{gan_name(k[5:])} − augmented {e.text()}" for k, e in tests.items())
    return Outcome(value, f"{len(dice)} test patients", verdict, "intervals are 90 % (TOST at α = 0.05)")


@finding("sk-fid-not-dice", "skandarani2023", "§5 (third point)",
         "FID does not track the downstream Dice",
         f"Kendall's τ between the GAN rankings by −Inception FID and by synthetic-only Dice, 95 % bootstrap "
         f"interval (03's paired image resamples, test patients resampled); 'tracks' = τ ≥ {TRACKS_TAU} (ours)")
def _fid_not_dice(results, dataset):
    scores = metric_scores(results, dataset)
    _need("Inception FID" in scores and "synthetic-only Dice" in scores,
          "needs 03's paired FID bootstrap (fid_rank rows with replicates) and synthetic Dice (notebook 04)")
    tau = agreement_tau(scores["Inception FID"], scores["synthetic-only Dice"])
    _need(tau is not None, "needs Inception FID and synthetic Dice of >= 3 GANs (notebooks 03 and 04)")
    verdict = (REPRODUCED if tau.high < TRACKS_TAU else NOT_REPRODUCED if tau.low >= TRACKS_TAU else INCONCLUSIVE)
    return Outcome(f"τ = {tau.text(2)}", f"{tau.n} GANs, {len(dice_by_patient(results, dataset))} test patients",
                   verdict, "interval: 03's paired image resamples with test patients resampled alongside")


@finding("sk-hinge-stable", "skandarani2023", "§4.1, Figure 5",
         "HingeGAN's FID varies least across hyperparameters; DCGAN and LSGAN's the most",
         "Brown–Forsythe test of equal spread of final FID over the search's trials of Figure 5's GANs (DCGAN, "
         "LSGAN, WGAN, HingeGAN), spread = median absolute deviation; trials ASHA stopped count with their last "
         "FID; diverged and failed trials have no FID and are excluded (counted)")
def _hinge_stable(results, dataset):
    tune = rows_of(results, "tune", None)
    _need(not tune.empty and "hinge" in set(tune[GAN]), "needs a hyperparameter search over HingeGAN (notebook 06)")
    scored = _scored(tune)
    groups = {g: s[FID].to_numpy(float) for g, s in scored.groupby(GAN) if len(s) >= 2 and g in FIGURE5_GANS}
    _need("hinge" in groups and len(groups) >= 2 and set(groups) & {"dcgan", "lsgan"},
          "needs >= 2 scored trials of HingeGAN and of DCGAN or LSGAN (notebook 06)")
    test, spreads = stats.spread_test(groups)
    widest, narrowest = max(spreads, key=spreads.get), min(spreads, key=spreads.get)
    holds = narrowest == "hinge" and widest in ("dcgan", "lsgan")
    verdict = INCONCLUSIVE if test.p >= ALPHA else REPRODUCED if holds else NOT_REPRODUCED
    unscored = tune[tune[GAN].isin(FIGURE5_GANS) & ~tune.index.isin(scored.index)]
    excluded = unscored.groupby(STATUS).size().to_dict()
    value = "; ".join(f"{gan_name(g)} {s:.1f}" for g, s in sorted(spreads.items(), key=lambda kv: kv[1]))
    return Outcome(f"spread (MAD of FID): {value}; p = {test.p:.2g}",
                   ", ".join(f"{gan_name(g)} {len(v)}" for g, v in groups.items()) + " trials", verdict,
                   f"excluded: {excluded}" if excluded else "no trial excluded")


@finding("sk-inception-hides-collapse", "skandarani2023", "§5, Figure 7",
         "Inception features hide the worst GAN's mode collapse, which U-Net features show",
         f"the worst GAN by synthetic-only Dice: its feature diversity ratio (generated / real mean pairwise "
         f"distance) in U-Net and in Inception space; collapse = ratio < {COLLAPSE_RATIO}; threshold rule, no "
         f"interval")
def _inception_hides_collapse(results, dataset):
    memo, dice = rows_of(results, "memorization", dataset), dice_by_patient(results, dataset)
    gans = [g for g in dice.columns if g in (*SIMPLE_GANS, *TOP_GANS)]
    _need(gans and not memo.empty and "feature_diversity_ratio" in memo,
          "needs synthetic Dice (04) and memorisation audits in Inception and U-Net space (03)")
    worst = dice[gans].mean().idxmin()
    ratios = {e: memo[(memo[GAN] == worst) & (memo[EXTRACTOR] == e)]["feature_diversity_ratio"]
              for e in ("inception", "unet")}
    _need(all(len(r) for r in ratios.values()), f"needs {gan_name(worst)}'s audits in Inception and U-Net space (03)")
    inc, unet = float(ratios["inception"].iloc[-1]), float(ratios["unet"].iloc[-1])
    verdict = REPRODUCED if unet < COLLAPSE_RATIO <= inc else NOT_REPRODUCED
    n = memo[(memo[GAN] == worst) & (memo[EXTRACTOR] == "unet")][N].iloc[-1]
    return Outcome(f"{gan_name(worst)}: diversity ratio Inception {inc:.2f}, U-Net {unet:.2f}",
                   f"{int(n)} generated images", verdict,
                   "no interval: a verdict by threshold (paired bootstrap of the features: issue 18)")


@finding("sk-spade-copies", "skandarani2023", "§5",
         "SPADE near-copies its training images on small data",
         "share of SPADE images closer to a training image (pixels) than the held-out quantile, against that "
         "quantile (exact binomial test); refuted when the Clopper–Pearson upper bound is below twice it (ours)")
def _spade_copies(results, dataset):
    memo = rows_of(results, "memorization", dataset)
    _need(not memo.empty and "spade" in set(memo[GAN]), "needs SPADE's memorisation audit (notebook 03)")
    row = memo[memo[GAN] == "spade"].iloc[-1]
    n, q = int(row[N]), float(row["quantile"])
    share = stats.excess_share(int(round(row["pixel_near_copy_share"] * n)), n, q)
    verdict = REPRODUCED if share.p < ALPHA else NOT_REPRODUCED if share.high < 2 * q else INCONCLUSIVE
    return Outcome(f"near-copy share {share.text()} (expected {q:.2f} without memorisation)", f"{n} SPADE images",
                   verdict, "the held-out quantile is itself estimated (n_heldout images); not in the interval")


# ---- chetty2023 ---------------------------------------------------------------------------------------------
@finding("ch-vanilla-sensitive", "chetty2023", "Table 3",
         "the Vanilla GAN is more sensitive to its hyperparameters than WGAN-GP",
         "Brown–Forsythe test of equal spread of final FID over the search's trials of the two GANs")
def _vanilla_sensitive(results, dataset):
    scored = _scored(rows_of(results, "tune", None))
    groups = {g: scored[scored[GAN] == g][FID].to_numpy(float) for g in ("vanilla", "wgan_gp")}
    _need(all(len(v) >= 2 for v in groups.values()), "needs >= 2 scored search trials of Vanilla GAN and of "
          "WGAN-GP (notebook 06 with tune_gans [vanilla, wgan_gp])")
    test, spreads = stats.spread_test(groups)
    holds = spreads["vanilla"] > spreads["wgan_gp"]
    verdict = INCONCLUSIVE if test.p >= ALPHA else REPRODUCED if holds else NOT_REPRODUCED
    return Outcome(f"spread (MAD of FID) Vanilla {spreads['vanilla']:.1f}, WGAN-GP {spreads['wgan_gp']:.1f}; "
                   f"p = {test.p:.2g}", f"{len(groups['vanilla'])} + {len(groups['wgan_gp'])} trials", verdict)


@finding("ch-medfid-distortions", "chetty2023", "Tables 5–6",
         "MedFID grows with the strength of every distortion",
         "Pearson r of MedFID with distortion strength, per distortion; all must be positive at p < 0.05")
def _medfid_distortions(results, dataset):
    rows = rows_of(results, "distortion", dataset)
    rows = rows[rows[EXTRACTOR] == "medfid"] if not rows.empty else rows
    _need(not rows.empty, "needs notebook 03's distortion sweep with the MedFID extractor")
    protocol = rows["protocol"].fillna("ours") if "protocol" in rows else pd.Series("ours", index=rows.index)
    rows = rows[protocol == ("chetty" if (protocol == "chetty").any() else "ours")]  # chetty's levels when run
    tests = {d: stats.correlation(g["strength"], g[FID]) for d, g in rows.groupby("distortion", sort=False)
             if g["strength"].nunique() >= 3}
    _need(tests, "needs >= 3 distortion strengths (03's strengths)")
    if all(e.value > 0 and e.p < ALPHA for e in tests.values()):
        verdict = REPRODUCED
    elif any(e.value < 0 and e.p < ALPHA for e in tests.values()):
        verdict = NOT_REPRODUCED
    else:
        verdict = INCONCLUSIVE
    value = "; ".join(f"{d} r = {e.value:.2f} (p = {e.p:.2g})" for d, e in tests.items())
    return Outcome(value, f"{rows['strength'].nunique()} strengths, {int(rows[N].iloc[0])} images", verdict)


# ---- belmekki -----------------------------------------------------------------------------------------------
@finding("be-dloss-fid", "belmekki", "§IV, Figure 5",
         "the mean discriminator loss is strongly, inversely correlated with FID",
         "Pearson r between the trials' mean D loss and final FID (search trials), 95 % interval; "
         f"reproduced when r < 0 at p < 0.05; refuted when r > 0 at p < 0.05 or the interval excludes a strong "
         f"inverse correlation (r <= -{STRONG_R}, ours)")
def _dloss_fid(results, dataset):
    tune = rows_of(results, "tune", None)
    _need(not tune.empty and DLOSS_MEAN in tune, "needs hyperparameter-search trials with D-loss statistics (06)")
    both = tune[tune[FID].notna() & tune[DLOSS_MEAN].notna()]
    _need(len(both) >= 3, "needs >= 3 search trials with both FID and mean D loss (notebook 06)")
    r = stats.correlation(both[DLOSS_MEAN], both[FID])
    verdict = (REPRODUCED if r.value < 0 and r.p < ALPHA else
               NOT_REPRODUCED if (r.value > 0 and r.p < ALPHA) or r.low > -STRONG_R else INCONCLUSIVE)
    return Outcome(f"r = {r.text(2)}", f"{len(both)} trials ({_names(sorted(set(both[GAN])))})", verdict)


def _memoryrows_of(results, config: str = "belmekki_table2") -> pd.DataFrame:
    memory = rows_of(results, "memory", None)
    _need(not memory.empty and "summary_mb_per_image" in memory and (memory["config"] == config).any(),
          f"needs notebook 05's sweep of {config}")
    memory = memory[memory["config"] == config]
    memory = memory[memory["error"].isna()] if "error" in memory else memory
    return memory.astype({"batchnorm": bool})  # read back from JSONL beside rows without it: object dtype


@finding("be-memory-linear", "belmekki", "§IV, Figure 7",
         "memory per image grows linearly with the number of feature maps",
         f"least-squares line of torchsummary's MB per image on feature maps (Table II DCGAN, with BatchNorm, per "
         f"resolution); linear = R² ≥ {LINEAR_R2} and slope > 0 at p < 0.05 (ours)")
def _memory_linear(results, dataset):
    memory = _memoryrows_of(results)
    memory = memory[memory["batchnorm"].astype(bool)]
    fits = {res: stats.linear_fit(g["filters_g"], g["summary_mb_per_image"])
            for res, g in memory.groupby("resolution") if g["filters_g"].nunique() >= 3}
    _need(fits, "needs >= 3 feature-map sizes at one resolution (notebook 05's feature_maps)")
    linear = [slope.value > 0 and slope.p < ALPHA and r2 >= LINEAR_R2 for slope, r2 in fits.values()]
    verdict = REPRODUCED if all(linear) else NOT_REPRODUCED
    value = "; ".join(f"{int(res)}×{int(res)}: slope {s.text(4)} MB per feature map, R² = {r2:.4f}"
                      for res, (s, r2) in fits.items())
    return Outcome(value, ", ".join(f"{int(s.n)} sizes" for s, _ in fits.values()), verdict,
                   "a deterministic count (hooks on the modules), so the fit has no sampling noise")


@finding("be-bn-saving", "belmekki", "§IV, Figure 8",
         "removing BatchNorm from the generator saves 1.2–7 % of its memory",
         "torchsummary's estimated total per image of the generator with and without BatchNorm (Table II DCGAN "
         "with BatchNorm in G, as Figure 8); reproduced when every saving lies in 1.2–7 %")
def _bn_saving(results, dataset):
    from medgan_lib.memory import bn_savings
    from medgan_lib.memory.reference import FIG8_GENERATOR

    memory = _memoryrows_of(results, FIG8_GENERATOR)
    _need(memory["batchnorm"].nunique() == 2, "needs the sweep with and without BatchNorm (notebook 05)")
    column = "summary_g_total_mb_per_image"
    _need(column in memory and memory[column].notna().all(), "needs notebook 05 rerun (generator totals)")
    savings = bn_savings(memory, [column])[f"{column}_saving_pct"]
    low, high = BN_SAVING
    verdict = REPRODUCED if savings.between(low, high).all() else NOT_REPRODUCED
    return Outcome(f"saving {savings.min():.2f}–{savings.max():.2f} %", f"{len(savings)} configurations", verdict,
                   "a deterministic count; no interval needed")
