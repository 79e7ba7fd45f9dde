# Kenward-Roger inference for the fixed effects with pbkrtest / lmerTest, on real data.
#
# Run from the repository root (about 20 s):
#     Rscript tests/reference/kenward_roger.R
#
# For each case it fits the model by REML with lmerTest::lmer (default optimizer) on the CSV
# as the Python tests read it, and records lme4's theta and sigma (so the numbers can be
# checked at lme4's own optimum), the unadjusted covariance vcov(m), pbkrtest::vcovAdj(m),
# the fixed-effects table of summary(m, ddf = "Kenward-Roger") (SEs from vcovAdj, df from
# pbkrtest::Lb_ddf) next to the Satterthwaite df, and pbkrtest::KRmodcomp F tests of
# multi-row restriction matrices. Writes tests/reference/kenward_roger.json.
# Deterministic: no random numbers.

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(pbkrtest)
  library(jsonlite)
})

root <- file.path("tests", "reference")
if (!dir.exists(root)) {
  stop("run this script from the repository root: Rscript tests/reference/kenward_roger.R")
}
out_data <- file.path(root, "data")
source(file.path(root, "exact_output.R"))

cases <- list(
  list(case = "sleepstudy_corr", data = "data/sleepstudy.csv",
       description = "lme4::sleepstudy", factors = list(), as_factor = "Subject",
       formula = "Reaction ~ Days + (Days | Subject)", tests = list()),
  list(case = "sleepstudy_uncorr", data = "data/sleepstudy.csv",
       description = "lme4::sleepstudy, uncorrelated intercept and slope",
       factors = list(), as_factor = "Subject",
       formula = "Reaction ~ Days + (Days || Subject)", tests = list()),
  list(case = "orthodont_interaction", data = "data/orthodont.csv",
       description = "nlme::Orthodont (Sex levels Male, Female)",
       factors = list(Sex = c("Male", "Female")), as_factor = "Subject",
       formula = "distance ~ age * Sex + (age | Subject)",
       tests = list(c("SexFemale", "age:SexFemale"))),
  list(case = "pastes_nested", data = "data/pastes.csv",
       description = "lme4::Pastes, casks in batches", factors = list(),
       as_factor = c("batch", "cask"), formula = "strength ~ 1 + (1 | batch/cask)",
       tests = list()),
  list(case = "pixel", data = "data/pixel.csv",
       description = "nlme::Pixel, sides within dogs", factors = list(),
       as_factor = c("Dog", "Side"),
       formula = "pixel ~ day + I(day^2) + (day | Dog) + (1 | Side:Dog)",
       tests = list(c("day", "I(day^2)"))),
  list(case = "alliance_sim_corr", data = "data/alliance_sim.csv",
       description = "simulated three-level alliance study (tests/reference/lme4_parity.R)",
       factors = list(), as_factor = c("therapist", "patient"),
       formula = "wai ~ time * (burdens + satisfactions) + (time | therapist/patient)",
       tests = list(c("time:burdens", "time:satisfactions"),
                    c("burdens", "satisfactions", "time:burdens", "time:satisfactions"))),
  list(case = "exam_slope", data = "corpus/data/exam.csv",
       description = "mlmRev::Exam, 4059 students in 65 schools",
       factors = list(sex = c("F", "M")), as_factor = "school",
       formula = "normexam ~ standLRT + sex + schavg + (standLRT | school)",
       tests = list(c("sexM", "schavg"))),
  list(case = "dyestuff2_boundary", data = "data/dyestuff2.csv",
       description = "lme4::Dyestuff2: the Batch variance is estimated as 0 (a boundary fit)",
       factors = list(), as_factor = "Batch", formula = "Yield ~ 1 + (1 | Batch)",
       tests = list())
)

matrix_rows <- function(m) lapply(seq_len(nrow(m)), function(i) I(unname(as.numeric(m[i, ]))))

fit_case <- function(spec) {
  data <- read_data(spec$data, spec$factors, spec$as_factor)
  res <- collect(lmerTest::lmer(as.formula(spec$formula), data = data, REML = TRUE))
  fit <- res$value
  kr <- summary(fit, ddf = "Kenward-Roger")$coefficients
  satt <- summary(fit, ddf = "Satterthwaite")$coefficients
  adjusted <- as.matrix(vcovAdj(fit))
  names_beta <- names(fixef(fit))
  tests <- lapply(spec$tests, function(terms) {
    L <- matrix(0, length(terms), length(names_beta))
    for (i in seq_along(terms)) L[i, match(terms[i], names_beta)] <- 1
    stats <- KRmodcomp(fit, L)$stats
    list(terms = I(terms), ndf = stats$ndf, ddf = stats$ddf, statistic = stats$Fstat,
         p_value = stats$p.value, scaling = stats$F.scaling, unscaled = stats$FstatU)
  })
  conv <- fit@optinfo$conv$lme4$messages
  list(
    case = spec$case,
    description = spec$description,
    data = spec$data,
    formula = spec$formula,
    factor_levels = if (length(spec$factors)) lapply(spec$factors, I) else setNames(list(), character(0)),
    n_obs = nobs(fit),
    groups = as.list(ngrps(fit)),
    converged = is.null(conv) || all(conv == "boundary (singular) fit: see help('isSingular')"),
    singular = isSingular(fit),
    messages = I(res$notes),
    reml_criterion = REMLcrit(fit),
    theta = as.list(getME(fit, "theta")),
    sigma = sigma(fit),
    terms = I(names_beta),
    vcov = matrix_rows(as.matrix(vcov(fit))),
    vcov_adjusted = matrix_rows(adjusted),
    fixed_effects = lapply(seq_len(nrow(kr)), function(i) list(
      term = rownames(kr)[i],
      estimate = kr[i, "Estimate"],
      std_error = satt[i, "Std. Error"],
      satterthwaite_df = satt[i, "df"],
      kr_std_error = kr[i, "Std. Error"],
      kr_df = kr[i, "df"],
      kr_t = kr[i, "t value"],
      kr_p = kr[i, "Pr(>|t|)"]
    )),
    f_tests = tests
  )
}

payload <- c(
  list(
    description = paste(
      "pbkrtest Kenward-Roger adjusted covariance, t-test df (lmerTest summary with",
      "ddf = 'Kenward-Roger') and KRmodcomp F tests, REML fits with lmerTest::lmer;",
      "made by tests/reference/kenward_roger.R"
    ),
    cases = lapply(cases, fit_case)
  ),
  session_fields()
)
write_fixture(payload, file.path(root, "kenward_roger.json"))
cat("wrote", file.path(root, "kenward_roger.json"), "\n")
