# Exact CSV/JSON output, fit bookkeeping and data reading shared by the reference scripts;
# sourced by lme4_parity.R, nlme_varident.R and the inference scripts (which define root and
# out_data before sourcing it).

# ---------------------------------------------------------------------------
# Exact number formatting, CSV and JSON writing
# ---------------------------------------------------------------------------

# Shortest of 15/16/17 significant digits that reads back as the same double.
fmt_num <- function(x) {
  out <- sprintf("%.15g", x)
  for (d in c(16, 17)) {
    bad <- !is.na(x) & as.numeric(out) != x
    if (any(bad)) out[bad] <- sprintf(paste0("%.", d, "g"), x[bad])
  }
  out[is.na(x)] <- NA_character_
  out
}

# Minimal JSON writer: named list -> object, unnamed list -> array,
# atomic of length 1 -> scalar unless wrapped in I(), NA/NULL -> null,
# doubles in exact round-trip form.
to_json <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x)) {
    if (length(x) == 0) return(if (is.null(names(x))) "[]" else "{}")
    parts <- vapply(x, to_json, character(1))
    if (!is.null(names(x))) {
      keys <- vapply(names(x), function(k) as.character(toJSON(unbox(k))), character(1))
      return(paste0("{", paste0(keys, ":", parts, collapse = ","), "}"))
    }
    return(paste0("[", paste(parts, collapse = ","), "]"))
  }
  as_array <- inherits(x, "AsIs") || length(x) != 1
  x <- unclass(x)
  if (is.factor(x)) x <- as.character(x)
  vals <- if (is.logical(x)) {
    ifelse(is.na(x), "null", ifelse(x, "true", "false"))
  } else if (is.integer(x)) {
    ifelse(is.na(x), "null", as.character(x))
  } else if (is.numeric(x)) {
    ifelse(is.finite(x), fmt_num(x), "null")
  } else if (is.character(x)) {
    vapply(x, function(s) if (is.na(s)) "null" else as.character(toJSON(unbox(s))), character(1))
  } else {
    stop("cannot serialise class ", class(x)[1])
  }
  if (as_array) paste0("[", paste(vals, collapse = ","), "]") else vals
}

write_fixture <- function(payload, path) {
  txt <- prettify(to_json(payload), indent = 2)
  writeLines(txt, path)
  back <- fromJSON(path, simplifyVector = FALSE)
  stopifnot(is.list(back))
  invisible(path)
}

# Write a data frame as CSV (numbers exact, factors as labels), read it back,
# check every column round-trips, and return the re-read data with the factor
# columns restored to the original level order.
write_data_exact <- function(df, name) {
  path <- file.path(out_data, paste0(name, ".csv"))
  df <- as.data.frame(df)
  num <- vapply(df, is.numeric, logical(1))
  txt <- df
  for (col in names(df)) {
    txt[[col]] <- if (num[[col]]) fmt_num(as.numeric(df[[col]])) else as.character(df[[col]])
  }
  write.csv(txt, path, row.names = FALSE, quote = which(!num), na = "")
  back <- read.csv(path, stringsAsFactors = FALSE, colClasses = ifelse(num, "numeric", "character"))
  for (col in names(df)) {
    if (num[[col]]) {
      if (!identical(as.numeric(df[[col]]), back[[col]])) stop("CSV round trip failed for ", name, "$", col)
    } else {
      if (!identical(as.character(df[[col]]), back[[col]])) stop("CSV round trip failed for ", name, "$", col)
      lev <- if (is.factor(df[[col]])) levels(df[[col]]) else sort(unique(back[[col]]))
      back[[col]] <- factor(back[[col]], levels = lev)
    }
  }
  back
}

factor_levels <- function(df) {
  f <- Filter(is.factor, df)
  lapply(f, function(v) I(levels(v)))
}

session_fields <- function() {
  pk <- c("lme4", "lmerTest", "nlme", "Matrix", "pbkrtest", "jsonlite", "nloptr", "minqa", "numDeriv")
  pk <- pk[vapply(pk, requireNamespace, logical(1), quietly = TRUE)]
  si <- sessionInfo()
  list(
    r_version = R.version.string,
    platform = si$platform,
    blas = si$BLAS,
    lapack = si$LAPACK,
    package_versions = setNames(lapply(pk, function(p) as.character(packageVersion(p))), pk)
  )
}

# Evaluate expr collecting (and muffling) warnings and messages.
collect <- function(expr) {
  notes <- character()
  value <- withCallingHandlers(
    expr,
    warning = function(w) {
      notes <<- c(notes, trimws(conditionMessage(w)))
      invokeRestart("muffleWarning")
    },
    message = function(m) {
      notes <<- c(notes, trimws(conditionMessage(m)))
      invokeRestart("muffleMessage")
    }
  )
  list(value = value, notes = unique(notes))
}

rows_of <- function(m) lapply(seq_len(nrow(m)), function(i) I(unname(as.numeric(m[i, ]))))

# ---------------------------------------------------------------------------
# Reading a case's CSV as the Python tests read it
# ---------------------------------------------------------------------------

# The CSV at `file` (relative to root) with the columns of `factors` as factors of the given
# levels and the columns named in `as_factor` as factors of their sorted values.
read_data <- function(file, factors, as_factor) {
  df <- read.csv(file.path(root, file), stringsAsFactors = FALSE)
  for (col in names(factors)) df[[col]] <- factor(df[[col]], levels = factors[[col]])
  for (col in as_factor) df[[col]] <- factor(df[[col]])
  df
}
