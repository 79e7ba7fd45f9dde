# Reference values for a four-level design (sessions in patients in therapists in clinics):
# lme4's deviance, theta, fixed effects and group names. Run from the repository root:
#   Rscript tests/reference/lme4_three_level.R
suppressMessages({library(lme4); library(jsonlite)})
set.seed(20131)
rows <- list()
for (c in 1:8) {
  uc <- rnorm(1, 0, 0.4)
  for (t in 1:sample(3:6, 1)) {
    ut <- rnorm(1, 0, 0.3); st <- rnorm(1, 0, 0.1)
    for (p in 1:sample(1:4, 1)) {
      up <- rnorm(1, 0, 0.5); sp <- rnorm(1, 0, 0.15)
      for (s in 1:sample(1:5, 1)) {
        time <- log(3 + 5 * (s - 1))
        rows[[length(rows) + 1]] <- data.frame(
          clinic = sprintf("C%d", c), therapist = sprintf("T%d", t), patient = sprintf("P%d", p),
          time = time, y = 4 + uc + ut + up + (0.3 + st + sp) * time + rnorm(1, 0, 0.4))
      }
    }
  }
}
d <- do.call(rbind, rows)
write.csv(d, "tests/reference/data/clinic_sim.csv", row.names = FALSE)
d <- read.csv("tests/reference/data/clinic_sim.csv")
one <- function(formula, reml) {
  m <- lmer(as.formula(formula), d, REML = reml)
  list(formula = formula, method = if (reml) "REML" else "ML",
       deviance = as.numeric(-2 * logLik(m)), theta = as.list(getME(m, "theta")),
       groups = as.list(ngrps(m)), singular = isSingular(m),
       converged = length(m@optinfo$conv$lme4$messages) == 0 || isSingular(m),
       fixed_effects = lapply(seq_along(fixef(m)), function(i) list(
         term = names(fixef(m))[i], estimate = unname(fixef(m)[i]),
         std_error = unname(sqrt(diag(as.matrix(vcov(m))))[i]))))
}
fits <- list(
  one("y ~ time + (time | clinic/therapist/patient)", TRUE),
  one("y ~ time + (time | clinic/therapist/patient)", FALSE),
  one("y ~ time + (1 | clinic/therapist/patient)", TRUE),
  one("y ~ time + (1 | clinic/therapist/patient)", FALSE))
write_json(list(data = "clinic_sim.csv", fits = fits, lme4 = as.character(packageVersion("lme4"))),
           "tests/reference/mixed_clinic.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
