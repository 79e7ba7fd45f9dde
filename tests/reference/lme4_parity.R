# Reference fits of linear mixed models with lme4 / lmerTest.
#
# Run from the repository root:
#     Rscript tests/reference/lme4_parity.R
#
# For every case it writes the data used to tests/reference/data/<dataset>.csv
# and the fits (REML and ML) to tests/reference/mixed/<case>.json.
# The models are fitted on the data as read back from the CSV file, so the
# fixtures describe exactly what a reader of the CSV gets.  Numbers in the CSV
# and JSON files are written with the shortest decimal form (15, 16 or 17
# significant digits) that reads back as the identical double.

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(jsonlite)
})

out_mixed <- file.path("tests", "reference", "mixed")
out_data <- file.path("tests", "reference", "data")
if (!dir.exists(file.path("tests", "reference"))) {
  stop("run this script from the repository root: Rscript tests/reference/lme4_parity.R")
}
dir.create(out_mixed, showWarnings = FALSE, recursive = TRUE)
dir.create(out_data, showWarnings = FALSE, recursive = TRUE)

has_pbkrtest <- requireNamespace("pbkrtest", quietly = TRUE)

source(file.path("tests", "reference", "exact_output.R"))

singular_message <- "boundary (singular) fit: see help('isSingular')"

fixed_rows <- function(fit, kr_df) {
  cf <- summary(fit)$coefficients
  lapply(seq_len(nrow(cf)), function(i) {
    row <- list(
      term = rownames(cf)[i],
      estimate = cf[i, "Estimate"],
      std_error = cf[i, "Std. Error"],
      df = cf[i, "df"],
      t = cf[i, "t value"],
      p = cf[i, "Pr(>|t|)"]
    )
    if (!is.null(kr_df)) row$kenward_roger_df <- unname(kr_df[i])
    row
  })
}

kenward_roger <- function(fit) {
  if (!has_pbkrtest || !isREML(fit)) return(NULL)
  res <- collect(tryCatch(summary(fit, ddf = "Kenward-Roger")$coefficients, error = function(e) NULL))
  if (is.null(res$value)) return(NULL)
  res$value[, "df"]
}

varcorr_rows <- function(fit) {
  vc <- as.data.frame(VarCorr(fit))
  lapply(seq_len(nrow(vc)), function(i) list(
    group = vc$grp[i],
    term1 = if (is.na(vc$var1[i])) NULL else vc$var1[i],
    term2 = if (is.na(vc$var2[i])) NULL else vc$var2[i],
    vcov = vc$vcov[i],
    sdcor = vc$sdcor[i]
  ))
}

# Conditional modes and conditional variances, per grouping factor.
ranef_rows <- function(fit) {
  re <- ranef(fit, condVar = TRUE)
  out <- list()
  for (g in names(re)) {
    modes <- re[[g]]
    pv <- attr(modes, "postVar")
    terms <- colnames(modes)
    # pv is a q x q x n array, or (for || terms) a list of such arrays, one per term block
    blocks <- if (is.list(pv)) pv else list(pv)
    diag_var <- do.call(cbind, lapply(blocks, function(a) {
      do.call(cbind, lapply(seq_len(dim(a)[1]), function(k) a[k, k, ]))
    }))
    stopifnot(identical(dim(diag_var), dim(as.matrix(modes))))
    rows <- list()
    for (j in seq_len(nrow(modes))) {
      for (k in seq_along(terms)) {
        rows[[length(rows) + 1]] <- list(
          group_level = rownames(modes)[j],
          term = terms[k],
          mode = modes[j, k],
          cond_var = diag_var[j, k]
        )
      }
    }
    out[[g]] <- rows
  }
  out
}

profile_rows <- function(fit) {
  res <- collect(confint(fit, method = "profile", oldNames = FALSE))
  ci <- res$value
  list(
    rows = lapply(seq_len(nrow(ci)), function(i) list(
      parm = rownames(ci)[i], lower = ci[i, 1], upper = ci[i, 2]
    )),
    level = 0.95,
    note = paste("lme4's profile() refits the model by ML before profiling (devfun2 calls refitML),",
                 "so the profile intervals of a REML fit are the ML profile intervals."),
    messages = I(res$notes)
  )
}

wald_rows <- function(fit) {
  ci <- confint(fit, method = "Wald", parm = "beta_")
  lapply(seq_len(nrow(ci)), function(i) list(parm = rownames(ci)[i], lower = ci[i, 1], upper = ci[i, 2]))
}

# Refit with lme4's other optimizers: the smallest deviance found is the best
# available estimate of the optimum (useful when a fit is flagged).
optimizer_check <- function(formula, data, reml) {
  lapply(setNames(nm = c("bobyqa", "Nelder_Mead")), function(opt) {
    res <- collect(lme4::lmer(as.formula(formula), data = data, REML = reml,
                              control = lmerControl(optimizer = opt)))
    fit <- res$value
    conv_msgs <- fit@optinfo$conv$lme4$messages
    list(
      deviance = as.numeric(-2 * logLik(fit)),
      converged = length(setdiff(conv_msgs, singular_message)) == 0,
      messages = I(res$notes),
      theta = as.list(getME(fit, "theta"))
    )
  })
}

extract_fit <- function(fit, notes, with_ci) {
  ll <- logLik(fit)
  conv_msgs <- fit@optinfo$conv$lme4$messages
  if (is.null(conv_msgs)) conv_msgs <- character()
  vb <- as.matrix(vcov(fit))
  out <- list(
    method = if (isREML(fit)) "REML" else "ML",
    deviance = as.numeric(-2 * ll),
    reml_criterion = if (isREML(fit)) REMLcrit(fit) else NULL,
    loglik = as.numeric(ll),
    n_params = attr(ll, "df"),
    aic = AIC(fit),
    bic = BIC(fit),
    n_obs = nobs(fit),
    groups = as.list(ngrps(fit)),
    converged = length(setdiff(conv_msgs, singular_message)) == 0,
    conv_lme4_messages = I(conv_msgs),
    messages = I(unique(c(notes, conv_msgs, unlist(fit@optinfo$warnings)))),
    singular = isSingular(fit),
    optimizer = fit@optinfo$optimizer,
    optimizer_code = fit@optinfo$conv$opt,
    feval = fit@optinfo$feval,
    theta = as.list(getME(fit, "theta")),
    sigma = sigma(fit),
    fixed_effects = fixed_rows(fit, kenward_roger(fit)),
    random_effects = varcorr_rows(fit),
    ranef = ranef_rows(fit),
    fitted_head = I(unname(head(fitted(fit), 10))),
    residuals_head = I(unname(head(residuals(fit), 10))),
    vcov_beta_terms = I(colnames(vb)),
    vcov_beta = rows_of(vb)
  )
  if (with_ci) {
    out$profile_ci <- profile_rows(fit)
    out$wald_ci <- wald_rows(fit)
  }
  out
}

fit_case <- function(case, formula, data, data_name, description, with_ci = FALSE) {
  cat(sprintf("%-28s %s\n", case, formula))
  fits <- list()
  models <- list()
  for (method in c("REML", "ML")) {
    res <- collect(lmerTest::lmer(as.formula(formula), data = data, REML = (method == "REML")))
    models[[method]] <- res$value
    fits[[method]] <- extract_fit(res$value, res$notes, with_ci)
    fits[[method]]$optimizer_check <- optimizer_check(formula, data, method == "REML")
  }
  payload <- c(
    list(
      case = case,
      description = description,
      data = paste0(data_name, ".csv"),
      formula = formula,
      factor_levels = factor_levels(data),
      fits = fits
    ),
    session_fields()
  )
  write_fixture(payload, file.path(out_mixed, paste0(case, ".json")))
  invisible(models)
}

# ---------------------------------------------------------------------------
# Data sets
# ---------------------------------------------------------------------------

plain <- function(df) {
  df <- as.data.frame(df)
  for (col in names(df)) {
    if (is.ordered(df[[col]])) df[[col]] <- factor(as.character(df[[col]]), levels = levels(df[[col]]))
  }
  attr(df, "formula") <- NULL
  df
}

# Three-level alliance study: sessions in patients in therapists.
# 70 therapists, 200 patients (1-6 per therapist). Each patient has the first
# 3-5 assessments of the schedule 3, 12, 20, 40, 60 (treatment ended earlier),
# and 40% of patients have one more assessment at termination, 1-20 sessions
# after the last scheduled one: 3-6 assessments per patient. time = log(session).
simulate_alliance <- function() {
  set.seed(20130483)
  n_ther <- 70
  n_pat <- 200
  per <- rep(1L, n_ther)
  while (sum(per) < n_pat) {
    j <- sample.int(n_ther, 1)
    if (per[j] < 6L) per[j] <- per[j] + 1L
  }
  burdens <- rnorm(n_ther)
  satisfactions <- rnorm(n_ther)
  cov_from <- function(sd, r) diag(sd) %*% matrix(c(1, r, r, 1), 2) %*% diag(sd)
  u_t <- matrix(rnorm(2 * n_ther), n_ther) %*% chol(cov_from(c(0.30, 0.10), -0.30))
  u_p <- matrix(rnorm(2 * n_pat), n_pat) %*% chol(cov_from(c(0.50, 0.15), -0.20))
  ther_of <- rep(seq_len(n_ther), per)
  schedule <- c(3, 12, 20, 40, 60)
  rows <- vector("list", n_pat)
  for (i in seq_len(n_pat)) {
    sessions <- schedule[seq_len(sample(3:5, 1))]
    if (runif(1) < 0.4) sessions <- c(sessions, max(sessions) + sample.int(20, 1))
    t <- ther_of[i]
    time <- log(sessions)
    eta <- 5 + 0.3 * time + 0.1 * burdens[t] + 0.05 * satisfactions[t] -
      0.05 * time * burdens[t] + 0.08 * time * satisfactions[t] +
      u_t[t, 1] + u_t[t, 2] * time + u_p[i, 1] + u_p[i, 2] * time
    rows[[i]] <- data.frame(
      therapist = sprintf("T%02d", t),
      patient = sprintf("P%03d", i),
      session = sessions,
      time = time,
      burdens = burdens[t],
      satisfactions = satisfactions[t],
      wai = eta + rnorm(length(sessions), sd = 0.40)
    )
  }
  do.call(rbind, rows)
}

alliance_description <- paste(
  "Simulated three-level alliance study (set.seed(20130483)): 70 therapists, 200 patients (1-6 per therapist),",
  "3-6 assessments per patient at sessions 3, 12, 20, 40, 60 (truncated) plus an optional termination assessment;",
  "time = log(session); wai = 5 + 0.3 time + 0.1 burdens + 0.05 satisfactions - 0.05 time:burdens",
  "+ 0.08 time:satisfactions + therapist (sd 0.30, 0.10, cor -0.3) and patient (sd 0.50, 0.15, cor -0.2)",
  "random intercept and slope + N(0, 0.40^2) noise."
)

# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

data("sleepstudy", package = "lme4")
data("Pastes", package = "lme4")
data("Dyestuff", package = "lme4")
data("Dyestuff2", package = "lme4")
data("Orthodont", package = "nlme")
data("Oxboys", package = "nlme")
data("Pixel", package = "nlme")

sleep <- write_data_exact(plain(sleepstudy), "sleepstudy")
m_corr <- fit_case("sleepstudy_corr", "Reaction ~ Days + (Days | Subject)", sleep, "sleepstudy", "lme4::sleepstudy",
                   with_ci = TRUE)
fit_case("sleepstudy_uncorr", "Reaction ~ Days + (Days || Subject)", sleep, "sleepstudy", "lme4::sleepstudy")
m_int <- fit_case("sleepstudy_intercept", "Reaction ~ Days + (1 | Subject)", sleep, "sleepstudy", "lme4::sleepstudy")
fit_case("sleepstudy_slope_only", "Reaction ~ Days + (0 + Days | Subject)", sleep, "sleepstudy", "lme4::sleepstudy")

pastes <- write_data_exact(plain(Pastes), "pastes")
fit_case("pastes_nested", "strength ~ 1 + (1 | batch/cask)", pastes, "pastes", "lme4::Pastes", with_ci = TRUE)

dye <- write_data_exact(plain(Dyestuff), "dyestuff")
fit_case("dyestuff", "Yield ~ 1 + (1 | Batch)", dye, "dyestuff", "lme4::Dyestuff")
dye2 <- write_data_exact(plain(Dyestuff2), "dyestuff2")
fit_case("dyestuff2", "Yield ~ 1 + (1 | Batch)", dye2, "dyestuff2",
         "lme4::Dyestuff2 (simulated by Box and Tiao; the ML and REML estimates of the Batch variance are 0)")

ortho <- write_data_exact(plain(Orthodont), "orthodont")
fit_case("orthodont", "distance ~ age + Sex + (age | Subject)", ortho, "orthodont",
         "nlme::Orthodont (Subject converted from an ordered to a plain factor; Sex levels Male, Female)")

oxboys <- write_data_exact(plain(Oxboys), "oxboys")
fit_case("oxboys", "height ~ age + I(age^2) + (age | Subject)", oxboys, "oxboys",
         "nlme::Oxboys (Subject and Occasion converted from ordered to plain factors)")

pixel <- write_data_exact(plain(Pixel), "pixel")
fit_case("pixel", "pixel ~ day + I(day^2) + (day | Dog) + (1 | Side:Dog)", pixel, "pixel", "nlme::Pixel")

alliance <- write_data_exact(simulate_alliance(), "alliance_sim")
fit_case("alliance_sim_corr", "wai ~ time * (burdens + satisfactions) + (time | therapist/patient)",
         alliance, "alliance_sim", alliance_description)
fit_case("alliance_sim_uncorr", "wai ~ time * (burdens + satisfactions) + (time || therapist/patient)",
         alliance, "alliance_sim", alliance_description)

# Likelihood-ratio test (1 | Subject) vs (Days | Subject); anova() refits both with ML.
cat("sleepstudy_lrt\n")
lrt <- collect(anova(m_int$REML, m_corr$REML, refit = TRUE))
tab <- lrt$value
write_fixture(c(
  list(
    case = "sleepstudy_lrt",
    data = "sleepstudy.csv",
    formula_null = "Reaction ~ Days + (1 | Subject)",
    formula_alt = "Reaction ~ Days + (Days | Subject)",
    call = "anova(m0, m1) with both fitted by REML; anova refits them with ML",
    deviance_null = tab$deviance[1],
    deviance_alt = tab$deviance[2],
    loglik_null = tab$logLik[1],
    loglik_alt = tab$logLik[2],
    npar_null = tab$npar[1],
    npar_alt = tab$npar[2],
    aic_null = tab$AIC[1],
    aic_alt = tab$AIC[2],
    bic_null = tab$BIC[1],
    bic_alt = tab$BIC[2],
    chisq = tab$Chisq[2],
    df = tab$Df[2],
    p = tab[["Pr(>Chisq)"]][2],
    messages = I(lrt$notes)
  ),
  session_fields()
), file.path(out_mixed, "sleepstudy_lrt.json"))

cat("done\n")
