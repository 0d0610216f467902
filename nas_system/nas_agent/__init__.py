"""nas_agent: the Python side of nas-graph.

Stdlib-only helpers the TypeScript loop drives through ``python -m nas_agent``:
agent state (agent_state.json), run history summaries, the search space, the AST-based
config editor, and the Optuna suggester (the only module that imports optuna).

This file deliberately imports nothing, so the CLI starts fast.
"""
