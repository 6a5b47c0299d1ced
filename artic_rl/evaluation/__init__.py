"""Paired evaluation (``python evaluate.py``): the episode loop, pooled metrics with
paired-bootstrap CIs, tables, files and plots."""
