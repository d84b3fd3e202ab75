"""Schema-driven generator for the ``codex_app_server`` Python SDK.

Pipeline (each stage a pure function over frozen data):
load -> normalize -> IR -> render -> format -> write/check.
"""
