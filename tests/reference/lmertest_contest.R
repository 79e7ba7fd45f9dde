# Tests of linear combinations of fixed effects with Satterthwaite df, as lmerTest computes
# them: contest1D (one contrast: estimate, SE, df, t, p and a 95% confidence interval) and
# contestMD (a joint F test of several rows: F, numerator df = rank of L, denominator df from
# the Satterthwaite df of the eigen-directions of L V L').
#
# Run from the repository root (about 15 s):
#     Rscript tests/reference/lmertest_contest.R
#
# Reads tests/reference/data/*.csv and tests/reference/corpus/data/exam.csv (read back
# exactly as the Python tests read them) and writes tests/reference/lmertest_contest.json,
# with lme4's theta and sigma, so that the df can be checked at lme4's own optimum.
# Deterministic: no random numbers.

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(jsonlite)
})

root <- file.path("tests", "reference")
if (!dir.exists(root)) {
  stop("run this script from the repository root: Rscript tests/reference/lmertest_contest.R")
}
source(file.path(root, "exact_output.R"))

# Contrasts are given as named weights (term -> weight); a joint test is a list of rows.
cases <- list(
  list(case = "sleepstudy_slopes", data = "data/sleepstudy.csv",
       factors = list(), as_factor = "Subject",
       formula = "Reaction ~ Days + (Days | Subject)", methods = c("REML", "ML"),
       contrasts = list(
         list(name = "mean_at_day_7", weights = list("(Intercept)" = 1, Days = 7)),
         list(name = "days", weights = list(Days = 1))
       ),
       joint = list(
         list(name = "both_coefficients",
              rows = list(list("(Intercept)" = 1), list(Days = 1))),
         list(name = "day_0_and_day_9",
              rows = list(list("(Intercept)" = 1), list("(Intercept)" = 1, Days = 9))),
         list(name = "rank_deficient",
              rows = list(list(Days = 1), list(Days = 2)))
       )),
  list(case = "orthodont_slopes", data = "data/orthodont.csv",
       factors = list(Sex = c("Male", "Female")), as_factor = "Subject",
       formula = "distance ~ age + Sex + (age | Subject)", methods = "REML",
       contrasts = list(
         list(name = "girls_at_age_8", weights = list("(Intercept)" = 1, age = 8, SexFemale = 1)),
         list(name = "age_minus_sex", weights = list(age = 1, SexFemale = -1))
       ),
       joint = list(
         list(name = "age_and_sex", rows = list(list(age = 1), list(SexFemale = 1)))
       )),
  list(case = "alliance_sim_corr", data = "data/alliance_sim.csv",
       factors = list(), as_factor = c("therapist", "patient"),
       formula = "wai ~ time * (burdens + satisfactions) + (time | therapist/patient)",
       methods = "REML",
       contrasts = list(
         list(name = "burdens_minus_satisfactions_slope",
              weights = list("time:burdens" = 1, "time:satisfactions" = -1)),
         list(name = "burdens_at_time_2",
              weights = list(burdens = 1, "time:burdens" = 2))
       ),
       joint = list(
         list(name = "slope_interactions",
              rows = list(list("time:burdens" = 1), list("time:satisfactions" = 1))),
         list(name = "burdens_three_rows",
              rows = list(list(burdens = 1), list("time:burdens" = 1),
                          list(satisfactions = 1, "time:satisfactions" = 1)))
       )),
  list(case = "exam_slopes", data = "corpus/data/exam.csv",
       factors = list(sex = c("F", "M")), as_factor = "school",
       formula = "normexam ~ standLRT + sex + schavg + (standLRT | school)", methods = "REML",
       contrasts = list(
         list(name = "standLRT_minus_schavg", weights = list(standLRT = 1, schavg = -1))
       ),
       joint = list(
         list(name = "sex_and_schavg", rows = list(list(sexM = 1), list(schavg = 1)))
       ))
)

as_row <- function(weights, names) {
  row <- setNames(numeric(length(names)), names)
  stopifnot(all(names(weights) %in% names))
  row[names(weights)] <- unlist(weights)
  row
}

fit_case <- function(spec) {
  data <- read_data(spec$data, spec$factors, spec$as_factor)
  fits <- list()
  for (method in spec$methods) {
    fitted <- collect(lmerTest::lmer(as.formula(spec$formula), data = data,
                                     REML = method == "REML"))
    fit <- fitted$value
    names <- names(fixef(fit))
    one <- lapply(spec$contrasts, function(k) {
      t <- contest1D(fit, as_row(k$weights, names), confint = TRUE, level = 0.95)
      list(name = k$name, weights = k$weights, estimate = t[["Estimate"]],
           std_error = t[["Std. Error"]], df = t[["df"]], t = t[["t value"]],
           p = t[["Pr(>|t|)"]], ci_low = t[["lower"]], ci_high = t[["upper"]])
    })
    joint <- lapply(spec$joint, function(k) {
      L <- do.call(rbind, lapply(k$rows, as_row, names = names))
      f <- collect(contestMD(fit, L))
      separate <- contest(fit, L, joint = FALSE)
      list(name = k$name, rows = k$rows, f = f$value[["F value"]],
           num_df = f$value[["NumDF"]], den_df = f$value[["DenDF"]],
           p = f$value[["Pr(>F)"]], messages = I(f$notes),
           row_df = I(separate[["df"]]))
    })
    conv <- fit@optinfo$conv$lme4$messages
    fits[[method]] <- list(
      converged = is.null(conv),
      fit_messages = I(fitted$notes),
      deviance = deviance(fit, REML = method == "REML"),
      theta = as.list(getME(fit, "theta")),
      sigma = sigma(fit),
      fixed_names = I(names),
      contrasts = one,
      joint = joint
    )
  }
  list(case = spec$case, data = spec$data, formula = spec$formula,
       factor_levels = if (length(spec$factors)) lapply(spec$factors, I)
                       else setNames(list(), character(0)),
       fits = fits)
}

payload <- c(
  list(
    description = paste(
      "lmerTest contest1D (confint = TRUE, 95%) and contestMD (Satterthwaite) of lmerTest::lmer",
      "fits (default optimizer); made by tests/reference/lmertest_contest.R"
    ),
    cases = lapply(cases, fit_case)
  ),
  session_fields()
)
write_fixture(payload, file.path(root, "lmertest_contest.json"))
cat("wrote", file.path(root, "lmertest_contest.json"), "\n")
