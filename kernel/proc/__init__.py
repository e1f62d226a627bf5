"""kernel.proc"""
