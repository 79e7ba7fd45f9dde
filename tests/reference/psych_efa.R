# Reference results for alliance.scales: exploratory factor analysis, factor scores,
# parallel analysis, reliability and polychoric correlations, from psych / GPArotation.
#
# Run from the repository root:
#     Rscript tests/reference/psych_efa.R          # about 15 s
#
# Writes
#   tests/reference/data/psych_bfi.csv        the 25 personality items of psychTools::bfi
#                                             (2,800 respondents, 1-6 ratings, empty = missing)
#   tests/reference/data/psych_harman74.csv   datasets::Harman74.cor$cov (24 ability tests, n = 145)
#   tests/reference/psych_efa.json            psych::fa fits (extraction x rotation), score weights
#   tests/reference/psych_efa_parallel.json   psych::fa.parallel (seeded)
#   tests/reference/psych_efa_reliability.json  psych::alpha and psych::omega(nfactors = 1)
#   tests/reference/psych_efa_polychoric.json   psych::polychoric
#
# Every analysis runs on the data as read back from the CSV files, so a fixture describes
# exactly what a reader of the CSV gets. The script is deterministic (fixed seeds, one core):
# two runs give byte-identical files.

suppressPackageStartupMessages({
  library(psych)
  library(GPArotation)
  library(jsonlite)
})

# psych runs fa.parallel's draws through parallel::mclapply; forked workers make the random
# draws depend on scheduling. One core keeps them reproducible under set.seed().
options(mc.cores = 1)

if (!dir.exists(file.path("tests", "reference"))) {
  stop("run this script from the repository root: Rscript tests/reference/psych_efa.R")
}
out_dir <- file.path("tests", "reference")
data_dir <- file.path(out_dir, "data")
dir.create(data_dir, showWarnings = FALSE, recursive = TRUE)

write_fixture <- function(payload, name) {
  path <- file.path(out_dir, name)
  txt <- toJSON(payload, digits = NA, auto_unbox = TRUE, null = "null", na = "null",
                matrix = "rowmajor", pretty = TRUE)
  writeLines(txt, path)
  invisible(path)
}

session <- list(
  r_version = R.version.string,
  package_versions = list(
    psych = as.character(packageVersion("psych")),
    GPArotation = as.character(packageVersion("GPArotation")),
    psychTools = as.character(packageVersion("psychTools")),
    jsonlite = as.character(packageVersion("jsonlite"))
  )
)

# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

data(bfi, package = "psychTools")
bfi_path <- file.path(data_dir, "psych_bfi.csv")
write.csv(bfi[, 1:25], bfi_path, row.names = FALSE, na = "")
items <- read.csv(bfi_path)
stopifnot(identical(dim(items), c(2800L, 25L)))

harman_path <- file.path(data_dir, "psych_harman74.csv")
harman_r <- Harman74.cor$cov
write.csv(data.frame(item = rownames(harman_r), harman_r, check.names = FALSE),
          harman_path, row.names = FALSE)
harman_back <- read.csv(harman_path, check.names = FALSE)
harman <- as.matrix(harman_back[, -1])
rownames(harman) <- harman_back$item
harman_n <- Harman74.cor$n.obs

# ---------------------------------------------------------------------------
# psych::fa fits
# ---------------------------------------------------------------------------

fit_case <- function(name, x, nfactors, fm, rotate, n.obs = NA, cor = "cor", ...) {
  f <- fa(x, nfactors = nfactors, fm = fm, rotate = rotate, n.obs = n.obs, cor = cor,
          scores = "regression", warnings = FALSE, ...)
  L <- unclass(f$loadings)
  Phi <- if (is.null(f$Phi)) diag(nfactors) else f$Phi
  # Weights from the correlation matrix analysed (for cor = "poly" fa() itself would use
  # Pearson correlations of the raw data for its regression weights).
  r <- f$r
  weights <- list()
  for (method in c("regression", "Bartlett", "tenBerge")) {
    weights[[method]] <- unname(factor.scores(r, f = L, Phi = f$Phi, method = method)$weights)
  }
  message(sprintf("%-28s chi2 = %10.4f  df = %3d  RMSEA = %.5f  TLI = %.5f", name,
                  f$STATISTIC, f$dof, f$RMSEA[1], f$TLI))
  list(
    name = name,
    call = paste(deparse(f$Call, width.cutoff = 500), collapse = " "),
    n_factors = nfactors, fm = fm, rotate = rotate, cor = cor,
    items = colnames(r),
    factors = colnames(L),
    loadings = unname(L),
    factor_correlations = unname(Phi),
    communality = unname(f$communality),
    uniquenesses = unname(f$uniquenesses),
    variance_accounted = setNames(
      lapply(seq_len(nrow(f$Vaccounted)), function(i) unname(f$Vaccounted[i, ])),
      rownames(f$Vaccounted)
    ),
    rotation_matrix = if (is.null(f$rot.mat)) NULL else unname(f$rot.mat),
    weights = weights,
    scores_head = if (is.null(f$scores)) NULL else unname(f$scores[1:10, , drop = FALSE]),
    fit = list(
      n_obs = f$n.obs, objective = f$objective, chi_square = f$STATISTIC, df = f$dof,
      p = f$PVAL, rmsea = unname(f$RMSEA[1]), rmsea_ci_low = unname(f$RMSEA[2]),
      rmsea_ci_high = unname(f$RMSEA[3]), tli = f$TLI, bic = f$BIC,
      null_chi_square = f$null.chisq, null_df = f$null.dof, null_objective = f$null.model,
      empirical_chi_square = f$chi, rms = f$rms, crms = f$crms
    )
  )
}

fits <- list(
  fit_case("bfi_minres_oblimin", items, 5, "minres", "oblimin"),
  fit_case("bfi_ml_varimax", items, 5, "ml", "varimax"),
  fit_case("bfi_pa_promax", items, 5, "pa", "promax"),
  fit_case("bfi_minres_geomin", items, 5, "minres", "geominQ"),
  fit_case("bfi_minres_quartimax", items, 5, "minres", "quartimax"),
  fit_case("bfi_minres_none", items, 5, "minres", "none"),
  fit_case("bfi_listwise_ml_oblimin", na.omit(items), 5, "ml", "oblimin"),
  fit_case("bfi_poly_minres_oblimin", items[, 1:10], 2, "minres", "oblimin", cor = "poly"),
  fit_case("harman_ml_oblimin", harman, 4, "ml", "oblimin", n.obs = harman_n),
  fit_case("harman_minres_oblimin_gam05", harman, 4, "minres", "oblimin", n.obs = harman_n,
           gam = 0.5),
  fit_case("harman_pa_varimax", harman, 4, "pa", "varimax", n.obs = harman_n)
)
names(fits) <- vapply(fits, function(f) f$name, character(1))
write_fixture(c(session, list(
  data = list(bfi = "data/psych_bfi.csv", harman74 = "data/psych_harman74.csv",
              harman74_n_obs = harman_n),
  note = paste("psych::fa defaults otherwise (use = 'pairwise', SMC = TRUE, min.err = 0.001,",
               "max.iter = 50, alpha = 0.1 for the RMSEA interval); GPArotation rotations from",
               "the identity start; weights: factor.scores(r, loadings, Phi, method) with r the",
               "correlation matrix analysed."),
  fits = fits
)), "psych_efa.json")

# ---------------------------------------------------------------------------
# psych::fa.parallel (random draws: compare the suggestion, not the simulated values)
# ---------------------------------------------------------------------------

parallel_case <- function(name, x, n.obs = NULL, seed) {
  set.seed(seed)
  p <- fa.parallel(x, n.obs = n.obs, fm = "minres", fa = "both", n.iter = 20, plot = FALSE)
  nv <- ncol(x)
  # p$values: per draw, [resampled pc, resampled fa,] simulated pc, simulated fa
  offset <- if (is.null(n.obs)) 2 * nv else 0
  q <- apply(p$values, 2, quantile, 0.95)
  list(
    name = name, seed = seed, n_iter = 20,
    suggested_factors = p$nfact, suggested_components = p$ncomp,
    fa_values = unname(p$fa.values), pc_values = unname(p$pc.values),
    fa_sim_mean = unname(p$fa.sim), pc_sim_mean = unname(p$pc.sim),
    fa_sim_quantile = unname(q[offset + nv + seq_len(nv)]),
    pc_sim_quantile = unname(q[offset + seq_len(nv)])
  )
}
parallel <- list(
  bfi = parallel_case("bfi", items, seed = 20240501),
  harman74 = parallel_case("harman74", harman, n.obs = harman_n, seed = 20240501)
)
write_fixture(c(session, list(
  note = paste("fa.parallel(x, fm = 'minres', fa = 'both', n.iter = 20, quant = 0.95):",
               "observed 'fa' values are eigenvalues of R with communalities of a one-factor",
               "minres solution on the diagonal; suggestions compare them with the 95%",
               "quantile of the same values from normal data (sim = TRUE)."),
  cases = parallel
)), "psych_efa_parallel.json")

# ---------------------------------------------------------------------------
# psych::alpha and psych::omega(nfactors = 1) on the five bfi scales
# ---------------------------------------------------------------------------

scales <- list(
  agreeableness = list(items = paste0("A", 1:5), reverse = "A1"),
  conscientiousness = list(items = paste0("C", 1:5), reverse = c("C4", "C5")),
  extraversion = list(items = paste0("E", 1:5), reverse = c("E1", "E2")),
  neuroticism = list(items = paste0("N", 1:5), reverse = character()),
  openness = list(items = paste0("O", 1:5), reverse = c("O2", "O5"))
)
reliability <- lapply(names(scales), function(s) {
  sc <- scales[[s]]
  x <- items[, sc$items]
  keys <- if (length(sc$reverse)) sc$reverse else NULL
  a <- suppressWarnings(alpha(x, keys = keys))
  om <- suppressWarnings(suppressMessages(omega(x, nfactors = 1, plot = FALSE)))
  list(
    scale = s, items = sc$items, reverse = I(sc$reverse),
    raw_alpha = a$total$raw_alpha, std_alpha = a$total$std.alpha, ase = a$total$ase,
    feldt_low = as.numeric(a$feldt$lower.ci), feldt_high = as.numeric(a$feldt$upper.ci),
    total_mean = a$total$mean, total_sd = a$total$sd,
    alpha_if_deleted = unname(a$alpha.drop$raw_alpha),
    std_alpha_if_deleted = unname(a$alpha.drop$std.alpha),
    item_rest_r = unname(a$item.stats$r.drop), item_total_r = unname(a$item.stats$raw.r),
    item_n = unname(a$item.stats$n), item_mean = unname(a$item.stats$mean),
    item_sd = unname(a$item.stats$sd),
    omega_total = om$omega.tot
  )
})
names(reliability) <- names(scales)
write_fixture(c(session, list(
  note = paste("alpha(x, keys = reverse) with use = 'pairwise'; Feldt interval from",
               "alpha.ci (95%); omega(x, nfactors = 1)$omega.tot (minres, items flipped",
               "to the sign of their loading)."),
  scales = reliability
)), "psych_efa_reliability.json")

# ---------------------------------------------------------------------------
# psych::polychoric on ten items
# ---------------------------------------------------------------------------

poly_items <- c(paste0("A", 1:5), paste0("C", 1:5))
pc <- polychoric(items[, poly_items])
write_fixture(c(session, list(
  note = "polychoric(x) with global thresholds (all items have 6 categories), smoothed if needed",
  items = poly_items, rho = unname(pc$rho), tau = unname(pc$tau)
)), "psych_efa_polychoric.json")
