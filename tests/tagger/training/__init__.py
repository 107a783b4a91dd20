"""Tests of tagger.training, one file per module."""
