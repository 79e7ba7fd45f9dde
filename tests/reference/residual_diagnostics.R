# Residual diagnostics of a three-level growth model as R draws them: the conditional
# residuals and fitted values of lme4::lmer (residuals(), fitted(): random effects included),
# the conditional modes of each random effect (ranef()), and for each of these sets the normal
# quantile-quantile coordinates of stats::qqnorm (plotting positions stats::ppoints) and the
# reference line of stats::qqline (through the first and third quartiles, type 7).
#
# Run from the repository root (a few seconds):
#     Rscript tests/reference/residual_diagnostics.R
#
# Reads tests/reference/data/alliance_sim.csv and tests/reference/data/sleepstudy.csv and
# writes tests/reference/residual_diagnostics.json. Deterministic: no random numbers.

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

root <- file.path("tests", "reference")
if (!dir.exists(root)) {
  stop("run this script from the repository root: Rscript tests/reference/residual_diagnostics.R")
}
source(file.path(root, "exact_output.R"))

# qqnorm coordinates in the order of the sorted values, and qqline's intercept and slope
qq <- function(values) {
  points <- qqnorm(values, plot.it = FALSE)
  order <- order(points$y)
  y <- quantile(values, c(0.25, 0.75), names = FALSE, type = 7)
  x <- qnorm(c(0.25, 0.75))
  slope <- diff(y) / diff(x)
  list(n = length(values), theoretical = I(points$x[order]), sample = I(points$y[order]),
       line = list(intercept = y[1L] - slope * x[1L], slope = slope))
}

cases <- list(
  list(case = "alliance_sim_corr", data = "data/alliance_sim.csv",
       description = "simulated three-level alliance study (tests/reference/lme4_parity.R)",
       as_factor = c("therapist", "patient"),
       formula = "wai ~ time * (burdens + satisfactions) + (time | therapist/patient)"),
  list(case = "sleepstudy_corr", data = "data/sleepstudy.csv",
       description = "lme4::sleepstudy; correlated random intercept and slope",
       as_factor = "Subject", formula = "Reaction ~ Days + (Days | Subject)")
)

fit_case <- function(spec) {
  data <- read.csv(file.path(root, spec$data), stringsAsFactors = FALSE)
  for (col in spec$as_factor) data[[col]] <- factor(data[[col]])
  fit <- lmer(as.formula(spec$formula), data = data, REML = TRUE)
  modes <- ranef(fit)
  random <- list()
  for (level in names(modes)) {
    for (term in names(modes[[level]])) {
      random[[length(random) + 1L]] <- c(list(level = level, term = term),
                                         qq(modes[[level]][[term]]))
    }
  }
  list(case = spec$case, description = spec$description, data = spec$data,
       formula = spec$formula, n_obs = nrow(data), sigma = sigma(fit),
       residual = qq(residuals(fit)),
       fitted_sum = sum(fitted(fit)), fitted_sum_of_squares = sum(fitted(fit)^2),
       small_sample = qq(residuals(fit)[1:8]),
       random = random)
}

payload <- c(
  list(
    description = paste(
      "qqnorm/qqline coordinates of the conditional residuals and of the conditional modes",
      "of lme4::lmer fits (REML, default optimizer), and the sum and sum of squares of the",
      "fitted values; small_sample is qqnorm of the first 8 residuals (ppoints' a = 3/8);",
      "made by tests/reference/residual_diagnostics.R"
    ),
    cases = lapply(cases, fit_case)
  ),
  session_fields()
)
write_fixture(payload, file.path(root, "residual_diagnostics.json"))
cat("wrote", file.path(root, "residual_diagnostics.json"), "\n")
