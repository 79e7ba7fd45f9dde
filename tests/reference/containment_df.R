# Denominator df of the fixed effects on real data the lme4 parity fixtures do not use:
# lmerTest's Satterthwaite df (with lme4's theta and sigma, so that the df can be checked
# at lme4's own optimum) and nlme's containment df, for the cases of issue 9 (criteria 5
# and 6) and the High School and Beyond model of Raudenbush & Bryk (2002, Table 4.5).
#
# Run from the repository root (about 30 s):
#     Rscript tests/reference/containment_df.R
#
# It reads the data written by lme4_corpus.R (tests/reference/corpus/data/*.csv, read back
# exactly as the Python tests read them) and writes tests/reference/containment_df.json.
# Deterministic: no random numbers.

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(nlme)
  library(jsonlite)
})

root <- file.path("tests", "reference")
if (!dir.exists(root)) {
  stop("run this script from the repository root: Rscript tests/reference/containment_df.R")
}
source(file.path(root, "exact_output.R"))

cases <- list(
  list(
    case = "orthodont_interaction", data = "orthodont.csv",
    description = paste("nlme::Orthodont; a cross-level interaction whose level-1 slope is not",
                        "random (issue 9)"),
    factors = list(Sex = c("Male", "Female")), as_factor = "Subject",
    formula = "distance ~ age * Sex + (1 | Subject)",
    fixed = distance ~ age * Sex, random = ~ 1 | Subject
  ),
  list(
    case = "star_kindergarten", data = "star_kindergarten.csv",
    description = "mlmRev::star, kindergarten; class-level predictors in a three-level model (issue 9)",
    factors = list(), as_factor = c("sch", "tch"),
    formula = "math ~ small + aide + (1 | sch/tch)",
    fixed = math ~ small + aide, random = ~ 1 | sch/tch
  ),
  list(
    case = "hsb82_table_4_5", data = "hsb82.csv",
    description = paste("mlmRev::Hsb82; Raudenbush & Bryk (2002) Table 4.5, the intercepts- and",
                        "slopes-as-outcomes model (catholic = sector, cses = group-centred SES);",
                        "HLM reports 157 df for every coefficient (160 schools)"),
    factors = list(), as_factor = "school",
    formula = "mAch ~ (meanses + catholic) * cses + (cses | school)",
    fixed = mAch ~ (meanses + catholic) * cses, random = ~ cses | school
  ),
  list(
    case = "hsb82_fixed_slope", data = "hsb82.csv",
    description = "mlmRev::Hsb82; the model of Table 4.5 with a non-random cses slope",
    factors = list(), as_factor = "school",
    formula = "mAch ~ (meanses + catholic) * cses + (1 | school)",
    fixed = mAch ~ (meanses + catholic) * cses, random = ~ 1 | school
  ),
  list(
    case = "egsingle_three_level", data = "egsingle.csv",
    description = "mlmRev::egsingle; growth in children in schools, a school-level predictor",
    factors = list(), as_factor = c("schoolid", "childid"),
    formula = "math ~ year * lowinc + (year | schoolid/childid)",
    fixed = math ~ year * lowinc, random = ~ year | schoolid/childid
  ),
  list(
    case = "bdf_slope", data = "bdf.csv",
    description = "mlmRev::bdf; a random IQ slope and fixed pupil-level predictors",
    factors = list(Minority = c("N", "Y")), as_factor = "schoolNR",
    formula = "langPOST ~ IQ_verb + ses + Minority + (IQ_verb | schoolNR)",
    fixed = langPOST ~ IQ_verb + ses + Minority, random = ~ IQ_verb | schoolNR
  )
)

fit_case <- function(spec) {
  data <- read_data(file.path("corpus", "data", spec$data), spec$factors, character(0))
  for (col in spec$as_factor) data[[col]] <- factor(data[[col]])
  lmer_fit <- collect(lmerTest::lmer(as.formula(spec$formula), data = data, REML = TRUE))
  fit <- lmer_fit$value
  coefs <- summary(fit)$coefficients
  lme_fit <- collect(nlme::lme(spec$fixed, random = spec$random, data = data, method = "REML",
                               control = lmeControl(opt = "optim")))
  table <- summary(lme_fit$value)$tTable
  conv <- fit@optinfo$conv$lme4$messages
  list(
    case = spec$case,
    description = spec$description,
    data = file.path("corpus", "data", spec$data),
    formula = spec$formula,
    factor_levels = if (length(spec$factors)) lapply(spec$factors, I) else setNames(list(), character(0)),
    n_obs = nobs(fit),
    groups = as.list(ngrps(fit)),
    lme4 = list(
      converged = is.null(conv) || all(conv == "boundary (singular) fit: see help('isSingular')"),
      messages = I(lmer_fit$notes),
      reml_criterion = REMLcrit(fit),
      theta = as.list(getME(fit, "theta")),
      sigma = sigma(fit),
      fixed_effects = lapply(seq_len(nrow(coefs)), function(i) list(
        term = rownames(coefs)[i],
        estimate = coefs[i, "Estimate"],
        std_error = coefs[i, "Std. Error"],
        satterthwaite_df = coefs[i, "df"]
      ))
    ),
    nlme = list(
      messages = I(lme_fit$notes),
      minus_two_loglik = -2 * as.numeric(logLik(lme_fit$value)),
      fixed_effects = lapply(seq_len(nrow(table)), function(i) list(
        term = rownames(table)[i],
        estimate = table[i, "Value"],
        containment_df = table[i, "DF"]
      ))
    )
  )
}

payload <- c(
  list(
    description = paste(
      "lmerTest Satterthwaite df (REML, default optimizer) and nlme containment df (REML)",
      "on data of tests/reference/corpus/data; made by tests/reference/containment_df.R"
    ),
    cases = lapply(cases, fit_case)
  ),
  session_fields()
)
write_fixture(payload, file.path(root, "containment_df.json"))
cat("wrote", file.path(root, "containment_df.json"), "\n")
