"""kernel.mm"""
