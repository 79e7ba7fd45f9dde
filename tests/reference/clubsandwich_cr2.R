# CR2 cluster-robust standard errors with Satterthwaite (Bell-McCaffrey) df, by clubSandwich,
# on real data.
#
# Run from the repository root (about 15 s):
#     Rscript tests/reference/clubsandwich_cr2.R
#
# For each case it fits the model by REML (lmerTest::lmer with the default optimizer, or
# nlme::lme for a varIdent model) on the CSV as the Python tests read it, and records
# coef_test(m, vcov = "CR2", test = "Satterthwaite"), vcovCR(m, type = "CR2") and, for lmer
# fits, lme4's theta and sigma (so the numbers can be checked at lme4's own optimum).
# Clusters: the outermost grouping factor (clubSandwich's default) unless `cluster` names a
# coarser column. Writes tests/reference/clubsandwich_cr2.json. Deterministic.

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(nlme)
  library(clubSandwich)
  library(jsonlite)
})

root <- file.path("tests", "reference")
if (!dir.exists(root)) {
  stop("run this script from the repository root: Rscript tests/reference/clubsandwich_cr2.R")
}
out_data <- file.path(root, "data")
source(file.path(root, "exact_output.R"))

cases <- list(
  list(case = "sleepstudy_corr", data = "data/sleepstudy.csv", engine = "lmer",
       description = "lme4::sleepstudy; clusters: Subject", factors = list(),
       as_factor = "Subject", formula = "Reaction ~ Days + (Days | Subject)", cluster = NULL),
  list(case = "orthodont_interaction", data = "data/orthodont.csv", engine = "lmer",
       description = "nlme::Orthodont (Sex levels Male, Female); clusters: Subject",
       factors = list(Sex = c("Male", "Female")), as_factor = "Subject",
       formula = "distance ~ age * Sex + (age | Subject)", cluster = NULL),
  list(case = "alliance_sim_corr", data = "data/alliance_sim.csv", engine = "lmer",
       description = "simulated three-level alliance study; clusters: therapist",
       factors = list(), as_factor = c("therapist", "patient"),
       formula = "wai ~ time * (burdens + satisfactions) + (time | therapist/patient)",
       cluster = NULL),
  list(case = "exam_slope", data = "corpus/data/exam.csv", engine = "lmer",
       description = "mlmRev::Exam, 4059 students in 65 schools; clusters: school",
       factors = list(sex = c("F", "M")), as_factor = "school",
       formula = "normexam ~ standLRT + sex + schavg + (standLRT | school)", cluster = NULL),
  list(case = "pastes_by_batch", data = "data/pastes.csv", engine = "lmer",
       description = paste("lme4::Pastes, a random intercept per sample (cask within batch);",
                           "clusters: batch, a column coarser than the model's grouping"),
       factors = list(), as_factor = c("batch", "sample"),
       formula = "strength ~ 1 + (1 | sample)", cluster = "batch"),
  list(case = "orthodont_varident", data = "data/orthodont.csv", engine = "lme",
       description = paste("nlme::Orthodont, nlme::lme with varIdent(form = ~ 1 | Sex);",
                           "clusters: Subject"),
       factors = list(Sex = c("Male", "Female")), as_factor = "Subject",
       formula = "distance ~ age + Sex + (age | Subject)", residual_groups = "Sex",
       fixed = distance ~ age + Sex, random = ~ age | Subject,
       weights = varIdent(form = ~ 1 | Sex), cluster = NULL)
)

matrix_rows <- function(m) lapply(seq_len(nrow(m)), function(i) I(unname(as.numeric(m[i, ]))))

fit_case <- function(spec) {
  data <- read_data(spec$data, spec$factors, spec$as_factor)
  if (spec$engine == "lmer") {
    res <- collect(lmerTest::lmer(as.formula(spec$formula), data = data, REML = TRUE))
  } else {
    res <- collect(nlme::lme(spec$fixed, random = spec$random, weights = spec$weights,
                             data = data, method = "REML"))
  }
  fit <- res$value
  vc <- if (is.null(spec$cluster)) vcovCR(fit, type = "CR2") else
    vcovCR(fit, type = "CR2", cluster = data[[spec$cluster]])
  tests <- coef_test(fit, vcov = vc, test = "Satterthwaite")
  out <- list(
    case = spec$case,
    description = spec$description,
    data = spec$data,
    engine = spec$engine,
    formula = spec$formula,
    residual_groups = spec$residual_groups,
    cluster = spec$cluster,
    n_clusters = nlevels(attr(vc, "cluster")),
    factor_levels = if (length(spec$factors)) lapply(spec$factors, I) else setNames(list(), character(0)),
    n_obs = nrow(data),
    messages = I(res$notes),
    terms = I(rownames(tests)),
    vcov_cr2 = matrix_rows(as.matrix(vc)),
    fixed_effects = lapply(seq_len(nrow(tests)), function(i) list(
      term = tests$Coef[i],
      estimate = tests$beta[i],
      std_error = tests$SE[i],
      df = tests$df_Satt[i],
      t = tests$tstat[i],
      p = tests$p_Satt[i]
    ))
  )
  if (spec$engine == "lmer") {
    out$reml_criterion <- REMLcrit(fit)
    out$theta <- as.list(getME(fit, "theta"))
    out$sigma <- sigma(fit)
  } else {
    out$minus_two_loglik <- -2 * as.numeric(logLik(fit))
    out$sigma <- fit$sigma
    out$variance_ratios <- as.list(coef(fit$modelStruct$varStruct, unconstrained = FALSE,
                                        allCoef = TRUE))
  }
  out
}

payload <- c(
  list(
    description = paste(
      "clubSandwich CR2 cluster-robust covariance and coef_test(test = 'Satterthwaite'),",
      "REML fits; made by tests/reference/clubsandwich_cr2.R"
    ),
    cases = lapply(cases, fit_case)
  ),
  session_fields(),
  list(clubsandwich_version = as.character(packageVersion("clubSandwich")))
)
write_fixture(payload, file.path(root, "clubsandwich_cr2.json"))
cat("wrote", file.path(root, "clubsandwich_cr2.json"), "\n")
