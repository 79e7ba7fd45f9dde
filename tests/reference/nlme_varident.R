# Reference fits with a residual variance that differs by stratum
# (nlme::lme with weights = varIdent(form = ~ 1 | stratum)).
#
# Run from the repository root:
#     Rscript tests/reference/nlme_varident.R
#
# Writes tests/reference/data/<dataset>.csv and tests/reference/mixed/<case>.json.
# Models are fitted on the data as read back from the CSV file. Numbers are
# written with the shortest decimal form that reads back as the identical double.
# The helpers for exact CSV/JSON output are in exact_output.R.

suppressPackageStartupMessages({
  library(nlme)
  library(jsonlite)
})

out_mixed <- file.path("tests", "reference", "mixed")
out_data <- file.path("tests", "reference", "data")
if (!dir.exists(file.path("tests", "reference"))) {
  stop("run this script from the repository root: Rscript tests/reference/nlme_varident.R")
}
dir.create(out_mixed, showWarnings = FALSE, recursive = TRUE)
dir.create(out_data, showWarnings = FALSE, recursive = TRUE)
source(file.path("tests", "reference", "exact_output.R"))

# ---------------------------------------------------------------------------
# Extraction of one nlme::lme fit
# ---------------------------------------------------------------------------

lme_fixed_rows <- function(fit) {
  tt <- summary(fit)$tTable
  lapply(seq_len(nrow(tt)), function(i) list(
    term = rownames(tt)[i],
    estimate = tt[i, "Value"],
    std_error = tt[i, "Std.Error"],
    df = tt[i, "DF"],
    t = tt[i, "t-value"],
    p = tt[i, "p-value"]
  ))
}

# Covariance matrices of the random effects per level: pdMatrix() of the
# reStruct is relative to the residual variance of the reference stratum.
lme_random_rows <- function(fit) {
  rel <- pdMatrix(fit$modelStruct$reStruct)
  lapply(names(rel), function(level) {
    v <- rel[[level]] * fit$sigma^2
    sds <- sqrt(diag(v))
    cor <- v / outer(sds, sds)
    diag(cor) <- 1
    list(
      level = level,
      pd_class = class(fit$modelStruct$reStruct[[level]])[1],
      terms = I(rownames(v)),
      covariance = rows_of(v),
      sd = as.list(setNames(sds, rownames(v))),
      correlation = rows_of(cor)
    )
  })
}

extract_lme <- function(fit, notes) {
  ll <- logLik(fit)
  ratios <- coef(fit$modelStruct$varStruct, unconstrained = FALSE, allCoef = TRUE)
  ngrps <- fit$dims$ngrps[seq_len(fit$dims$Q)]
  vb <- vcov(fit)
  list(
    method = fit$method,
    loglik = as.numeric(ll),
    deviance = as.numeric(-2 * ll),
    n_params = attr(ll, "df"),
    aic = AIC(fit),
    bic = BIC(fit),
    n_obs = fit$dims$N,
    groups = as.list(rev(ngrps)),
    converged = TRUE,
    approximate_vcov_ok = is.matrix(fit$apVar),
    messages = I(notes),
    sigma = fit$sigma,
    varident_ratios = as.list(ratios),
    residual_sd_by_stratum = as.list(fit$sigma * ratios),
    fixed_effects = lme_fixed_rows(fit),
    random_effects = lme_random_rows(fit),
    fitted_head = I(unname(head(fitted(fit), 10))),
    residuals_head = I(unname(head(residuals(fit), 10))),
    vcov_beta_terms = I(colnames(vb)),
    vcov_beta = rows_of(vb)
  )
}

lme_control <- lmeControl(maxIter = 500, msMaxIter = 500, niterEM = 50, returnObject = FALSE)

fit_lme <- function(fixed, random, weights, data, method) {
  collect(lme(fixed, random = random, weights = weights, data = data, method = method,
              control = lme_control))
}

# Compact summary of an lme4 fit of the same model without weights.
extract_lmer <- function(fit) {
  ll <- logLik(fit)
  cf <- summary(fit)$coefficients
  vc <- as.data.frame(lme4::VarCorr(fit))
  list(
    loglik = as.numeric(ll),
    deviance = as.numeric(-2 * ll),
    converged = length(fit@optinfo$conv$lme4$messages) == 0,
    messages = I(as.character(fit@optinfo$conv$lme4$messages)),
    sigma = sigma(fit),
    fixed_effects = lapply(seq_len(nrow(cf)), function(i) list(
      term = rownames(cf)[i], estimate = cf[i, "Estimate"], std_error = cf[i, "Std. Error"]
    )),
    random_effects = lapply(seq_len(nrow(vc)), function(i) list(
      group = vc$grp[i],
      term1 = if (is.na(vc$var1[i])) NULL else vc$var1[i],
      term2 = if (is.na(vc$var2[i])) NULL else vc$var2[i],
      vcov = vc$vcov[i],
      sdcor = vc$sdcor[i]
    ))
  )
}

# lme4 and nlme fits of the same model without variance weights, REML and ML:
# whether the two log-likelihoods agree (do they include the same constants?).
unweighted_check <- function(lme_fixed, lme_random, lmer_formula, data) {
  X <- model.matrix(lme_fixed, data)
  half_logdet_xtx <- as.numeric(0.5 * determinant(crossprod(X), logarithm = TRUE)$modulus)
  lapply(c(REML = "REML", ML = "ML"), function(method) {
    f_nlme <- fit_lme(lme_fixed, lme_random, NULL, data, method)
    f_lme4 <- collect(lme4::lmer(lmer_formula, data = data, REML = method == "REML"))
    ll_nlme <- as.numeric(logLik(f_nlme$value))
    ll_lme4 <- as.numeric(logLik(f_lme4$value))
    list(
      lme4_formula = paste(deparse(lmer_formula), collapse = ""),
      lme4_loglik = ll_lme4,
      nlme_loglik = ll_nlme,
      difference_nlme_minus_lme4 = ll_nlme - ll_lme4,
      half_log_det_XtX = half_logdet_xtx,
      lme4 = extract_lmer(f_lme4$value),
      nlme = extract_lme(f_nlme$value, f_nlme$notes)
    )
  })
}

run_case <- function(case, source, data_name, data, fixed, random, random_text, weights, weights_text,
                     lmer_formula) {
  cat(case, "\n")
  fits <- list()
  for (method in c("REML", "ML")) {
    res <- fit_lme(fixed, random, weights, data, method)
    fits[[method]] <- extract_lme(res$value, res$notes)
  }
  payload <- c(
    list(
      case = case,
      description = source,
      data = paste0(data_name, ".csv"),
      fixed_formula = paste(deparse(fixed), collapse = ""),
      random = random_text,
      weights = weights_text,
      factor_levels = lapply(Filter(is.factor, data), function(v) I(levels(v))),
      notes = paste(
        "sigma is the residual SD of the reference stratum (ratio 1); residual_sd_by_stratum = sigma * ratio.",
        "Random-effect covariances are pdMatrix(reStruct) * sigma^2.",
        "loglik is nlme's logLik(); deviance = -2 * loglik (the REML criterion under REML).",
        "constant_check: the same model without weights fitted by lme4 and by nlme; the log-likelihoods",
        "agree up to optimizer tolerance, so both packages include the same constants."
      ),
      fits = fits,
      constant_check = unweighted_check(fixed, random, lmer_formula, data)
    ),
    session_fields()
  )
  write_fixture(payload, file.path(out_mixed, paste0(case, ".json")))
}

# ---------------------------------------------------------------------------
# Data sets
# ---------------------------------------------------------------------------

# Joint-rater alliance study: every assessment is rated by the patient and by
# the therapist. 50 therapists, 150 patients (1-6 per therapist); the first
# 3-5 assessments of the schedule 3, 12, 20, 40, 60 plus, for 40% of patients,
# a termination assessment 1-20 sessions after the last scheduled one;
# time = log(session); 5% of ratings missing at random.
simulate_joint_rater <- function() {
  set.seed(20130484)
  n_ther <- 50
  n_pat <- 150
  per <- rep(1L, n_ther)
  while (sum(per) < n_pat) {
    j <- sample.int(n_ther, 1)
    if (per[j] < 6L) per[j] <- per[j] + 1L
  }
  cov_from <- function(sd, r) diag(sd) %*% matrix(c(1, r, r, 1), 2) %*% diag(sd)
  u_t <- matrix(rnorm(2 * n_ther), n_ther) %*% chol(cov_from(c(0.25, 0.35), 0.30))
  u_p <- matrix(rnorm(2 * n_pat), n_pat) %*% chol(cov_from(c(0.55, 0.45), 0.50))
  ther_of <- rep(seq_len(n_ther), per)
  schedule <- c(3, 12, 20, 40, 60)
  level <- c(patient = 5.4, therapist = 4.9)
  slope <- c(patient = 0.20, therapist = 0.30)
  resid_sd <- c(patient = 0.50, therapist = 0.30)
  rows <- vector("list", n_pat)
  for (i in seq_len(n_pat)) {
    sessions <- schedule[seq_len(sample(3:5, 1))]
    if (runif(1) < 0.4) sessions <- c(sessions, max(sessions) + sample.int(20, 1))
    t <- ther_of[i]
    d <- expand.grid(session = sessions, rater = c("patient", "therapist"), stringsAsFactors = FALSE)
    d <- d[order(d$session), ]
    r <- match(d$rater, c("patient", "therapist"))
    d$time <- log(d$session)
    d$wai <- level[d$rater] + slope[d$rater] * d$time + u_t[t, r] + u_p[i, r] +
      rnorm(nrow(d), sd = resid_sd[d$rater])
    rows[[i]] <- data.frame(
      therapist = sprintf("T%02d", t),
      patient = sprintf("P%03d", i),
      d[c("session", "time", "rater", "wai")]
    )
  }
  out <- do.call(rbind, rows)
  out <- out[runif(nrow(out)) > 0.05, ]
  rownames(out) <- NULL
  out
}

joint_description <- paste(
  "Simulated joint-rater alliance study (set.seed(20130484)): 50 therapists, 150 patients (1-6 per therapist),",
  "each assessment rated by patient and therapist, 3-6 assessments per patient at sessions 3, 12, 20, 40, 60",
  "(truncated) plus an optional termination assessment, 5% of ratings missing; time = log(session);",
  "wai = 5.4 + 0.20 time (patient rater) or 4.9 + 0.30 time (therapist rater) + rater-specific random",
  "intercepts for therapist (sd 0.25, 0.35, cor 0.3) and patient (sd 0.55, 0.45, cor 0.5)",
  "+ residual N(0, sd 0.50 patient rater, 0.30 therapist rater)."
)

# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

data("Orthodont", package = "nlme")
ortho <- as.data.frame(Orthodont)
ortho$Subject <- factor(as.character(ortho$Subject), levels = levels(ortho$Subject))
attr(ortho, "formula") <- NULL
ortho <- write_data_exact(ortho, "orthodont")

run_case(
  "orthodont_varident",
  "nlme::Orthodont (Subject converted from an ordered to a plain factor; Sex levels Male, Female)",
  "orthodont", ortho,
  fixed = distance ~ age + Sex,
  random = ~ age | Subject, random_text = "~ age | Subject",
  weights = varIdent(form = ~ 1 | Sex), weights_text = "varIdent(form = ~ 1 | Sex)",
  lmer_formula = distance ~ age + Sex + (age | Subject)
)

joint <- write_data_exact(simulate_joint_rater(), "joint_rater_sim")
run_case(
  "joint_rater_varident",
  joint_description,
  "joint_rater_sim", joint,
  fixed = wai ~ 0 + rater + rater:time,
  random = ~ 0 + rater | therapist / patient, random_text = "~ 0 + rater | therapist/patient",
  weights = varIdent(form = ~ 1 | rater), weights_text = "varIdent(form = ~ 1 | rater)",
  lmer_formula = wai ~ 0 + rater + rater:time + (0 + rater | therapist / patient)
)

cat("done\n")
