"""kernel.sys"""
