# Likelihood-ratio tests of the study's model-comparison sequence, as lme4's anova(m0, m1)
# computes them (REML fits refitted by ML; here every model is fitted by ML directly, which is
# what anova compares), on the simulated three-level alliance study, with the boundary-corrected
# p value of each variance-component test: the 50:50 mixture of chi-square(df - 1) and
# chi-square(df) (Self & Liang 1987; Stram & Lee 1994), for one added random effect with its
# covariances.
#
# Run from the repository root (a few seconds):
#     Rscript tests/reference/model_comparison.R
#
# Reads tests/reference/data/alliance_sim.csv and writes tests/reference/model_comparison.json.
# Deterministic: no random numbers.

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

root <- file.path("tests", "reference")
if (!dir.exists(root)) {
  stop("run this script from the repository root: Rscript tests/reference/model_comparison.R")
}
source(file.path(root, "exact_output.R"))

data <- read.csv(file.path(root, "data", "alliance_sim.csv"), stringsAsFactors = FALSE)
data$therapist <- factor(data$therapist)
data$patient <- factor(data$patient)

# name, formula, kind of the test against the model before it
models <- list(
  list(name = "null", formula = "wai ~ 1 + (1 | therapist/patient)", test = NA_character_),
  list(name = "fixed time", formula = "wai ~ time + (1 | therapist/patient)",
       test = "fixed effects"),
  list(name = "patient slopes",
       formula = "wai ~ time + (1 | therapist) + (time | patient:therapist)",
       test = "variance components"),
  list(name = "unconditional growth", formula = "wai ~ time + (time | therapist/patient)",
       test = "variance components"),
  list(name = "conditional growth",
       formula = "wai ~ time * (burdens + satisfactions) + (time | therapist/patient)",
       test = "fixed effects")
)

fits <- lapply(models, function(m) {
  collect(lmer(as.formula(m$formula), data = data, REML = FALSE))
})

model_rows <- lapply(seq_along(models), function(i) {
  fit <- fits[[i]]$value
  list(name = models[[i]]$name, formula = models[[i]]$formula,
       n_params = attr(logLik(fit), "df"), deviance = deviance(fit), aic = AIC(fit),
       bic = BIC(fit), singular = isSingular(fit), fit_messages = I(fits[[i]]$notes))
})

tests <- lapply(seq_along(models)[-1], function(i) {
  table <- anova(fits[[i - 1]]$value, fits[[i]]$value)
  chisq <- table$Chisq[2]
  df <- table$Df[2]
  p_chisq <- table[["Pr(>Chisq)"]][2]
  kind <- models[[i]]$test
  p <- if (kind == "variance components") {
    0.5 * pchisq(chisq, df, lower.tail = FALSE) + 0.5 * pchisq(chisq, df - 1, lower.tail = FALSE)
  } else {
    p_chisq
  }
  list(smaller = models[[i - 1]]$name, larger = models[[i]]$name, kind = kind,
       chi_square = chisq, df = df, p_chi_square = p_chisq, p = p)
})

payload <- c(
  list(
    description = paste(
      "lme4::anova(m0, m1) of ML fits of the model-comparison sequence on alliance_sim.csv;",
      "p of variance-component tests: 50:50 mixture of chi-square(df - 1) and chi-square(df);",
      "made by tests/reference/model_comparison.R"
    ),
    data = "data/alliance_sim.csv",
    models = model_rows,
    tests = tests
  ),
  session_fields()
)
write_fixture(payload, file.path(root, "model_comparison.json"))
cat("wrote", file.path(root, "model_comparison.json"), "\n")
