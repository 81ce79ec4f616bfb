"""Workflows: what a user asks for end to end, above features, models and evaluation.

Cross-validation of a model on tables (:mod:`.crossval`), training and saving a model from tables
(:mod:`.training`) and Wang 2022's DSFR early-recurrence study (:mod:`.dsfr_study`) orchestrate
io, features, models and evaluation; the CLI, the runs and the UI call them, and the floors below
import nothing from here.
"""
