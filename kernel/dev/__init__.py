"""kernel.dev"""
