# Parity corpus: lme4 fits of strictly nested linear mixed models on real data
# sets shipped with R packages (mlmRev, nlme, MASS, lme4, datasets) and on
# simulated random-intercept data sets (issue 9, criterion 2).
#
# Run from the repository root:
#     Rscript tests/reference/lme4_corpus.R
#
# It writes
#   tests/reference/corpus/data/<dataset>.csv   the data each model was fitted to
#                                               (only the columns the models use)
#   tests/reference/corpus/real/<case>.json      REML and ML fits of one real-data model
#   tests/reference/corpus/simulated.json        REML and ML fits of every simulated set
#
# Every model is fitted by lme4::lmer three times: with the default optimizer
# (nloptwrap, BOBYQA from nloptr) and with the "bobyqa" (minqa) and "Nelder_Mead"
# optimizers.  The smallest deviance of the three is the best R optimum.  The
# models are fitted to the data as read back from the CSV file, and numbers are
# written with the shortest decimal form that reads back as the identical double
# (see exact_output.R), so a fixture describes exactly what a reader of the CSV
# gets.  The script is deterministic (fixed seed).

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

root <- file.path("tests", "reference")
if (!dir.exists(root)) {
  stop("run this script from the repository root: Rscript tests/reference/lme4_corpus.R")
}
out_corpus <- file.path(root, "corpus")
out_data <- file.path(out_corpus, "data")
out_real <- file.path(out_corpus, "real")
dir.create(out_data, showWarnings = FALSE, recursive = TRUE)
dir.create(out_real, showWarnings = FALSE, recursive = TRUE)
unlink(file.path(out_real, "*.json"))

source(file.path(root, "exact_output.R"))

singular_message <- "boundary (singular) fit: see help('isSingular')"
optimizers <- c("nloptwrap", "bobyqa", "Nelder_Mead")

# ---------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------

fixed_rows <- function(fit) {
  cf <- summary(fit)$coefficients
  lapply(seq_len(nrow(cf)), function(i) list(
    term = rownames(cf)[i],
    estimate = cf[i, "Estimate"],
    std_error = cf[i, "Std. Error"]
  ))
}

one_fit <- function(formula, data, reml, optimizer) {
  res <- collect(lme4::lmer(as.formula(formula), data = data, REML = reml,
                            control = lmerControl(optimizer = optimizer)))
  fit <- res$value
  conv_msgs <- fit@optinfo$conv$lme4$messages
  if (is.null(conv_msgs)) conv_msgs <- character()
  list(
    optimizer = optimizer,
    deviance = as.numeric(-2 * logLik(fit)),
    converged = length(setdiff(conv_msgs, singular_message)) == 0,
    singular = isSingular(fit),
    messages = I(unique(c(res$notes, conv_msgs, unlist(fit@optinfo$warnings)))),
    feval = fit@optinfo$feval,
    theta = as.list(getME(fit, "theta")),
    sigma = sigma(fit),
    fixed_effects = fixed_rows(fit),
    n_obs = nobs(fit),
    groups = as.list(ngrps(fit))
  )
}

# REML and ML fits with the three optimizers; `best` names the optimizer with the
# smallest deviance (the default one on ties).
fit_model <- function(formula, data) {
  out <- list()
  for (method in c("REML", "ML")) {
    runs <- lapply(setNames(nm = optimizers), function(opt) one_fit(formula, data, method == "REML", opt))
    deviances <- vapply(runs, function(r) r$deviance, numeric(1))
    best <- names(runs)[which.min(deviances)]
    default <- runs[["nloptwrap"]]
    out[[method]] <- list(
      deviance = default$deviance,
      converged = default$converged,
      singular = default$singular,
      n_obs = default$n_obs,
      groups = default$groups,
      best_optimizer = best,
      best_deviance = min(deviances),
      optimizer_spread = max(deviances) - min(deviances),
      optimizers = lapply(runs, function(r) { r$n_obs <- NULL; r$groups <- NULL; r })
    )
  }
  out
}

plain <- function(df) {
  df <- as.data.frame(df)
  for (col in names(df)) {
    if (is.ordered(df[[col]])) df[[col]] <- factor(as.character(df[[col]]), levels = levels(df[[col]]))
  }
  attr(df, "formula") <- NULL
  df
}

# Factor columns with their level order (first level = reference level of the
# treatment contrasts); long lists of group ids are left out (they carry no
# contrast), only the fact that the column is categorical is kept.
factor_info <- function(df) {
  f <- Filter(is.factor, df)
  list(
    factor_columns = I(names(f)),
    factor_levels = lapply(Filter(function(v) nlevels(v) <= 30, f), function(v) I(levels(v)))
  )
}

case_count <- 0L

fit_case <- function(case, formula, data, dataset, description) {
  began <- proc.time()[["elapsed"]]
  fits <- fit_model(formula, data)
  payload <- c(
    list(case = case, dataset = dataset, description = description,
         data = paste0(dataset, ".csv"), formula = formula),
    factor_info(data),
    list(fits = fits),
    session_fields()
  )
  write_fixture(payload, file.path(out_real, paste0(case, ".json")))
  case_count <<- case_count + 1L
  cat(sprintf("%-26s %-62s REML %.6f  ML %.6f  (%.1f s)\n", case, formula,
              fits$REML$best_deviance, fits$ML$best_deviance, proc.time()[["elapsed"]] - began))
}

load_data <- function(package, name) {
  env <- new.env()
  data(list = name, package = package, envir = env)
  plain(env[[name]])
}

# Keep the used columns (renamed where R names contain dots, which the formula
# parser of the Python side reads as operators), write them, read them back.
prepare <- function(df, dataset, columns, drop_na = TRUE) {
  df <- df[, columns, drop = FALSE]
  names(df) <- gsub(".", "_", names(df), fixed = TRUE)
  if (drop_na) df <- df[stats::complete.cases(df), , drop = FALSE]
  rownames(df) <- NULL
  df <- droplevels(df)
  # fmt_num warns about the NA it is given (and writes it as an empty cell)
  suppressWarnings(write_data_exact(df, dataset))
}

# ---------------------------------------------------------------------------
# Real data
# ---------------------------------------------------------------------------

cat("real data\n")

# mlmRev::Hsb82, High School and Beyond (160 schools, 7185 students)
d <- load_data("mlmRev", "Hsb82")
d$catholic <- as.numeric(d$sector == "Catholic")
hsb <- prepare(d, "hsb82", c("school", "minrty", "sx", "ses", "mAch", "meanses", "cses", "catholic"))
desc <- "mlmRev::Hsb82 (catholic = sector == 'Catholic')"
fit_case("hsb82_null", "mAch ~ 1 + (1 | school)", hsb, "hsb82", desc)
fit_case("hsb82_meanses_catholic", "mAch ~ meanses + catholic + (1 | school)", hsb, "hsb82", desc)
fit_case("hsb82_student", "mAch ~ ses + minrty + sx + (1 | school)", hsb, "hsb82", desc)
fit_case("hsb82_slopes", "mAch ~ meanses * cses + catholic * cses + (cses | school)", hsb, "hsb82", desc)

# mlmRev::Exam, inner-London exam scores (65 schools, 4059 students)
exam <- prepare(load_data("mlmRev", "Exam"), "exam", c("school", "normexam", "standLRT", "sex", "schavg"))
desc <- "mlmRev::Exam"
fit_case("exam_null", "normexam ~ 1 + (1 | school)", exam, "exam", desc)
fit_case("exam_lrt", "normexam ~ standLRT + (1 | school)", exam, "exam", desc)
fit_case("exam_slope", "normexam ~ standLRT + sex + schavg + (standLRT | school)", exam, "exam", desc)

# mlmRev::bdf, Dutch language scores (131 schools, 2287 pupils)
bdf <- prepare(load_data("mlmRev", "bdf"), "bdf",
               c("schoolNR", "IQ.verb", "ses", "langPOST", "aritPOST", "aritPRET", "Minority"))
desc <- "mlmRev::bdf (IQ.verb renamed IQ_verb)"
fit_case("bdf_lang", "langPOST ~ IQ_verb + ses + (1 | schoolNR)", bdf, "bdf", desc)
fit_case("bdf_lang_slope", "langPOST ~ IQ_verb + ses + Minority + (IQ_verb | schoolNR)", bdf, "bdf", desc)
fit_case("bdf_arit", "aritPOST ~ aritPRET + IQ_verb + (1 | schoolNR)", bdf, "bdf", desc)

# mlmRev::Chem97, A-level chemistry (131 LEAs, 2410 schools, 31022 students)
chem <- prepare(load_data("mlmRev", "Chem97"), "chem97", c("lea", "school", "score", "gender", "age", "gcsecnt"))
desc <- "mlmRev::Chem97"
fit_case("chem97_school", "score ~ gcsecnt + (1 | school)", chem, "chem97", desc)
fit_case("chem97_lea_school", "score ~ gcsecnt + gender + age + (1 | lea/school)", chem, "chem97", desc)
fit_case("chem97_slope", "score ~ gcsecnt + gender + (gcsecnt | school)", chem, "chem97", desc)

# mlmRev::star, Tennessee class-size experiment (students in teachers in schools)
d <- load_data("mlmRev", "star")
d$small <- as.numeric(d$cltype == "small")
d$aide <- as.numeric(d$cltype == "reg+A")
d$grade <- as.numeric(d$gr) - 1
star <- prepare(d, "star", c("sch", "tch", "grade", "math", "read", "small", "aide"))
desc <- "mlmRev::star (small, aide = class type indicators; grade = 0 (K) to 3)"
star_k <- prepare(d[d$gr == "K", ], "star_kindergarten", c("sch", "tch", "math", "small", "aide"))
fit_case("star_k_math", "math ~ small + aide + (1 | sch/tch)", star_k, "star_kindergarten",
         paste(desc, "; kindergarten rows only"))
fit_case("star_math", "math ~ grade + small + aide + (1 | sch/tch)", star, "star", desc)
fit_case("star_read_slope", "read ~ grade + small + aide + (grade | sch)", star, "star", desc)

# mlmRev::Socatt, British social attitudes (264 respondents in 54 districts, 4 years)
d <- load_data("mlmRev", "Socatt")
d$numpos <- as.numeric(as.character(d$numpos))
soc <- prepare(d, "socatt", c("district", "respond", "year", "numpos", "gender", "age"))
desc <- "mlmRev::Socatt (numpos as a number 0-7)"
fit_case("socatt_nested", "numpos ~ year + (1 | district/respond)", soc, "socatt", desc)
fit_case("socatt_respond", "numpos ~ year + gender + age + (1 | respond)", soc, "socatt", desc)

# mlmRev::Early, early intervention and cognitive development
early <- prepare(load_data("mlmRev", "Early"), "early", c("id", "cog", "age", "trt"))
desc <- "mlmRev::Early (id converted from an ordered to a plain factor)"
fit_case("early_intercept", "cog ~ age + trt + (1 | id)", early, "early", desc)
fit_case("early_slope", "cog ~ age * trt + (age | id)", early, "early", desc)

# mlmRev::Gcsemv, GCSE coursework (missing values kept in the CSV; the fits drop them)
gcse <- prepare(load_data("mlmRev", "Gcsemv"), "gcsemv", c("school", "gender", "written", "course"), drop_na = FALSE)
desc <- "mlmRev::Gcsemv (rows with a missing response are dropped by the fit)"
fit_case("gcsemv_course", "course ~ gender + (1 | school)", gcse, "gcsemv", desc)
fit_case("gcsemv_written", "written ~ gender + (1 | school)", gcse, "gcsemv", desc)

# mlmRev::ScotsSec, Scottish secondary school attainment (primary and second are crossed: one at a time)
scots <- prepare(load_data("mlmRev", "ScotsSec"), "scotssec", c("verbal", "attain", "primary", "sex", "social", "second"))
desc <- "mlmRev::ScotsSec"
fit_case("scotssec_second", "attain ~ verbal + sex + social + (1 | second)", scots, "scotssec", desc)
fit_case("scotssec_primary", "attain ~ verbal + (1 | primary)", scots, "scotssec", desc)

# mlmRev::Mmmec, melanoma mortality (counties in regions in nations)
d <- load_data("mlmRev", "Mmmec")
d$lsmr <- log((d$deaths + 0.5) / d$expected)
mmmec <- prepare(d, "mmmec", c("nation", "region", "lsmr", "uvb"))
desc <- "mlmRev::Mmmec (lsmr = log((deaths + 0.5) / expected))"
fit_case("mmmec_nested", "lsmr ~ uvb + (1 | nation/region)", mmmec, "mmmec", desc)
fit_case("mmmec_region", "lsmr ~ uvb + (1 | region)", mmmec, "mmmec", desc)

# mlmRev::egsingle, US elementary mathematics (years in children in schools)
eg <- prepare(load_data("mlmRev", "egsingle"), "egsingle", c("schoolid", "childid", "year", "math", "lowinc", "female"))
desc <- "mlmRev::egsingle"
fit_case("egsingle_nested", "math ~ year + (1 | schoolid/childid)", eg, "egsingle", desc)
fit_case("egsingle_lowinc", "math ~ year * lowinc + female + (1 | schoolid)", eg, "egsingle", desc)
fit_case("egsingle_slopes", "math ~ year + (year | schoolid/childid)", eg, "egsingle", desc)

# nlme::Oats, split-plot (varieties in blocks)
oats <- prepare(load_data("nlme", "Oats"), "oats_nlme", c("Block", "Variety", "nitro", "yield"))
desc <- "nlme::Oats (Block converted from an ordered to a plain factor)"
fit_case("oats_split_plot", "yield ~ nitro + Variety + (1 | Block/Variety)", oats, "oats_nlme", desc)
fit_case("oats_block", "yield ~ nitro + (1 | Block)", oats, "oats_nlme", desc)

# nlme::Oxide, sites in wafers in lots
oxide <- prepare(load_data("nlme", "Oxide"), "oxide", c("Source", "Lot", "Wafer", "Thickness"))
desc <- "nlme::Oxide"
fit_case("oxide_nested", "Thickness ~ 1 + (1 | Lot/Wafer)", oxide, "oxide", desc)
fit_case("oxide_source", "Thickness ~ Source + (1 | Lot/Wafer)", oxide, "oxide", desc)

# nlme::BodyWeight, rat growth on three diets
bw <- prepare(load_data("nlme", "BodyWeight"), "bodyweight", c("weight", "Time", "Rat", "Diet"))
desc <- "nlme::BodyWeight"
fit_case("bodyweight_slope", "weight ~ Time + Diet + (Time | Rat)", bw, "bodyweight", desc)
fit_case("bodyweight_intercept", "weight ~ Time * Diet + (1 | Rat)", bw, "bodyweight", desc)

# nlme::Machines, machines in workers
mach <- prepare(load_data("nlme", "Machines"), "machines", c("Worker", "Machine", "score"))
desc <- "nlme::Machines"
fit_case("machines_nested", "score ~ Machine + (1 | Worker/Machine)", mach, "machines", desc)
fit_case("machines_worker", "score ~ Machine + (1 | Worker)", mach, "machines", desc)

# nlme::Rail
rail <- prepare(load_data("nlme", "Rail"), "rail", c("Rail", "travel"))
fit_case("rail", "travel ~ 1 + (1 | Rail)", rail, "rail", "nlme::Rail")

# nlme::ergoStool
ergo <- prepare(load_data("nlme", "ergoStool"), "ergostool", c("effort", "Type", "Subject"))
fit_case("ergostool", "effort ~ Type + (1 | Subject)", ergo, "ergostool", "nlme::ergoStool")

# nlme::Alfalfa, split-plot
alf <- prepare(load_data("nlme", "Alfalfa"), "alfalfa", c("Variety", "Date", "Block", "Yield"))
fit_case("alfalfa", "Yield ~ Date + Variety + (1 | Block/Variety)", alf, "alfalfa", "nlme::Alfalfa")

# nlme::Wafer, current-voltage curves at sites in wafers
waf <- prepare(load_data("nlme", "Wafer"), "wafer", c("Wafer", "Site", "voltage", "current"))
desc <- "nlme::Wafer"
fit_case("wafer_nested", "current ~ voltage + I(voltage^2) + (1 | Wafer/Site)", waf, "wafer", desc)
fit_case("wafer_slope", "current ~ voltage + I(voltage^2) + (voltage | Wafer)", waf, "wafer", desc)

# nlme::Spruce, trees in plots
spruce <- prepare(load_data("nlme", "Spruce"), "spruce", c("Tree", "days", "logSize", "plot"))
desc <- "nlme::Spruce"
fit_case("spruce_nested", "logSize ~ days + (1 | plot/Tree)", spruce, "spruce", desc)
fit_case("spruce_slope", "logSize ~ days + (days | Tree)", spruce, "spruce", desc)

# nlme::Milk, protein content over weeks
milk <- prepare(load_data("nlme", "Milk"), "milk", c("protein", "Time", "Cow", "Diet"))
desc <- "nlme::Milk"
fit_case("milk_intercept", "protein ~ Time + Diet + (1 | Cow)", milk, "milk", desc)
fit_case("milk_slope", "protein ~ Time + Diet + (Time | Cow)", milk, "milk", desc)

# nlme::Gun
gun <- prepare(load_data("nlme", "Gun"), "gun", c("rounds", "Method", "Team"))
fit_case("gun", "rounds ~ Method + (1 | Team)", gun, "gun", "nlme::Gun")

# nlme::Soybean
soy <- prepare(load_data("nlme", "Soybean"), "soybean", c("Plot", "Variety", "Time", "weight"))
fit_case("soybean", "weight ~ Time + Variety + (1 | Plot)", soy, "soybean", "nlme::Soybean")

# nlme::IGF, radioimmunoassay lots
igf <- prepare(load_data("nlme", "IGF"), "igf", c("Lot", "age", "conc"))
desc <- "nlme::IGF"
fit_case("igf_intercept", "conc ~ age + (1 | Lot)", igf, "igf", desc)
fit_case("igf_slope", "conc ~ age + (age | Lot)", igf, "igf", desc)

# nlme::Assay, samples in blocks
assay <- prepare(load_data("nlme", "Assay"), "assay", c("Block", "sample", "dilut", "logDens"))
fit_case("assay", "logDens ~ sample + dilut + (1 | Block/sample)", assay, "assay", "nlme::Assay")

# nlme::Dialyzer
dial <- prepare(load_data("nlme", "Dialyzer"), "dialyzer", c("Subject", "QB", "pressure", "rate"))
fit_case("dialyzer", "rate ~ pressure * QB + (pressure | Subject)", dial, "dialyzer", "nlme::Dialyzer")

# nlme::Orthodont (a different model from tests/reference/mixed/orthodont.json)
ortho <- prepare(load_data("nlme", "Orthodont"), "orthodont", c("distance", "age", "Subject", "Sex"))
fit_case("orthodont_interaction", "distance ~ age * Sex + (1 | Subject)", ortho, "orthodont", "nlme::Orthodont")

# MASS::oats, split-plot with nitrogen as a factor
moats <- prepare(load_data("MASS", "oats"), "oats_mass", c("B", "V", "N", "Y"))
fit_case("oats_mass", "Y ~ N + V + (1 | B/V)", moats, "oats_mass", "MASS::oats")

# MASS::petrol
pet <- prepare(load_data("MASS", "petrol"), "petrol", c("No", "SG", "VP", "V10", "EP", "Y"))
fit_case("petrol", "Y ~ SG + VP + V10 + EP + (1 | No)", pet, "petrol", "MASS::petrol")

# lme4::cake, recipes in replicates
cake <- prepare(load_data("lme4", "cake"), "cake", c("replicate", "recipe", "temp", "angle"))
fit_case("cake", "angle ~ recipe * temp + (1 | replicate/recipe)", cake, "cake", "lme4::cake")

# datasets::ChickWeight
chick <- prepare(load_data("datasets", "ChickWeight"), "chickweight", c("weight", "Time", "Chick", "Diet"))
desc <- "datasets::ChickWeight"
fit_case("chickweight_slope", "weight ~ Time * Diet + (Time | Chick)", chick, "chickweight", desc)
fit_case("chickweight_intercept", "weight ~ Time + (1 | Chick)", chick, "chickweight", desc)

# datasets::CO2
co2 <- prepare(load_data("datasets", "CO2"), "co2", c("Plant", "Type", "Treatment", "conc", "uptake"))
fit_case("co2", "uptake ~ log(conc) + Type * Treatment + (1 | Plant)", co2, "co2", "datasets::CO2")

# datasets::Orange
orange <- prepare(load_data("datasets", "Orange"), "orange", c("Tree", "age", "circumference"))
fit_case("orange", "circumference ~ age + (1 | Tree)", orange, "orange", "datasets::Orange")

cat(sprintf("%d real-data models\n", case_count))

# ---------------------------------------------------------------------------
# Simulated random-intercept data sets
# ---------------------------------------------------------------------------

# y = 10 + 0.5 x + u + e with var(x) = 1 and var(u) + var(e) = 1, var(u) = ICC;
# three-level sets have a therapist and a patient intercept.  x and y are
# rounded to 4 decimals (as measured data would be).  Patient ids restart
# within each therapist, as (1 | therapist/patient) expects.
simulate_sets <- function() {
  set.seed(20260905)
  designs <- list()
  for (icc in c(0, 0.02, 0.05, 0.1, 0.2, 0.3)) {
    for (groups in c(10, 20, 40, 80)) {
      for (per in c(3, 5, 10, 20)) {
        designs[[length(designs) + 1]] <- list(levels = 2L, groups = groups, per = per, icc = icc,
                                               icc2 = 0, balanced = TRUE)
      }
    }
  }
  for (icc in c(0, 0.05, 0.1, 0.2)) {
    for (groups in c(15, 40, 70)) {
      designs[[length(designs) + 1]] <- list(levels = 2L, groups = groups, per = 6, icc = icc,
                                             icc2 = 0, balanced = FALSE)
    }
  }
  for (pair in list(c(0, 0), c(0.02, 0.1), c(0.05, 0.05), c(0.1, 0.2), c(0, 0.2), c(0.1, 0))) {
    for (groups in c(10, 20, 40)) {
      for (per in c(3, 6)) {
        designs[[length(designs) + 1]] <- list(levels = 3L, groups = groups, per = per, icc = pair[1],
                                               icc2 = pair[2], balanced = TRUE)
      }
    }
  }
  two <- list()
  three <- list()
  for (k in seq_along(designs)) {
    s <- designs[[k]]
    if (s$levels == 2L) {
      sizes <- if (s$balanced) rep(s$per, s$groups) else sample(1:(2 * s$per - 1), s$groups, replace = TRUE)
      u <- rnorm(s$groups, sd = sqrt(s$icc))
      g <- rep(seq_len(s$groups), sizes)
      x <- rnorm(length(g))
      y <- 10 + 0.5 * x + u[g] + rnorm(length(g), sd = sqrt(1 - s$icc))
      two[[length(two) + 1]] <- data.frame(set = k, g = sprintf("g%02d", g), x = round(x, 4), y = round(y, 4))
    } else {
      sessions <- 4L
      u_t <- rnorm(s$groups, sd = sqrt(s$icc))
      t <- rep(seq_len(s$groups), each = s$per * sessions)
      p <- rep(rep(seq_len(s$per), each = sessions), s$groups)
      u_p <- rnorm(s$groups * s$per, sd = sqrt(s$icc2))
      x <- rnorm(length(t))
      y <- 10 + 0.5 * x + u_t[t] + u_p[(t - 1) * s$per + p] + rnorm(length(t), sd = sqrt(1 - s$icc - s$icc2))
      three[[length(three) + 1]] <- data.frame(set = k, therapist = sprintf("t%02d", t), patient = sprintf("p%d", p),
                                               x = round(x, 4), y = round(y, 4))
    }
  }
  list(designs = designs, two = do.call(rbind, two), three = do.call(rbind, three))
}

cat("simulated data\n")
sims <- simulate_sets()
two <- write_data_exact(sims$two, "simulated_two_level")
three <- write_data_exact(sims$three, "simulated_three_level")
sets <- list()
for (k in seq_along(sims$designs)) {
  s <- sims$designs[[k]]
  if (s$levels == 2L) {
    data <- droplevels(two[two$set == k, ])
    formula <- "y ~ x + (1 | g)"
    file <- "simulated_two_level.csv"
  } else {
    data <- droplevels(three[three$set == k, ])
    formula <- "y ~ x + (1 | therapist/patient)"
    file <- "simulated_three_level.csv"
  }
  sets[[k]] <- c(
    list(set = k, data = file, formula = formula, levels = s$levels, groups = s$groups,
         per_group = s$per, balanced = s$balanced, icc = s$icc,
         icc_patient = if (s$levels == 3L) s$icc2 else NULL, n_obs = nrow(data)),
    list(fits = fit_model(formula, data))
  )
}
write_fixture(c(
  list(
    description = paste(
      "Simulated random-intercept data sets (set.seed(20260905)): y = 10 + 0.5 x + u + e, x ~ N(0, 1),",
      "var(u) = icc, var(e) = 1 - icc; three-level sets: 4 sessions per patient, therapist intercept variance",
      "icc and patient intercept variance icc_patient, residual variance 1 - icc - icc_patient.",
      "Unbalanced two-level sets draw each group size uniformly from 1 to 2 per_group - 1.",
      "x and y are rounded to 4 decimals. Each set's rows have its number in the column 'set'."
    ),
    sets = sets
  ),
  session_fields()
), file.path(out_corpus, "simulated.json"))
cat(sprintf("%d simulated sets\n", length(sets)))
cat("done\n")
