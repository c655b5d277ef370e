"""Inputs and outputs: frame sources and result files."""
