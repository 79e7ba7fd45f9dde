"""The application layer: runs of the whole study into an output folder, for the command line.

``replicate`` (the embedded simulated study) and ``analyze`` (the user's files) compose the
study pipeline (:mod:`alliance.study`) and the report (:mod:`alliance.report`); nothing below
this layer imports it (docs/architecture.md, "Layers").
"""

from alliance.app.runs import DEFAULT_OUT, StudyRun, analyze, replicate

__all__ = ["DEFAULT_OUT", "StudyRun", "analyze", "replicate"]
