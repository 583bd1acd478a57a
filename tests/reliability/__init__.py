"""Faults and bad input: one test per fault, each checking the message a user sees."""
