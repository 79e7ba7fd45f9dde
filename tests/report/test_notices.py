"""Warnings shown at the top of the report."""

from __future__ import annotations

from typing import Any

from alliance.report.notices import group_notices


def collect_notices(results: dict[str, Any]) -> list[str]:
    """Every notice of the report, in the order of its groups."""
    return [notice for group in group_notices(results) for notice in group.notices]


def test_exclusions_run_warnings_and_singular_fits_are_listed(
    example_results: dict[str, Any],
) -> None:
    notices = collect_notices(example_results)
    excluded = example_results["data_summary"]["excluded"]
    assert notices[0] == (
        f"{excluded[0]['rows']} rows excluded at step \u201c{excluded[0]['step']}\u201d: "
        f"{excluded[0]['reason']}."
    )
    for warning in example_results["meta"]["warnings"]:
        assert warning in notices
    growth = example_results["models"]["growth"]
    for rater, entry in growth.items():
        label = f"Conditional growth model ({rater}-rated)"
        assert entry["fit"]["singular"] == any(n.startswith(label) and "singular" in n
                                               for n in notices)


def test_failed_and_nonconverged_models(results: dict[str, Any]) -> None:
    results["models"]["growth"]["patient"]["fit"]["converged"] = False
    results["models"]["growth"]["patient"]["fit"]["fit_info"]["message"] = "iteration limit"
    results["models"]["joint"] = {"formula": "f", "fit": None, "error": "singular matrix"}
    results["models"]["time_coding"][1]["converged"] = False
    notices = collect_notices(results)
    assert ("Conditional growth model (patient-rated) did not converge (iteration limit)."
            in notices)
    assert ("Joint (both raters) model: the model could not be fitted (singular matrix)."
            in notices)
    assert any(n.startswith("Time-coding comparison: the linear coding") for n in notices)


def test_parallel_analysis_disagreement(results: dict[str, Any]) -> None:
    results["efa"]["parallel_analysis"]["suggested_factors"] = 3
    assert ("Parallel analysis suggested 3 factor(s); the analysis used 2."
            in collect_notices(results))


def test_clean_results_have_no_notices(results: dict[str, Any]) -> None:
    results["data_summary"]["excluded"] = []
    results["meta"]["warnings"] = []
    for _, _, fit in [(0, 0, e["fit"]) for group in ("null", "growth")
                      for e in results["models"][group].values()] + [
                          (0, 0, results["models"]["joint"]["fit"])]:
        fit["singular"] = False
        fit["warnings"] = []
    assert collect_notices(results) == []


def test_notices_are_grouped_by_kind(example_results: dict[str, Any]) -> None:
    groups = group_notices(example_results)
    assert [group.heading for group in groups] == [
        "Excluded data", "Recorded during the analysis", "Model fits"
    ]
    assert all(group.notices for group in groups)  # empty groups are left out


def test_a_boundary_fit_names_the_random_effects_key_once(results: dict[str, Any]) -> None:
    from alliance.report.notices import SIMPLER_STRUCTURE, model_notices

    fits = [entry["fit"] for entry in results["models"]["growth"].values()]
    for fit in fits:
        fit["singular"] = True
    notices = model_notices(results)
    assert notices.count(SIMPLER_STRUCTURE) == 1
    assert "[models] random_effects" in SIMPLER_STRUCTURE
    for group in ("null", "growth"):
        for entry in results["models"][group].values():
            entry["fit"]["singular"] = False
    if isinstance(results["models"].get("joint"), dict) and results["models"]["joint"].get("fit"):
        results["models"]["joint"]["fit"]["singular"] = False
    assert SIMPLER_STRUCTURE not in model_notices(results)
