# Reference for the within/between decomposition of a patient-level covariate
# (tests/study/test_centering.py): lme4 fits the patient-rated growth model of the simulated
# reference study with severity split into its within-therapist and between-therapist parts, on
# the analysis data that `alliance analyze` exported with `centering = { severity =
# "group-mean" }` (data/within_between.csv).
#
#   Rscript tests/reference/within_between.R
suppressMessages({library(lme4); library(jsonlite)})
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
d <- read.csv(file.path(here, "data", "within_between.csv"))
formula <- alliance ~ time * (personal_satisfactions + personal_burdens + experience +
  severity_within + severity_between) + (time | therapist/patient)
m <- lmer(formula, d, REML = TRUE,
          control = lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5)))
fixed <- summary(m)$coefficients
out <- list(
  formula = paste(deparse(formula, width.cutoff = 500), collapse = " "),
  lme4 = as.character(packageVersion("lme4")),
  reml = REMLcrit(m),
  terms = rownames(fixed),
  estimate = unname(fixed[, "Estimate"]),
  std_error = unname(fixed[, "Std. Error"]),
  converged = is.null(m@optinfo$conv$lme4$messages)
)
write_json(out, file.path(here, "within_between.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
