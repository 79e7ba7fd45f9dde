# Names and order of model terms and columns, as R's terms() and lme4 give them: for each
# formula, attr(terms(f), "term.labels") of the fixed part, colnames(lFormula(f, d)$X)
# (names(fixef(m)) of the fitted model, in order), the sums of those columns (to check that
# each name labels the right column) and the random-effects column names by grouping factor
# (lFormula(f, d)$reTrms$cnms); and how deparse() prints some expressions, which is how R
# names the column of a call such as log(x + 3).
#
# Run from the repository root (a few seconds):
#     Rscript tests/reference/terms_order.R
#
# Writes tests/reference/data/terms_order.csv (the data, numbers with three decimals, which
# read back exactly) and tests/reference/terms_order.json. Deterministic (fixed seed).

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

root <- file.path("tests", "reference")
if (!dir.exists(root)) {
  stop("run this script from the repository root: Rscript tests/reference/terms_order.R")
}
out_data <- file.path(root, "data")
source(file.path(root, "exact_output.R"))

set.seed(20261205)
n <- 60
numbers <- function() round(rnorm(n), 3)
d <- data.frame(
  y = numbers(), a = numbers(), b = numbers(), c = numbers(), x = numbers(), z = numbers(),
  age = round(runif(n, 8, 14), 3), meanses = numbers(), cses = numbers(),
  catholic = rep(c(0, 1), length.out = n), ses = numbers(),
  IQ.verb = round(runif(n, 4, 18), 3), `a b` = numbers(), `.hidden` = numbers(),
  f1 = sample(c("p", "q", "r"), n, replace = TRUE),
  f2 = sample(c("u", "v"), n, replace = TRUE),
  Sex = sample(c("Male", "Female"), n, replace = TRUE),
  g = sprintf("g%02d", rep(1:10, each = 6)),
  school.id = sprintf("s%d", rep(1:5, each = 12)),
  `my f` = sample(c("u", "v"), n, replace = TRUE),
  `my g` = sprintf("m%d", rep(1:6, each = 10)),
  check.names = FALSE, stringsAsFactors = FALSE
)
path <- file.path(out_data, "terms_order.csv")
write.csv(d, path, row.names = FALSE)
d <- read.csv(path, check.names = FALSE, stringsAsFactors = TRUE)

formulas <- c(
  # interaction labels: variables in order of first appearance; terms by degree
  "y ~ a:b + b + (1 | g)",
  "y ~ b*a + a + (1 | g)",
  "y ~ x * (f1 + f2) + (1 | g)",
  "y ~ (a + b + c)^2 + (1 | g)",
  "y ~ a:b:c + c:a + (1 | g)",
  "y ~ a:b + a:b:c + b + (1 | g)",
  "y ~ (a + b)*(c + x) + (1 | g)",
  "y ~ a + (b + c):a + (1 | g)",
  "y ~ a*b + b:a + (1 | g)",
  "y ~ a*b*c - a:b + (1 | g)",
  "y ~ (a + b)^2 - a + (1 | g)",
  "y ~ a/b + (1 | g)",
  "y ~ b %in% a + (1 | g)",
  "y ~ a*b - 1 + (1 | g)",
  "y ~ meanses * cses + catholic * cses + (cses | g)",
  # factors: level names appended to the variable's name, in the term's variable order
  "y ~ Sex*age + (1 | g)",
  "y ~ age*Sex + (1 | g)",
  "y ~ age + age:Sex + (1 | g)",
  "y ~ f1*f2 + (1 | g)",
  "y ~ f2*f1 + (1 | g)",
  "y ~ x + x:f1 + (1 | g)",
  "y ~ f1:x + x + (1 | g)",
  "y ~ f1*x*f2 + (1 | g)",
  # transforms
  "y ~ I(x^2):z + (1 | g)",
  "y ~ z + I(x^2):z + (1 | g)",
  "y ~ I(x^2) + I(x^2):z + x + (1 | g)",
  "y ~ a + I(a^2):b + b + (1 | g)",
  "y ~ log(age) * Sex + (1 | g)",
  "y ~ log(age+3) * x + (1 | g)",
  "y ~ I(x*2) + I(z/1e5) + exp(a-0.5) + sqrt(abs(b)) + (1 | g)",
  "y ~ I((x-1)^2) + I(x**2):z + I(x ^ 2) + (1 | g)",
  "y ~ x + (log( age+1 ) | school.id)",
  # names with dots, backquoted names
  "y ~ IQ.verb + ses + (1 | g)",
  "y ~ ses * IQ.verb + (1 | school.id)",
  "y ~ log(IQ.verb) + I(IQ.verb^2) + (1 | g)",
  "y ~ IQ.verb + (IQ.verb | school.id)",
  "y ~ .hidden + (1 | g)",
  "y ~ `a b` * x + (1 | g)",
  "y ~ `my f` * x + (x | `my g`)",
  "y ~ `IQ.verb`:`a b` + (1 | g)",
  # random-effects columns
  "y ~ x + (x * z | school.id)",
  "y ~ x + (z:x + x | school.id)",
  "y ~ x + (0 + Sex | school.id)"
)

# expressions as deparse() prints them, the names of their columns
expressions <- c(
  "log(x+3)", "I(x*2)", "I(x/1e5)", "I( - x)", "exp(x-0.5)", "I(x**2)", "I(x ^ 2)",
  "I((x-1)^2)", "I(x>0)", "I(x %% 2)", "log(x,base=2)", "I(x+100000)", "I(x+123456)",
  "I(x*0.0001)", "I(x*0.001)", "I(x*1.50)", "I(x+1e-15)", "I(x*3.14159265358979323)",
  "I(-x^2)", "I(x - -1)", "I(x*-1)", "I(2^-x)", "sqrt(abs(x))", "I(x==1 & !y)",
  "I(1e100*x)", "I(x + 1234567890123456789)", "I(x+0.1+0.2)", "I(x %in% 1)", "I(x %/% 2)",
  "I(.5*x)", "I(5.*x)", "I(x*1e-300)", "I(x*12345678)", "I(IQ.verb/10)", "I(x <= 2 | x != 3)"
)
deparsed <- lapply(expressions, function(e) list(text = e, deparsed = deparse(str2lang(e))))

describe <- function(f) {
  form <- as.formula(f)
  lf <- lFormula(form, d)
  x <- lf$X
  list(
    formula = f,
    term_labels = I(attr(terms(nobars(form)), "term.labels")),
    fixed_names = I(colnames(x)),
    column_sums = I(unname(colSums(x))),
    random_names = lapply(lf$reTrms$cnms, I)
  )
}

payload <- c(
  session_fields(),
  list(
    data = "data/terms_order.csv",
    factor_levels = lapply(Filter(is.factor, d), function(v) I(levels(v))),
    cases = lapply(formulas, describe),
    deparsed = deparsed
  )
)
write_fixture(payload, file.path(root, "terms_order.json"))
