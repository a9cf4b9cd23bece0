"""Scoring: propensity-to-pay models, reason codes and their monitoring."""
