"""kernel.trace"""
