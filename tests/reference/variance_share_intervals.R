# Reference intervals for variance components and variance shares (ICCs) with lme4.
#
# Run from the repository root:
#     Rscript tests/reference/variance_share_intervals.R     # about 10 minutes (egsingle)
#
# Writes tests/reference/variance_share_intervals.json. For each case it fits the model by
# REML (lme4::lmer, default optimizer) on a CSV already under tests/reference/ and runs
# lme4::bootMer(type = "parametric", use.u = FALSE) with a fixed seed: each replicate draws new
# random effects and residuals from the fitted model and refits. From every replicate it keeps
# the SDs (named as confint(oldNames = FALSE): sd_<term>|<group>, sigma) and the variance shares
#
#     share = sum(sd_k^2, k in numerator) / sum(sd_k^2, k in denominator)
#
# (the numerator and denominator lists are written to the JSON, so that the test computes the
# same functions). Stored per quantity: the estimate, the type-7 quantiles of the replicates at
# probs (R's quantile(), numpy's default "linear"), and the Monte-Carlo standard error of each
# quantile from the order statistics: with m = B p and s = sqrt(B p (1 - p)),
# (x_(ceiling(m + s)) - x_(floor(m - s))) / 2, the half width of the distribution-free
# one-standard-error interval of the p-quantile (David & Nagaraja 2003, sec. 7.1).
# Replicates where the denominator is 0 give no share (NaN) and are counted.
#
# Also: confint(method = "profile", oldNames = FALSE) of the three-level alliance_sim model's
# covariance parameters (95%), and of the singular dyestuff2 fit at 90% (the one-sided 95%
# upper limit of an SD estimated at 0).

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

if (!dir.exists(file.path("tests", "reference"))) {
  stop("run this script from the repository root: Rscript tests/reference/variance_share_intervals.R")
}
out_data <- file.path("tests", "reference", "data")
source(file.path("tests", "reference", "exact_output.R"))

n_boot <- 1000L
probs <- c(0.025, 0.05, 0.5, 0.95, 0.975)

read_case_data <- function(path, factors) {
  d <- read.csv(path, stringsAsFactors = FALSE)
  for (column in factors) d[[column]] <- factor(d[[column]])
  d
}

# SDs of a fit, named as confint(oldNames = FALSE).
sd_values <- function(fit) {
  vc <- as.data.frame(VarCorr(fit))
  vc <- vc[is.na(vc$var2), ]
  names <- ifelse(vc$grp == "Residual", "sigma", paste0("sd_", vc$var1, "|", vc$grp))
  setNames(vc$sdcor, names)
}

share_values <- function(sds, shares) {
  vapply(shares, function(s) {
    den <- sum(sds[s$denominator]^2)
    if (den > 0) sum(sds[s$numerator]^2) / den else NA_real_
  }, numeric(1))
}

quantile_se <- function(x, p) {
  x <- sort(x[is.finite(x)])
  b <- length(x)
  m <- b * p
  s <- sqrt(b * p * (1 - p))
  hi <- min(b, ceiling(m + s))
  lo <- max(1, floor(m - s))
  (x[hi] - x[lo]) / 2
}

summarise <- function(name, estimate, values, share = NULL) {
  finite <- values[is.finite(values)]
  out <- list(
    name = name,
    estimate = unname(estimate),
    n_used = length(finite),
    probs = I(probs),
    quantiles = I(unname(quantile(finite, probs, type = 7))),
    quantile_se = I(vapply(probs, function(p) quantile_se(finite, p), numeric(1)))
  )
  if (!is.null(share)) {
    out$numerator <- I(share$numerator)
    out$denominator <- I(share$denominator)
  }
  out
}

bootstrap_case <- function(case, formula, path, factors, shares, seed, description) {
  cat(sprintf("%-12s %s\n", case, formula))
  data <- read_case_data(path, factors)
  fit <- lmer(as.formula(formula), data = data, REML = TRUE)
  names(shares) <- vapply(shares, function(s) s$name, character(1))
  sds <- sd_values(fit)
  statistic <- function(m) {
    s <- sd_values(m)
    c(s, share_values(s, shares), singular = as.numeric(isSingular(m)))
  }
  boot <- collect(bootMer(fit, statistic, nsim = n_boot, seed = seed, type = "parametric",
                          use.u = FALSE))
  values <- boot$value$t
  list(
    case = case,
    description = description,
    data = path,
    factors = I(factors),
    formula = formula,
    method = "REML",
    singular = isSingular(fit),
    n_boot = n_boot,
    seed = seed,
    n_singular_replicates = sum(values[, "singular"]),
    messages = I(boot$notes),
    components = lapply(names(sds), function(n) summarise(n, sds[[n]], values[, n])),
    shares = unname(lapply(shares, function(s) {
      summarise(s$name, share_values(sds, list(s)), values[, s$name], s)
    }))
  )
}

share <- function(name, numerator, denominator) {
  list(name = name, numerator = numerator, denominator = denominator)
}

# powerlmm's three shares of a (time | therapist/patient) growth model, for any level names.
growth_shares <- function(outer, inner, slope) {
  t0 <- paste0("sd_(Intercept)|", outer)
  p0 <- paste0("sd_(Intercept)|", inner)
  t1 <- paste0("sd_", slope, "|", outer)
  p1 <- paste0("sd_", slope, "|", inner)
  list(
    share(paste0("share_(Intercept)|", outer), t0, c(t0, p0, "sigma")),
    share(paste0("share_(Intercept)|", inner, "+", outer), c(t0, p0), c(t0, p0, "sigma")),
    share(paste0("share_", slope, "|", outer), t1, c(t1, p1))
  )
}

cases <- list(
  bootstrap_case(
    "sleepstudy", "Reaction ~ Days + (Days | Subject)", "tests/reference/data/sleepstudy.csv",
    "Subject",
    list(share("share_(Intercept)|Subject", "sd_(Intercept)|Subject",
               c("sd_(Intercept)|Subject", "sigma"))),
    20260101L, "lme4::sleepstudy; the subjects' share of the variance at Days = 0"
  ),
  bootstrap_case(
    "pastes", "strength ~ 1 + (1 | batch/cask)", "tests/reference/data/pastes.csv",
    c("batch", "cask"),
    list(share("share_(Intercept)|batch", "sd_(Intercept)|batch",
               c("sd_(Intercept)|batch", "sd_(Intercept)|cask:batch", "sigma")),
         share("share_(Intercept)|cask:batch+batch",
               c("sd_(Intercept)|batch", "sd_(Intercept)|cask:batch"),
               c("sd_(Intercept)|batch", "sd_(Intercept)|cask:batch", "sigma"))),
    20260102L, "lme4::Pastes; the batches' share, and the casks' and batches' together"
  ),
  bootstrap_case(
    "dyestuff2", "Yield ~ 1 + (1 | Batch)", "tests/reference/data/dyestuff2.csv", "Batch",
    list(share("share_(Intercept)|Batch", "sd_(Intercept)|Batch",
               c("sd_(Intercept)|Batch", "sigma"))),
    20260103L, "lme4::Dyestuff2: a singular fit (Batch variance 0), the share on the boundary"
  ),
  bootstrap_case(
    "egsingle", "math ~ year + (year | schoolid/childid)",
    "tests/reference/corpus/data/egsingle.csv", c("schoolid", "childid"),
    growth_shares("schoolid", "childid:schoolid", "year"),
    20260104L, paste("mlmRev::egsingle (a three-level growth model, years in children in",
                     "schools): the schools' share of the variance at year 0 and of growth")
  ),
  bootstrap_case(
    "alliance_sim", "wai ~ time * (burdens + satisfactions) + (time | therapist/patient)",
    "tests/reference/data/alliance_sim.csv", c("therapist", "patient"),
    growth_shares("therapist", "patient:therapist", "time"),
    20260105L, paste("the simulated three-level alliance study of lme4_parity.R: the",
                     "therapists' share of the variance at time 0 and of growth")
  )
)

profile_case <- function(case, formula, path, factors, level) {
  cat(sprintf("%-12s profile at %.2f\n", case, level))
  data <- read_case_data(path, factors)
  fit <- lmer(as.formula(formula), data = data, REML = TRUE)
  res <- collect(confint(fit, parm = "theta_", method = "profile", level = level,
                         oldNames = FALSE))
  ci <- res$value
  list(
    case = case, data = path, factors = I(factors), formula = formula, level = level,
    rows = lapply(seq_len(nrow(ci)), function(i) list(
      parm = rownames(ci)[i], lower = ci[i, 1], upper = ci[i, 2]
    )),
    messages = I(res$notes)
  )
}

profiles <- list(
  profile_case("alliance_sim", "wai ~ time * (burdens + satisfactions) + (time | therapist/patient)",
               "tests/reference/data/alliance_sim.csv", c("therapist", "patient"), 0.95),
  profile_case("dyestuff2", "Yield ~ 1 + (1 | Batch)", "tests/reference/data/dyestuff2.csv",
               "Batch", 0.90)
)

payload <- c(
  list(
    description = paste(
      "Parametric bootstrap (lme4::bootMer, type = 'parametric', use.u = FALSE) percentile",
      "quantiles of SDs and variance shares, with Monte-Carlo SEs of the quantiles; profile",
      "intervals (confint(method = 'profile')) of covariance parameters. See the script header."
    ),
    bootstrap = cases,
    profile = profiles
  ),
  session_fields()
)
write_fixture(payload, file.path("tests", "reference", "variance_share_intervals.json"))
