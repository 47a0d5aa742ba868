"""Estimators behind every number: Parzen, nearest neighbours, classifier scores, curves."""
