# Time lme4::lmer on one data set, warm, for benchmarks/mixed_speed.py.
#
# Usage: Rscript benchmarks/lme4_fit.R WARMUP_CSV DATA_CSV REPEATS [FORMULA]
#
# Reads both CSV files (not timed), fits the model once on WARMUP_CSV (untimed, to load lme4 and
# its compiled code), then fits it REPEATS times on DATA_CSV with REML = TRUE and the default
# lmerControl(), timing each fit with system.time (elapsed seconds). Prints one JSON object:
#   seconds      elapsed seconds of each timed fit (a list, one per repeat)
#   deviance     REML criterion of the last fit (REMLcrit, the -2 restricted log-likelihood)
#   converged    TRUE when the optimizer returned code 0 and lme4 gave no convergence message
#   messages     lme4's convergence messages (empty when converged)
#   n_evaluations optimizer's count of deviance evaluations
#   optimizer    name of the optimizer lme4 used
#   peak_mib     resident-set high-water mark during the fits minus the resident set before
#                each (MiB; VmHWM reset through /proc/self/clear_refs), NA where unavailable
#   lme4_version, r_version
suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 3) {
  stop("usage: Rscript lme4_fit.R WARMUP_CSV DATA_CSV REPEATS [FORMULA]")
}
warmup_csv <- args[[1]]
data_csv <- args[[2]]
repeats <- as.integer(args[[3]])
formula <- if (length(args) >= 4) as.formula(args[[4]]) else
  y ~ time * (x1 + x2) + (time | therapist/patient)

read_growth <- function(path) {
  d <- read.csv(path, colClasses = c(therapist = "character", patient = "character"))
  d$therapist <- factor(d$therapist)
  d$patient <- factor(d$patient)
  d
}

warmup <- read_growth(warmup_csv)
data <- read_growth(data_csv)

invisible(lmer(formula, data = warmup, REML = TRUE))

status_kib <- function(key) {
  line <- grep(paste0("^", key, ":"), readLines("/proc/self/status"), value = TRUE)
  as.numeric(strsplit(trimws(sub(".*:", "", line)), " +")[[1]][1])
}

seconds <- numeric(repeats)
peak_mib <- NA
fit <- NULL
for (i in seq_len(repeats)) {
  fit <- NULL
  invisible(gc())
  before <- tryCatch({
    writeLines("5", "/proc/self/clear_refs")
    status_kib("VmRSS")
  }, error = function(e) NA)
  seconds[i] <- system.time(fit <- lmer(formula, data = data, REML = TRUE))[["elapsed"]]
  if (!is.na(before)) peak_mib <- max(peak_mib, (status_kib("VmHWM") - before) / 1024, na.rm = TRUE)
}

messages <- fit@optinfo$conv$lme4$messages
if (is.null(messages)) messages <- character(0)
opt_code <- fit@optinfo$conv$opt
converged <- length(messages) == 0 && (is.null(opt_code) || opt_code == 0)
n_eval <- fit@optinfo$feval
if (is.null(n_eval)) n_eval <- NA

cat(toJSON(
  list(
    seconds = I(seconds),
    deviance = unname(REMLcrit(fit)),
    converged = converged,
    messages = as.list(messages),
    n_evaluations = n_eval,
    peak_mib = peak_mib,
    optimizer = fit@optinfo$optimizer,
    lme4_version = as.character(packageVersion("lme4")),
    r_version = paste(R.version$major, R.version$minor, sep = ".")
  ),
  auto_unbox = TRUE, digits = NA
), "\n")
