"""Saraban: electronic correspondence for Thai government agencies."""
