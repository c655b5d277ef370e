"""Inference backends. A backend loads one model, states its input and outputs, and runs a batch."""
