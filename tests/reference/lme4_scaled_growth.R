# Reference optima for badly scaled growth data (time 1..11 linear, residual SD 10; drawn by
# alliance.power for powerlmm's kind of three-level design), on which a bounded quasi-Newton
# search used to stop short. Run from the repository root:
#   Rscript tests/reference/lme4_scaled_growth.R
suppressMessages({library(lme4); library(jsonlite)})
formula <- alliance ~ time * treatment + (time | therapist) + (time | therapist:patient)
fits <- lapply(c(1, 6, 7), function(s) {
  file <- sprintf("scaled_growth_%d.csv", s)
  d <- read.csv(file.path("tests/reference/data", file))
  m <- lmer(formula, d, REML = TRUE)
  list(data = file, reml_criterion = REMLcrit(m), theta = unname(getME(m, "theta")),
       converged = length(m@optinfo$conv$lme4$messages) == 0)
})
write_json(list(formula = deparse(formula), fits = fits,
                lme4 = as.character(packageVersion("lme4"))),
           "tests/reference/mixed_scaled_growth.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
