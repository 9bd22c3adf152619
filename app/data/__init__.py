"""Datasets the nets are trained and measured on: MNIST scans and pen-drawn pendigits."""
