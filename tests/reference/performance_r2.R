# R² of Nakagawa & Schielzeth (2013) with Johnson's (2014) random-slope extension, as
# performance::r2_nakagawa computes it for linear mixed models (lmerMod), with the variance
# components behind it (insight::get_variance: var.fixed, var.random, var.residual).
#
# Run from the repository root (about 10 s):
#     Rscript tests/reference/performance_r2.R
#
# Reads tests/reference/data/*.csv and tests/reference/corpus/data/exam.csv (read back
# exactly as the Python tests read them) and writes tests/reference/performance_r2.json.
# Deterministic: no random numbers.

suppressPackageStartupMessages({
  library(lme4)
  library(performance)
  library(insight)
  library(jsonlite)
})

root <- file.path("tests", "reference")
if (!dir.exists(root)) {
  stop("run this script from the repository root: Rscript tests/reference/performance_r2.R")
}
source(file.path(root, "exact_output.R"))

cases <- list(
  list(case = "sleepstudy_slopes", data = "data/sleepstudy.csv",
       description = "lme4::sleepstudy; correlated random intercept and slope",
       factors = list(), as_factor = "Subject",
       formula = "Reaction ~ Days + (Days | Subject)", methods = c("REML", "ML")),
  list(case = "orthodont_slopes", data = "data/orthodont.csv",
       description = "nlme::Orthodont; random intercept and age slope, a between-subject factor",
       factors = list(Sex = c("Male", "Female")), as_factor = "Subject",
       formula = "distance ~ age + Sex + (age | Subject)", methods = "REML"),
  list(case = "exam_slopes", data = "corpus/data/exam.csv",
       description = "mlmRev::Exam; random standLRT slope over 65 schools",
       factors = list(sex = c("F", "M")), as_factor = "school",
       formula = "normexam ~ standLRT + sex + schavg + (standLRT | school)", methods = "REML"),
  list(case = "alliance_sim_corr", data = "data/alliance_sim.csv",
       description = "simulated three-level alliance study (tests/reference/lme4_parity.R)",
       factors = list(), as_factor = c("therapist", "patient"),
       formula = "wai ~ time * (burdens + satisfactions) + (time | therapist/patient)",
       methods = "REML"),
  list(case = "oxboys_quadratic", data = "data/oxboys.csv",
       description = "nlme::Oxboys; quadratic growth, random intercept and age slope",
       factors = list(), as_factor = "Subject",
       formula = "height ~ age + I(age^2) + (age | Subject)", methods = "REML"),
  list(case = "pastes_nested", data = "data/pastes.csv",
       description = "lme4::Pastes; intercept only (marginal R2 = 0), two nested levels",
       factors = list(), as_factor = c("batch", "cask"),
       formula = "strength ~ 1 + (1 | batch/cask)", methods = "REML"),
  list(case = "dyestuff2_singular", data = "data/dyestuff2.csv",
       description = paste("lme4::Dyestuff2; singular (Batch variance 0). With the default",
                           "tolerance performance returns NA for the conditional R2 and",
                           "var.fixed / (var.fixed + var.residual) for the marginal; with",
                           "tolerance = 0 it counts the zero variance as 0 (tolerance_0)"),
       factors = list(), as_factor = "Batch",
       formula = "Yield ~ 1 + (1 | Batch)", methods = "REML")
)

r2_fields <- function(fit, tolerance) {
  out <- collect(performance::r2_nakagawa(fit, tolerance = tolerance))
  printed <- capture.output(vars <- collect(insight::get_variance(fit, tolerance = tolerance)))
  r2 <- out$value
  v <- vars$value
  list(
    tolerance = tolerance,
    marginal = unname(r2$R2_marginal),
    conditional = unname(r2$R2_conditional),
    var_fixed = if (is.null(v$var.fixed)) NA_real_ else v$var.fixed,
    var_random = if (is.null(v$var.random)) NA_real_ else v$var.random,
    var_residual = if (is.null(v$var.residual)) NA_real_ else v$var.residual,
    messages = I(unique(c(out$notes, vars$notes)))
  )
}

fit_case <- function(spec) {
  data <- read_data(spec$data, spec$factors, spec$as_factor)
  fits <- list()
  for (method in spec$methods) {
    fitted <- collect(lmer(as.formula(spec$formula), data = data, REML = method == "REML"))
    fit <- fitted$value
    # r2_nakagawa prints "Random effect variances not available ..." for singular fits
    printed <- capture.output(default <- r2_fields(fit, 1e-5))
    entry <- list(
      deviance = deviance(fit, REML = method == "REML"),
      reml_criterion = if (method == "REML") REMLcrit(fit) else NA_real_,
      singular = isSingular(fit),
      fit_messages = I(fitted$notes),
      theta = as.list(getME(fit, "theta")),
      sigma = sigma(fit),
      beta = as.list(fixef(fit)),
      r2 = c(default, list(printed = I(printed)))
    )
    if (isSingular(fit)) entry$tolerance_0 <- r2_fields(fit, 0)
    fits[[method]] <- entry
  }
  list(case = spec$case, description = spec$description, data = spec$data,
       formula = spec$formula,
       factor_levels = if (length(spec$factors)) lapply(spec$factors, I)
                       else setNames(list(), character(0)),
       n_obs = nrow(data), fits = fits)
}

session <- session_fields()
session$package_versions$performance <- as.character(packageVersion("performance"))
session$package_versions$insight <- as.character(packageVersion("insight"))
payload <- c(
  list(
    description = paste(
      "performance::r2_nakagawa (marginal, conditional) and insight::get_variance components",
      "of lme4::lmer fits (default optimizer); made by tests/reference/performance_r2.R"
    ),
    cases = lapply(cases, fit_case)
  ),
  session
)
write_fixture(payload, file.path(root, "performance_r2.json"))
cat("wrote", file.path(root, "performance_r2.json"), "\n")
